"""Dashboards and KPI exports: reads other apps through their selectors (ARCHITECTURE.md §1)."""
