"""Writes of the compliance app, one module per area: access (the access log), consent, requests
(data-subject requests), erasure and exports (what a request does across the apps), retention,
keys (rotation and crypto-shredding) and incidents."""
from .access import access_log_record

__all__ = ["access_log_record"]
