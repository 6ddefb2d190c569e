"""HTML pages of the tickets app: kb."""
from __future__ import annotations

urlpatterns: list = []
