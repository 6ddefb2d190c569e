"""Demo data of the reports app: nothing of its own to invent — the dashboards' shipments rollup
is counted from the demo waybills, as the periodic task would do in a running system."""
from __future__ import annotations

from .services import rollup_rebuild


def seed_reports_demo() -> dict:
    """Inside the demo tenant's scope, after the waybills (and surveys, churn scan) are seeded."""
    return {"branch_days": rollup_rebuild()}
