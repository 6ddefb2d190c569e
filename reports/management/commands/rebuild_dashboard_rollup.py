"""Count a company's shipments per branch and day again from the first waybill to today (the
periodic task only re-counts the last days). Safe to run at any time, as often as needed.

    manage.py rebuild_dashboard_rollup --tenant shunda
"""
from __future__ import annotations

from tenancy.management.base import TenantCommand

from ...services import rollup_rebuild


class Command(TenantCommand):
    help = "Rebuild the dashboards' shipments-per-branch-and-day table of one company."

    def handle(self, *args, **options):
        rows = rollup_rebuild()
        self.stdout.write(self.style.SUCCESS(f"branch-day rows written: {rows}"))
