"""Writes of the shipments app. So far: the incremental daily volume per customer."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection

from tenancy.scoping import current_tenant_id

from .models import CustomerDailyVolume


def daily_volume_add(rows: list[tuple[int, dt.date, int, Decimal, int]]) -> int:
    """Add (customer_id, day, parcels, revenue, returned) increments to the daily volume — one
    upsert per batch, so ingest maintains the table incrementally instead of recomputing it."""
    if not rows:
        return 0
    table = CustomerDailyVolume._meta.db_table
    tenant_id = current_tenant_id()
    with connection.cursor() as cursor:
        cursor.executemany(
            f"""INSERT INTO {table} (tenant_id, customer_id, day, parcels, revenue, returned, updated_at)
                VALUES (%s, %s, %s, %s, %s, %s, now())
                ON CONFLICT (tenant_id, customer_id, day) DO UPDATE SET
                  parcels = {table}.parcels + EXCLUDED.parcels, revenue = {table}.revenue + EXCLUDED.revenue,
                  returned = {table}.returned + EXCLUDED.returned, updated_at = now()""",
            [(tenant_id, customer_id, day, parcels, revenue, returned)
             for customer_id, day, parcels, revenue, returned in rows],
        )
    return len(rows)
