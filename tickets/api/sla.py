"""API of the tickets app: sla."""
from __future__ import annotations

urlpatterns: list = []


def register(router) -> None:
    """Add this area's viewsets to the tickets API router."""
