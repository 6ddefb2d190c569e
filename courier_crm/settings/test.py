"""Test settings: the same real PostgreSQL and Redis as production, fast password hashing."""
import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-key-not-secret-" + "x" * 32)

from .base import *  # noqa: E402,F403
from .base import CACHES, DATABASES, env  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DATABASES["default"]["CONN_MAX_AGE"] = 0
# The test database is named after the configured one, so runs against different databases
# (two checkouts, parallel sessions) never drop each other's test database.
DATABASES["default"]["TEST"] = {"NAME": env.str("CRM_TEST_DB_NAME",
                                                default=f"test_{DATABASES['default']['NAME']}")}
CACHES["default"]["KEY_PREFIX"] = "crm-test"
LANGUAGE_CODE = "zh-hans"
# Each test run (and each xdist worker) writes attachments to its own temporary folder.
import tempfile  # noqa: E402

MEDIA_ROOT = tempfile.mkdtemp(prefix="crm-test-media-")

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# --- surveys (issue 10) -----------------------------------------------------------------------
# Survey messages go to files in a per-run temporary folder (tickets.gateways.FileGateway).
CRM_SURVEY_GATEWAY = env.str("CRM_SURVEY_GATEWAY", default="file")
CRM_SURVEY_OUTBOX_DIR = env.str("CRM_SURVEY_OUTBOX_DIR", default=tempfile.mkdtemp(prefix="crm-test-surveys-"))
