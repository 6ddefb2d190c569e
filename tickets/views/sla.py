"""HTML pages of the tickets app: sla."""
from __future__ import annotations

urlpatterns: list = []
