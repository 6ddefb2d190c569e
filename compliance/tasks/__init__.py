"""Background jobs of the compliance app (Celery autodiscovery imports this package)."""
from . import keys, requests, retention  # noqa: F401 — registers the tasks
