"""Rule-based segments (DOMAIN.md §1), recomputed set-based in SQL over the daily volume."""
from __future__ import annotations

from django.db import connection
from django.utils import timezone

from tenancy.scoping import current_tenant_id

from .. import rules
from ..models import Customer


def segments_recompute() -> int:
    """Recompute every customer's segments of the current tenant; returns the rows that changed.
    Only rows whose segments differ are written, so a daily run touches few rows."""
    from shipments.models import CustomerDailyVolume

    tenant_id = current_tenant_id()
    since = timezone.localdate() - timezone.timedelta(days=rules.SEGMENT_WINDOW_DAYS.value())
    params = {
        "tenant": tenant_id, "since": since,
        "hv": rules.HIGH_VALUE_REVENUE.value(), "ps_fee": rules.PRICE_SENSITIVE_MAX_AVG_FEE.value(),
        "ps_min": rules.PRICE_SENSITIVE_MIN_PARCELS.value(), "hr_rate": rules.HIGH_RETURN_RATE.value(),
        "hr_min": rules.HIGH_RETURN_MIN_PARCELS.value(),
    }
    customers, volumes = Customer._meta.db_table, CustomerDailyVolume._meta.db_table
    sql = f"""
        WITH w AS (
            SELECT customer_id, sum(parcels) AS parcels, sum(revenue) AS revenue, sum(returned) AS returned
            FROM {volumes} WHERE tenant_id = %(tenant)s AND day > %(since)s GROUP BY customer_id
        ), n AS (
            SELECT c.id, array_remove(ARRAY[
                CASE WHEN coalesce(w.revenue, 0) >= %(hv)s AND coalesce(w.revenue, 0) > 0 THEN 'high_value' END,
                CASE WHEN w.parcels >= %(ps_min)s AND w.revenue / w.parcels <= %(ps_fee)s THEN 'price_sensitive' END,
                CASE WHEN c.settlement_type = 'monthly' THEN 'monthly_settlement' END,
                CASE WHEN w.parcels >= %(hr_min)s AND w.returned::numeric / w.parcels >= %(hr_rate)s
                     THEN 'high_return_rate' END
            ], NULL)::varchar(30)[] AS segs
            FROM {customers} c LEFT JOIN w ON w.customer_id = c.id
            WHERE c.tenant_id = %(tenant)s AND c.status <> 'merged'
        )
        UPDATE {customers} c SET segments = n.segs, segments_computed_at = now()
        FROM n WHERE c.id = n.id AND c.tenant_id = %(tenant)s AND c.segments IS DISTINCT FROM n.segs
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
