"""Settings of the `rotate_keys` processes the kill test starts: the test settings, with processes
re-reading the active key version after half a second instead of a minute (so the rotation's wait
for other processes' key caches is short)."""
from courier_crm.settings.test import *  # noqa: F403

CRM_ACTIVE_KEY_TTL_SECONDS = 0.5
