"""Churn-scan benchmark (issue 10): the end-to-end scan against the bare SQL aggregate over the
same daily-volume rows, measured in the same run.

    .venv/bin/python -m benchmarks.bench_churn [--db courier_crm_bench_churn] [--reps 2] [--cold]

Data: benchmarks.generate_churn (1,000,000 customers, ~10,000,000 parcels over 120 days).

(a) bare: `customers.services.churn.VOLUME_WINDOWS_SQL` — the GROUP BY customer over the tenant's
    daily volume with the recent and baseline windows, the very text the scan embeds — wrapped
    in a count so no rows travel to the client, no writes. Inside `tenant_scope` (RLS applies).
(b) scan: `churn_scan()` end to end on a fresh state: every customer low with no reasons as of the
    day before (no customers_customerchurn row — what yesterday's run left, since the churners'
    volume stopped more than 30 days ago only as of today), and no alerts, tasks or notifications.
    The worst case: the scan writes the 10 % whose score changed, opens their alerts and tasks,
    and notifies.
(c) steady: a normal day after (b): 1 % of the customers changed since yesterday's scan (their
    stored state is set back to low with no reasons, their alerts and tasks removed), then
    `churn_scan()` again, with its own bare aggregate in the same rep.
Each rep: reset to the fresh state (not timed), VACUUM (ANALYZE) as the owner, (a), then (b).
Reported: best and median of each, the ratio b/a (target ≤ 2), and the counts of the last scan.
A second scan straight after (b) shows the idempotent re-run (nothing changes).
`--cold` also times one scan from the never-scored state (no customers_customerchurn rows at all:
the same as the fresh state since the state moved to the narrow table).
Writes benchmarks/out/bench_churn.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time

from . import _env
from .generate_churn import DEFAULT_DB, REDIS_URL, TENANT_CODE, owner_execute


def _reset(tenant) -> None:
    """The fresh state: no alerts, tasks or churn notifications; every customer low with no reasons
    (no customers_customerchurn row)."""
    from django.db import connection

    from tenancy.scoping import tenant_scope

    with tenant_scope(tenant), connection.cursor() as cursor:
        cursor.execute("DELETE FROM tenancy_notification WHERE tenant_id = %s AND dedup_key LIKE 'churn:%%'",
                       [tenant.pk])
        cursor.execute("DELETE FROM customers_retentiontask WHERE tenant_id = %s", [tenant.pk])
        cursor.execute("DELETE FROM customers_churnalert WHERE tenant_id = %s", [tenant.pk])
        cursor.execute("DELETE FROM customers_customerchurn WHERE tenant_id = %s", [tenant.pk])


def _yesterday_minus_one_percent(tenant) -> None:
    """A normal day: for every 100th customer, yesterday's state was low with no reasons (no row,
    no alert, no task), so today's scan finds ~1 % changed (a tenth of them newly high)."""
    from django.db import connection

    from tenancy.scoping import tenant_scope

    with tenant_scope(tenant), connection.cursor() as cursor:
        cursor.execute("DELETE FROM tenancy_notification WHERE tenant_id = %s AND dedup_key IN ("
                       " SELECT 'churn:' || id FROM customers_churnalert"
                       " WHERE tenant_id = %s AND customer_id %% 100 = 0)",
                       [tenant.pk, tenant.pk])
        cursor.execute("DELETE FROM customers_retentiontask WHERE tenant_id = %s AND customer_id %% 100 = 0",
                       [tenant.pk])
        cursor.execute("DELETE FROM customers_churnalert WHERE tenant_id = %s AND customer_id %% 100 = 0",
                       [tenant.pk])
        cursor.execute("DELETE FROM customers_customerchurn WHERE tenant_id = %s AND id %% 100 = 0", [tenant.pk])
        # and 1 % of the others had a slightly different score yesterday (a changed score, not newly high)
        cursor.execute("UPDATE customers_customerchurn SET score = score - 1 WHERE tenant_id = %s AND id %% 100 = 1",
                       [tenant.pk])


def _vacuum(db: str) -> None:
    owner_execute(db, [f"VACUUM (ANALYZE) {table}" for table in (
        "customers_customer", "customers_customerchurn", "shipments_customerdailyvolume", "customers_churnalert",
        "customers_retentiontask", "tenancy_notification")])


def _bare(tenant) -> tuple[float, int]:
    from django.db import connection

    from customers.services.churn import VOLUME_WINDOWS_SQL, churn_scan_params
    from tenancy.scoping import tenant_scope

    with tenant_scope(tenant), connection.cursor() as cursor:
        params = churn_scan_params()
        cursor.execute("SET LOCAL work_mem = '256MB'")
        started = time.perf_counter()
        cursor.execute(f"SELECT count(*), sum(recent), sum(baseline) FROM ({VOLUME_WINDOWS_SQL}) v"  # noqa: S608
                       .format(volume="shipments_customerdailyvolume"), params)
        groups = cursor.fetchone()[0]
        return time.perf_counter() - started, groups


def _scan(tenant) -> tuple[float, dict]:
    from customers.services.churn import churn_scan
    from tenancy.scoping import tenant_scope

    started = time.perf_counter()
    with tenant_scope(tenant):
        result = churn_scan()
    return time.perf_counter() - started, result.as_dict()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--cold", action="store_true", help="also time one scan from the never-scored state")
    parser.add_argument("--wait-idle", type=float, default=0)
    args = parser.parse_args(argv)
    os.environ["CRM_BENCH_REDIS"] = REDIS_URL
    _env.REDIS_URL = REDIS_URL
    _env.setup(args.db)
    from tenancy.models import Tenant

    tenant = Tenant.objects.get(code=TENANT_CODE)
    load_start = _env.wait_for_quiet(args.wait_idle) if args.wait_idle else os.getloadavg()
    bare, scans, counts, steady_bare, steady_scans, steady = [], [], {}, [], [], {}
    for rep in range(args.reps):
        _reset(tenant)
        _vacuum(args.db)
        seconds, groups = _bare(tenant)
        bare.append(seconds)
        seconds, counts = _scan(tenant)
        scans.append(seconds)
        print(f"rep {rep + 1}: bare {bare[-1]:.2f} s ({groups:,} customers with volume), "
              f"scan {scans[-1]:.2f} s {counts}", flush=True)
        _yesterday_minus_one_percent(tenant)
        _vacuum(args.db)
        seconds, _groups = _bare(tenant)
        steady_bare.append(seconds)
        seconds, steady = _scan(tenant)
        steady_scans.append(seconds)
        print(f"rep {rep + 1} steady day: bare {steady_bare[-1]:.2f} s, scan {steady_scans[-1]:.2f} s {steady}",
              flush=True)
    rerun_s, rerun = _scan(tenant)
    print(f"re-run straight after: {rerun_s:.2f} s {rerun}", flush=True)
    result = {
        "date": dt.date.today().isoformat(), "machine": _env.machine(), "db": args.db,
        "load_at_start": load_start, "load_at_end": os.getloadavg(),
        "bare_s": [round(s, 3) for s in bare], "scan_s": [round(s, 3) for s in scans],
        "bare_best_s": round(min(bare), 3), "scan_best_s": round(min(scans), 3),
        "bare_median_s": round(statistics.median(bare), 3), "scan_median_s": round(statistics.median(scans), 3),
        "ratio_best": round(min(scans) / min(bare), 2),
        "ratio_median": round(statistics.median(scans) / statistics.median(bare), 2),
        "last_scan": counts, "rerun_s": round(rerun_s, 3), "rerun": rerun,
        "steady_bare_s": [round(s, 3) for s in steady_bare], "steady_scan_s": [round(s, 3) for s in steady_scans],
        "steady_ratio_best": round(min(steady_scans) / min(steady_bare), 2), "steady_scan": steady,
    }
    if args.cold:
        _reset(tenant)
        _vacuum(args.db)
        cold_bare, _groups = _bare(tenant)
        cold_s, cold = _scan(tenant)
        result.update({"cold_bare_s": round(cold_bare, 3), "cold_scan_s": round(cold_s, 3), "cold_scan": cold,
                       "cold_ratio": round(cold_s / cold_bare, 2)})
        print(f"cold (never scored): bare {cold_bare:.2f} s, scan {cold_s:.2f} s {cold}", flush=True)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    _env.OUT.mkdir(parents=True, exist_ok=True)
    (_env.OUT / "bench_churn.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
