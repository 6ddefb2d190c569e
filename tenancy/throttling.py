"""Fixed-window rate limits for HTML endpoints (the API uses DRF throttles with the same
rates from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])."""
from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period]


def rate_exceeded(scope: str, ident: str) -> bool:
    """Count one hit for `ident` under the named rate; True once the window's limit is passed."""
    limit, seconds = parse_rate(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope])
    window = int(time.time() // seconds)
    key = f"throttle:{scope}:{ident}:{window}"
    if cache.add(key, 1, timeout=seconds + 1):
        return False
    try:
        return cache.incr(key) > limit
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=seconds + 1)
        return False
