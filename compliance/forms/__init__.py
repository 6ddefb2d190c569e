"""Compliance forms, one module per area."""
from .access import AccessLogFilterForm

__all__ = ["AccessLogFilterForm"]
