"""Settings for the pooled-connection test: Django's psycopg pool with exactly two connections."""
from courier_crm.settings.base import *  # noqa: F403
from courier_crm.settings.base import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 2, "max_size": 2, "timeout": 20}}
ROOT_URLCONF = "tests.isolation.pool_urls"
