"""Data generator for the churn-scan benchmark (issue 10): one tenant with 1,000,000 customers and
daily-volume rows equivalent to ~10,000,000 shipments over 120 days, made directly in SQL.

    .venv/bin/python -m benchmarks.generate_churn [--customers 1000000] [--days-per-customer 8]
        [--db courier_crm_bench_churn]

- Creates the database (owned by crm_owner) if it is missing and migrates it as the owner.
- Django (as the application role crm_app, under row-level security) creates the tenant
  `bench-churn` through `platform_tenant_create`, 20 sales-manager memberships and a retention
  team; the rows are made with `INSERT … SELECT … FROM generate_series` inside `tenant_scope`
  (sealed personal values are not needed: the scan reads none).
- Customers: 95 % C-end persons, 5 % B-end accounts; every third customer has an account manager
  (one of the 20). Every customer ships on `--days-per-customer` distinct days, one per 15-day
  bucket of the last 120 days (1 parcel, 2 on every fourth day: ~1.25 parcels a row); every tenth
  customer is a churner whose days all fall in the baseline window (31–118 days ago) with 2
  parcels each, so the scan finds ~10 % newly at high risk and opens alerts and tasks.
- Afterwards VACUUM (ANALYZE) of the tables, as the owner.
Idempotent: skips the load when the tenant already has customers. Prints the time per step and
writes benchmarks/out/generate_churn.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from . import _env

DEFAULT_DB = os.environ.get("CRM_CHURN_BENCH_DB", "courier_crm_bench_churn")
TENANT_CODE = "bench-churn"
SALES_MANAGERS = 20
REDIS_URL = "redis://127.0.0.1:6379/10"


def ensure_database(db: str) -> None:
    import psycopg

    with psycopg.connect(f"postgres://postgres@{_env.PG_HOST}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{db}" OWNER {_env.OWNER_ROLE}')
    env = {**os.environ, **_env.bench_env(db), "CRM_DB_AS_OWNER": "1", "REDIS_URL": REDIS_URL}
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=_env.BASE_DIR, env=env,
                   check=True)


def owner_execute(db: str, statements: list[str]) -> None:
    import psycopg

    with psycopg.connect(f"postgres://{_env.OWNER_ROLE}@{_env.PG_HOST}/{db}", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


CUSTOMERS_SQL = """
INSERT INTO customers_customer (tenant_id, number, kind, name, search_grams, status, province, city, district,
    source_channel, credit_code, industry, credit_rating, settlement_type, delivery_window, delivery_notes,
    notes, segments, owner_id, created_at, updated_at)
SELECT %(tenant)s, 'BC' || lpad(g::text, 8, '0'),
       CASE WHEN g %% 20 = 0 THEN 'account' ELSE 'person' END,
       CASE WHEN g %% 20 = 0 THEN '基准企业' || g ELSE '客户' || g END,
       '{}', 'active', '上海市', '上海市', '', 'phone', '', '', '', 'cash', '', '', '', '{}',
       CASE WHEN g %% 3 = 0 THEN (%(owners)s::bigint[])[1 + (g / 3) %% %(owner_count)s] END,
       now() - interval '200 days', now()
FROM generate_series(1, %(customers)s) AS g
"""

# One row per customer and bucket: bucket k (1..n) covers 120/n days; the day inside it comes
# from a hash of (customer, k). Churners (every tenth customer) only ship 31–118 days ago.
VOLUME_SQL = """
INSERT INTO shipments_customerdailyvolume (tenant_id, customer_id, day, parcels, revenue, returned, updated_at)
SELECT %(tenant)s, c.id,
       CURRENT_DATE - CASE WHEN c.id %% 10 = 0
                           THEN 31 + (k - 1) * (88 / %(days)s) + (hashint4((c.id * 31 + k)::int) & 2147483647)
                                %% (88 / %(days)s)
                           ELSE 1 + (k - 1) * (120 / %(days)s) + (hashint4((c.id * 31 + k)::int) & 2147483647)
                                %% (120 / %(days)s) END,
       p.parcels, p.parcels * 8.00, 0, now()
FROM customers_customer c
CROSS JOIN generate_series(1, %(days)s) AS k
CROSS JOIN LATERAL (SELECT CASE WHEN c.id %% 10 = 0 OR (c.id + k) %% 4 = 0 THEN 2 ELSE 1 END AS parcels) p
WHERE c.tenant_id = %(tenant)s AND c.id BETWEEN %(lo)s AND %(hi)s
"""


def populate(customers: int, days: int) -> dict:
    from django.db import connection

    from customers.models import Customer, SalesTeam
    from customers.services import sales_team_create
    from tenancy.models import Membership, Role, User
    from tenancy.scoping import tenant_scope

    timings = {}
    with _env.tenant_with_data(TENANT_CODE, scope=False) as tenant:
        with tenant_scope(tenant):
            if Customer.objects.exists():
                print("tenant already has customers: nothing to load")
                return {"skipped": True}
            admin = User.objects.create_user(f"{TENANT_CODE}-admin", None, display_name="基准管理员")
            Membership.objects.create(user=admin, role=Role.TENANT_ADMIN)
            owners = []
            for i in range(SALES_MANAGERS):
                user = User.objects.create_user(f"{TENANT_CODE}-sales-{i:02d}", None, display_name=f"销售{i:02d}")
                owners.append(Membership.objects.create(user=user, role=Role.SALES_MANAGER))
        with tenant_scope(tenant, user=admin):
            team = sales_team_create(actor=admin, name="挽留组", members=owners[:3], priority=10)
            SalesTeam.objects.filter(pk=team.pk).update(retention_queue=True)
        started = time.perf_counter()
        with tenant_scope(tenant), connection.cursor() as cursor:
            cursor.execute(CUSTOMERS_SQL, {"tenant": tenant.pk, "customers": customers,
                                           "owners": [m.pk for m in owners], "owner_count": len(owners)})
            cursor.execute("SELECT min(id), max(id) FROM customers_customer WHERE tenant_id = %s", [tenant.pk])
            lo, hi = cursor.fetchone()
        timings["customers_s"] = round(time.perf_counter() - started, 1)
        print(f"customers: {customers:,} in {timings['customers_s']} s", flush=True)
        started = time.perf_counter()
        step = 100_000
        for start in range(lo, hi + 1, step):
            with tenant_scope(tenant), connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
                cursor.execute(VOLUME_SQL, {"tenant": tenant.pk, "days": days, "lo": start,
                                            "hi": min(hi, start + step - 1)})
        with tenant_scope(tenant), connection.cursor() as cursor:
            cursor.execute("SELECT count(*), sum(parcels) FROM shipments_customerdailyvolume WHERE tenant_id = %s",
                           [tenant.pk])
            rows, parcels = cursor.fetchone()
        timings["volume_s"] = round(time.perf_counter() - started, 1)
        print(f"daily volume: {rows:,} rows, {parcels:,} parcels in {timings['volume_s']} s", flush=True)
        return {"tenant_id": tenant.pk, "customers": customers, "volume_rows": rows, "parcels": parcels, **timings}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--days-per-customer", type=int, default=8)
    args = parser.parse_args(argv)
    total = time.perf_counter()
    ensure_database(args.db)
    os.environ["CRM_BENCH_REDIS"] = REDIS_URL
    _env.REDIS_URL = REDIS_URL
    _env.setup(args.db)
    result = populate(args.customers, args.days_per_customer)
    if not result.get("skipped"):
        started = time.perf_counter()
        owner_execute(args.db, [f"VACUUM (ANALYZE) {table}"
                                for table in ("customers_customer", "shipments_customerdailyvolume")])
        result["vacuum_s"] = round(time.perf_counter() - started, 1)
    result["total_s"] = round(time.perf_counter() - total, 1)
    result["machine"] = _env.machine()
    print(json.dumps(result, ensure_ascii=False, indent=2))
    _env.OUT.mkdir(parents=True, exist_ok=True)
    (_env.OUT / "generate_churn.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
