"""Dashboard benchmark (issue 10): every dashboard JSON endpoint at 10,000,000 waybills and
1,000,000 customers must answer with p95 ≤ 300 ms.

    .venv/bin/python -m benchmarks.bench_dashboards [--db courier_crm_bench_reports] [--waybills 10000000]
        [--customers 1000000] [--tickets 1000000] [--surveys 600000] [--claims 50000] [--fines 200000]
        [--requests 60] [--skip-generate] [--explain]

Phases (each printed with its time; results in benchmarks/out/bench_dashboards.json):
1. Database: created if missing (owner crm_owner) and migrated as the owner.
2. Fixtures through the ORM as the application role (tenant `bench-reports`): HQ → 6 regions →
   60 branches, 12 teams, an executive and a branch manager (of region 1), the fines catalogue
   and one confirmed fine (its case and type are what the generated ledger rows point to).
3. Bulk rows with `INSERT … SELECT FROM generate_series` as the `postgres` superuser (not subject
   to row-level security; `session_replication_role = replica` skips the foreign-key and ledger
   chain triggers, which is fine for timing reads — the chain of these rows is not valid):
   waybills over the last 365 days spread over the branches, customers with a churn risk,
   tickets (15 % complaints, 0.5 % tagged as regulator appeals, SLA breaches), CSAT and NPS
   surveys (70 % answered), claims and fine-ledger entries. Skipped when the tenant already has
   rows (per table; `--skip-generate`: skip outright). Then `VACUUM (ANALYZE)`.
4. `reports.services.rollup_rebuild()` (the full rebuild) and one periodic `rollup_refresh()`,
   timed, as the application role under RLS.
5. Every chart's JSON endpoint through the Django test client (in process, session of the
   executive; the branch-filtered variant as the branch manager), `--requests` timed requests each
   after 3 warm-up requests, default date range (last 6 months); p50 / p95 / max per endpoint.
   With `--explain`, the plans of the chart queries are written to out/bench_dashboards_plans.txt.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

from . import _env

DEFAULT_DB = "courier_crm_bench_reports"
TENANT = "bench-reports"
REDIS = "redis://127.0.0.1:6379/11"


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def superuser(database: str):
    import psycopg

    return psycopg.connect(f"postgres://postgres@{_env.PG_HOST}/{database}", autocommit=True)


def ensure_database(database: str) -> None:
    with superuser("postgres") as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            conn.execute(f'CREATE DATABASE "{database}" OWNER crm_owner')
    env = {**os.environ, **_env.bench_env(database), "CRM_DB_AS_OWNER": "1",
           "DATABASE_URL": f"postgres://crm_owner@{_env.PG_HOST}/{database}"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=_env.BASE_DIR, env=env, check=True)


def fixtures() -> dict:
    """Branches, teams, two managers and one confirmed fine (idempotent)."""
    from penalties import services as penalties
    from penalties.models import LedgerEntry, ViolationType
    from tenancy.models import Branch, BranchKind, Membership, Role, User
    from tenancy.scoping import tenant_scope
    from tickets.models import Team

    with _env.tenant_with_data(TENANT, scope=False) as tenant:
        pass
    with tenant_scope(tenant):
        hq = Branch.objects.get(kind=BranchKind.HQ)
        regions = list(Branch.objects.filter(kind=BranchKind.REGION).order_by("pk"))
        for r in range(len(regions), 6):
            node = Branch.objects.create(code=f"R{r}", name=f"大区{r}", kind=BranchKind.REGION, parent=hq,
                                         province="上海市", city="上海市")
            node.path = f"{hq.path}{node.pk}/"
            node.save(update_fields=["path"])
            regions.append(node)
        if not Branch.objects.filter(kind=BranchKind.BRANCH).exists():
            for r, region in enumerate(regions):
                for i in range(10):
                    node = Branch.objects.create(code=f"B{r}{i}", name=f"网点{r}-{i}", kind=BranchKind.BRANCH,
                                                 parent=region, province="上海市", city="上海市")
                    node.path = f"{region.path}{node.pk}/"
                    node.save(update_fields=["path"])
        for t in range(12):
            Team.objects.get_or_create(code=f"team{t}", defaults={"name": f"客服组{t}"})
        people = {}
        for role, branch in ((Role.EXECUTIVE, None), (Role.BRANCH_MANAGER, regions[0]), (Role.AGENT, regions[0])):
            user = User.objects.filter(username=f"bench-reports-{role}").first()
            if user is None:
                user = User.objects.create_user(f"bench-reports-{role}", "Bench-Passw0rd-2026", display_name=role,
                                                home_tenant=tenant, last_active_tenant=tenant)
                Membership.objects.create(user=user, role=role, branch=branch)
            people[role] = user
    with tenant_scope(tenant, user=people[Role.EXECUTIVE]):
        penalties.catalogue_defaults_ensure()
        if not LedgerEntry.objects.exists():
            manager = people[Role.BRANCH_MANAGER]
            agent = Membership.objects.get(user=people[Role.AGENT])
            with tenant_scope(tenant, user=manager):
                case = penalties.case_propose(actor=manager, violation_type=ViolationType.objects.get(code="FAKE_SCAN"),
                                              amount="1000.00", description="扫描记录与实际不符",
                                              occurred_on=datetime.date.today(), subject_kind="employee",
                                              subject_membership=agent)
            penalties.case_confirm(actor=people[Role.EXECUTIVE], case=case)
    return {"tenant": tenant, "people": people, "regions": regions}


GENERATE = [
    ("waybills", """
INSERT INTO shipments_waybill (tenant_id, number, sender_name, receiver_name, receiver_province, receiver_city,
    product, declared_value, insured_amount, service_fee, status, exception_kind, folded_event_id, volume_returned,
    origin_branch_id, destination_branch_id, shipped_at, delivered_at, returned_at, created_at, updated_at)
SELECT %(tenant)s, 'RB' || lpad(g::text, 10, '0'), '', '', '上海', '上海', 'standard', 0, 0, 12.50,
       CASE WHEN g %% 100 = 0 THEN 'returned' ELSE 'delivered' END, '', '', false,
       b.ids[1 + (g %% array_length(b.ids, 1))], b.ids[1 + ((g / 7) %% array_length(b.ids, 1))],
       t.at, CASE WHEN g %% 100 <> 0 THEN t.at + interval '30 hours' END,
       CASE WHEN g %% 100 = 0 THEN t.at + interval '3 days' END, t.at, t.at
  FROM generate_series(1, %(n)s) g
 CROSS JOIN (SELECT array_agg(id ORDER BY id) ids FROM tenancy_branch
             WHERE tenant_id = %(tenant)s AND kind = 'branch') b
 CROSS JOIN LATERAL (SELECT now() - (g::float8 / %(n)s) * interval '365 days' AS at) t
"""),
    ("customers", """
INSERT INTO customers_customer (tenant_id, number, kind, name, search_grams, status, province, city, district,
    source_channel, credit_code, industry, credit_rating, settlement_type, delivery_window, delivery_notes, notes,
    segments, created_at, updated_at)
SELECT %(tenant)s, 'RC' || lpad(g::text, 9, '0'), 'person', '客户' || g, '{}', 'active', '上海', '上海', '', 'web',
       '', '', '', '', '', '', '', '{}', now(), now()
  FROM generate_series(1, %(n)s) g
"""),
    # Churn state (customers_customerchurn): a row only for customers not "low, no reasons".
    ("customer churn", """
INSERT INTO customers_customerchurn (id, tenant_id, risk, score, reasons, scored_at)
SELECT c.id, %(tenant)s, CASE WHEN n %% 20 = 0 THEN 'high' ELSE 'medium' END, n %% 100, '[]'::jsonb, now()
  FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM customers_customer WHERE tenant_id = %(tenant)s) c
 WHERE c.n %% 5 = 0
"""),
    ("tickets", """
INSERT INTO tickets_ticket (tenant_id, number, category, channel, priority, status, subject, description,
    exception_kind, first_response_breached, resolution_breached, created_at, updated_at, tags, branch_id, team_id,
    caller_name, escalation_level, external_ref, first_response_warned, resolution_warned, closed_at)
SELECT %(tenant)s, 'RT' || lpad(g::text, 10, '0'),
       CASE WHEN g %% 20 < 3 THEN 'complaint' WHEN g %% 20 < 12 THEN 'tracking_inquiry' ELSE 'delay' END,
       'phone', 'normal', 'closed', '查件', '', '', g %% 10 = 0, g %% 25 = 0, t.at, t.at,
       CASE WHEN g %% 200 = 0 THEN ARRAY['12305']::varchar[] ELSE '{}'::varchar[] END,
       b.ids[1 + (g %% array_length(b.ids, 1))], tm.ids[1 + (g %% array_length(tm.ids, 1))],
       '', 0, '', false, false, t.at + interval '2 days'
  FROM generate_series(1, %(n)s) g
 CROSS JOIN (SELECT array_agg(id ORDER BY id) ids FROM tenancy_branch
             WHERE tenant_id = %(tenant)s AND kind = 'branch') b
 CROSS JOIN (SELECT array_agg(id ORDER BY id) ids FROM tickets_team WHERE tenant_id = %(tenant)s) tm
 CROSS JOIN LATERAL (SELECT now() - (g::float8 / %(n)s) * interval '365 days' AS at) t
"""),
    ("surveys", """
INSERT INTO tickets_survey (tenant_id, kind, channel, public_id, status, attempts, last_error, created_at, comment,
    ticket_id, waybill_id, branch_id, sent_at, score, answered_at)
SELECT %(tenant)s, CASE WHEN s.g %% 2 = 0 THEN 'csat' ELSE 'nps' END, 'sms', gen_random_uuid(),
       CASE WHEN s.g %% 10 < 7 THEN 'answered' ELSE 'sent' END, 1, '', s.at, '',
       CASE WHEN s.g %% 2 = 0 THEN t.min_id + s.g END, CASE WHEN s.g %% 2 = 1 THEN w.min_id + s.g END,
       b.ids[1 + (s.g %% array_length(b.ids, 1))], s.at,
       CASE WHEN s.g %% 10 < 7 THEN CASE WHEN s.g %% 2 = 0 THEN 1 + (s.g / 2) %% 5 ELSE (s.g / 2) %% 11 END END,
       CASE WHEN s.g %% 10 < 7 THEN s.at + interval '1 hour' END
  FROM (SELECT g, now() - (g::float8 / %(n)s) * interval '365 days' AS at FROM generate_series(1, %(n)s) g) s
 CROSS JOIN (SELECT min(id) min_id FROM tickets_ticket WHERE tenant_id = %(tenant)s) t
 CROSS JOIN (SELECT min(id) min_id FROM shipments_waybill WHERE tenant_id = %(tenant)s) w
 CROSS JOIN (SELECT array_agg(id ORDER BY id) ids FROM tenancy_branch
             WHERE tenant_id = %(tenant)s AND kind = 'branch') b
"""),
    ("claims", """
INSERT INTO tickets_claim (tenant_id, number, claim_type, claimant_role, claimant_name, claimed_amount, description,
    declared_value, insured_amount, service_fee, status, cause, assessment_note, rule, rule_version, rule_detail,
    over_cap, decision_reason, decision_level, decision_warned, decision_breached, created_at, updated_at,
    ticket_id, waybill_id, branch_id, approved_amount, submitted_at, decided_at)
SELECT %(tenant)s, 'RL' || lpad(g::text, 9, '0'), (ARRAY['loss','damage','delay'])[1 + g %% 3], 'sender', '',
       100 + g %% 400, '', 300, 300, 12.50,
       CASE WHEN g %% 4 = 0 THEN 'rejected' ELSE 'approved' END, '', '', '', '', '{}'::jsonb, false, '', '',
       false, false, t.at, t.at, tk.min_id + g * 3, w.min_id + g * 3,
       b.ids[1 + (g %% array_length(b.ids, 1))],
       CASE WHEN g %% 4 <> 0 THEN 100 + g %% 300 END, t.at, t.at + interval '3 days'
  FROM generate_series(1, %(n)s) g
 CROSS JOIN (SELECT min(id) min_id FROM tickets_ticket WHERE tenant_id = %(tenant)s) tk
 CROSS JOIN (SELECT min(id) min_id FROM shipments_waybill WHERE tenant_id = %(tenant)s) w
 CROSS JOIN (SELECT array_agg(id ORDER BY id) ids FROM tenancy_branch
             WHERE tenant_id = %(tenant)s AND kind = 'branch') b
 CROSS JOIN LATERAL (SELECT now() - (g::float8 / %(n)s) * interval '365 days' AS at) t
"""),
    ("fines", """
INSERT INTO penalties_ledgerentry (tenant_id, sequence, prev_hash, entry_hash, kind, subject_kind, tier, amount,
    currency, effective_on, payment_method, memo, recorded_at, branch_id, case_id, violation_type_id)
SELECT %(tenant)s, e.last + g, '\\x'::bytea, '\\x'::bytea,
       CASE WHEN g %% 3 = 0 THEN 'payment_received' ELSE 'fine_issued' END, 'employee',
       (ARRAY['minor','general','serious'])[1 + g %% 3],
       CASE WHEN g %% 3 = 0 THEN -(100 + g %% 900) ELSE 100 + g %% 900 END, 'CNY',
       (now() - (g::float8 / %(n)s) * interval '365 days')::date, '', '', now(),
       b.ids[1 + (g %% array_length(b.ids, 1))], e.case_id, e.violation_type_id
  FROM generate_series(1, %(n)s) g
 CROSS JOIN (SELECT max(sequence) last, min(case_id) case_id, min(violation_type_id) violation_type_id
               FROM penalties_ledgerentry WHERE tenant_id = %(tenant)s) e
 CROSS JOIN (SELECT array_agg(id ORDER BY id) ids FROM tenancy_branch
             WHERE tenant_id = %(tenant)s AND kind = 'branch') b
"""),
]


# Each generated table, and how many rows the fixtures already put there (more: generated before).
TABLES = {"waybills": ("shipments_waybill", 0), "customers": ("customers_customer", 0),
          "customer churn": ("customers_customerchurn", 0),
          "tickets": ("tickets_ticket", 0), "surveys": ("tickets_survey", 0), "claims": ("tickets_claim", 0),
          "fines": ("penalties_ledgerentry", 1)}


def generate(database: str, tenant_id: int, sizes: dict) -> dict:
    timings = {}
    with superuser(database) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '512MB'")
        for name, sql in GENERATE:
            table, minimum = TABLES[name]
            present = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE tenant_id = %s LIMIT 2) x",
                                   [tenant_id]).fetchone()[0]
            if present > minimum:
                print(f"{name}: present, skipped", flush=True)
                continue
            started = time.perf_counter()
            cursor = conn.execute(sql, {"tenant": tenant_id, "n": sizes[name]})
            timings[name] = {"rows": cursor.rowcount, "seconds": round(time.perf_counter() - started, 1)}
            print(f"{name}: {cursor.rowcount} rows in {timings[name]['seconds']} s", flush=True)
        conn.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT max(id) FROM penalties_ledgerentry))",
                     ["penalties_ledgerentry"])
        started = time.perf_counter()
        conn.execute("VACUUM (ANALYZE)")
        timings["vacuum_analyze"] = {"seconds": round(time.perf_counter() - started, 1)}
        print(f"vacuum analyze: {timings['vacuum_analyze']['seconds']} s", flush=True)
    return timings


def rollup(tenant) -> dict:
    from reports import services
    from tenancy.scoping import tenant_scope

    out = {}
    for name, call in (("rollup_rebuild", services.rollup_rebuild), ("rollup_refresh", services.rollup_refresh)):
        started = time.perf_counter()
        with tenant_scope(tenant):
            rows = call()
        out[name] = {"rows": rows, "seconds": round(time.perf_counter() - started, 2)}
        print(f"{name}: {rows} rows in {out[name]['seconds']} s", flush=True)
    return out


def measure(fx: dict, requests: int) -> dict:
    from django.test import Client
    from django.urls import reverse

    from reports.selectors import CHARTS
    from tenancy.models import Role

    results = {}
    cases = []
    for key in CHARTS:
        cases.append((key, Role.EXECUTIVE, {}))
    for key in ("complaints", "sla", "satisfaction", "claims", "fines"):
        cases.append((f"{key} (branch manager, region)", Role.BRANCH_MANAGER, {}))
    clients = {}
    for name, role, params in cases:
        key = name.split(" ")[0]
        client = clients.get(role)
        if client is None:
            client = clients[role] = Client(HTTP_HOST="127.0.0.1")
            client.force_login(fx["people"][role])
        url = reverse("api-reports-chart", args=[key])
        for _ in range(3):
            response = client.get(url, params)
            assert response.status_code == 200, (name, response.status_code, response.content[:300])
        samples = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(url, params)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        results[name] = {"requests": requests, "rows": len(response.json()["rows"]),
                         "p50_ms": round(statistics.median(samples), 1), "p95_ms": round(pct(samples, 95), 1),
                         "max_ms": round(max(samples), 1)}
        verdict = "ok" if results[name]["p95_ms"] <= 300 else "OVER 300 ms"
        print(f"{name:45s} p50 {results[name]['p50_ms']:7.1f} ms  p95 {results[name]['p95_ms']:7.1f} ms  "
              f"max {results[name]['max_ms']:7.1f} ms  rows {results[name]['rows']}  {verdict}", flush=True)
    page = clients[Role.EXECUTIVE]
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        assert page.get(reverse("reports:dashboards")).status_code == 200
        samples.append((time.perf_counter() - started) * 1000)
    results["page /reports/"] = {"requests": requests, "p50_ms": round(statistics.median(samples), 1),
                                 "p95_ms": round(pct(samples, 95), 1), "max_ms": round(max(samples), 1)}
    return results


def explain(fx: dict) -> str:
    """The plans of the chart queries (one executive request each), EXPLAIN (ANALYZE, BUFFERS)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from reports.selectors import CHARTS
    from tenancy.models import Role
    from tenancy.scoping import tenant_scope

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(fx["people"][Role.EXECUTIVE])
    text = []
    for key in CHARTS:
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("api-reports-chart", args=[key]))
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT") or "django_session" in sql or "auth_" in sql:
                continue
            with tenant_scope(fx["tenant"]), connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            text.append(f"== {key} ({query['time']} s)\n{sql}\n{plan}\n")
    return "\n".join(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--waybills", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--surveys", type=int, default=600_000)
    parser.add_argument("--claims", type=int, default=50_000)
    parser.add_argument("--fines", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--skip-generate", action="store_true")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    os.environ["CRM_BENCH_REDIS"] = REDIS
    _env.REDIS_URL = REDIS
    ensure_database(args.db)
    _env.setup(args.db)
    report = {"machine": _env.machine(), "load_start": os.getloadavg(), "sizes": {}}
    fx = fixtures()
    if not args.skip_generate:
        sizes = {"waybills": args.waybills, "customers": args.customers, "customer churn": 0, "tickets": args.tickets,
                 "surveys": args.surveys, "claims": args.claims, "fines": args.fines}
        report["sizes"] = sizes
        report["generate"] = generate(args.db, fx["tenant"].pk, sizes)
    report["rollup"] = rollup(fx["tenant"])
    report["endpoints"] = measure(fx, args.requests)
    report["load_end"] = os.getloadavg()
    _env.OUT.mkdir(parents=True, exist_ok=True)
    (_env.OUT / "bench_dashboards.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    if args.explain:
        (_env.OUT / "bench_dashboards_plans.txt").write_text(explain(fx))
    print(json.dumps(report["endpoints"], indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
