"""Reads of the compliance app, one module per area (see services)."""
from .access import access_bursts, access_log_for_record, access_log_for_records, access_log_list

__all__ = ["access_bursts", "access_log_for_record", "access_log_for_records", "access_log_list"]
