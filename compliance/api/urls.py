"""The compliance API (/api/v1/compliance/…): each area module registers its routes."""
from . import access, consent, incidents, keys, overview, requests, retention

AREAS = (access, consent, requests, retention, keys, incidents, overview)


def register(router) -> list:
    """Register every area's viewsets on the API router; returns the extra (non-router) paths."""
    extra = []
    for area in AREAS:
        for prefix, viewset, basename in getattr(area, "ROUTES", ()):
            router.register(prefix, viewset, basename=basename)
        extra.extend(getattr(area, "PATHS", ()))
    return extra
