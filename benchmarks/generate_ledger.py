"""Data generator for the fine-ledger benchmarks (issue 8): one tenant whose hash chain has 1,000,000 entries.

    .venv/bin/python -m benchmarks.generate_ledger [--entries 1000000] [--cases 2000] [--employees 200]
        [--batch 1000] [--db courier_bench_ledger] [--tenant bench-ledger] [--no-vacuum]

Database (once), owned by crm_owner and migrated as the owner (like benchmarks/README.md's set-up); Redis db 12:

    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE courier_bench_ledger OWNER crm_owner"
    CRM_DB_AS_OWNER=1 DATABASE_OWNER_URL=postgres://crm_owner@127.0.0.1:5432/courier_bench_ledger \
      DATABASE_URL=postgres://crm_app@127.0.0.1:5432/courier_bench_ledger REDIS_URL=redis://127.0.0.1:6379/12 \
      DJANGO_SECRET_KEY=bench CRM_MASTER_KEY_FILE=$PWD/benchmarks/out/master.key .venv/bin/python manage.py migrate

Everything below runs as the application role crm_app, under row-level security, through Django
(benchmarks/_env.py):

- tenant `bench-ledger` (`platform_tenant_create`), 4 regional hubs and 40 delivery branches
  (generate_shipments.ensure_branches), `--employees` employees (users `bench-ledger-emp-NNN`, role agent,
  title 快递员, spread over the delivery branches), a branch manager at headquarters (proposes) and an
  executive (confirms), the default violation catalogue (`catalogue_defaults_ensure`);
- `--cases` fines through the services: `case_propose` by the manager (employees; the regulator's types
  against a branch) and `case_confirm` by the executive, which appends each fine's `fine_issued` /
  `regulator_fine` entry with `ledger_append` (the real path: ORM insert, the chain trigger). Their
  clock is set about two years back;
- the rest of the chain in batches of `--batch` rows, each batch one `tenant_scope` transaction with one
  `INSERT INTO penalties_ledgerentry … SELECT … FROM generate_series(…) ORDER BY i`: the chain trigger
  (migration 0002) numbers and hashes every row, so the chain is exactly what appends would have made.
  Batches are small (1,000) on purpose: the trigger UPDATEs the tenant's head row twice per entry, and
  row versions made by the still-open transaction cannot be pruned, so every UPDATE walks past all the
  earlier ones — a batch costs O(rows²). Measured: 1,000 rows/transaction ≈ 8,500 rows/s, 5,000 ≈ 4,600,
  10,000 ≈ 2,500, 40,000 ≈ 560 rows/s (50–100k batches would take hours for 1M entries).
  Each row takes one of the fixture cases (with its employee, branch, type and tier); kind issued 35 % /
  regulator fine (regulator cases) / reduced 8 % / reversed 5 % / payment received 50 %, the amount's sign
  following the kind (ledgerentry_sign_follows_kind); payments carry a payment method; a memo of mixed
  Chinese/English text of 20–60 characters; recorded_at rising evenly with the sequence from the
  fixtures' time to an hour ago (effective_on its Shanghai date); recorded by the manager or the
  executive (5 % by nobody: detectors and imports). Every choice is `hashint8extended(i, salt)` of the
  entry's index, so a run is deterministic and an interrupted one continues where it stopped.
- Afterwards (as the owner) `VACUUM (ANALYZE)` of the entry and head tables (`--no-vacuum`: ANALYZE only;
  autovacuum is off on the local server, production has it on), and a check that the entry count, the
  largest sequence number and the head agree.

Idempotent: a tenant that already has `--entries` entries is left alone. Prints the time taken and
rows/s every 50,000 entries; writes benchmarks/out/generate_ledger.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from decimal import Decimal

from . import _env

DEFAULT_DB = os.environ.get("CRM_LEDGER_BENCH_DB", "courier_bench_ledger")
REDIS_URL = os.environ.get("CRM_LEDGER_BENCH_REDIS", "redis://127.0.0.1:6379/12")
TENANT_CODE = "bench-ledger"
EMPLOYEE_USERNAME = "bench-ledger-emp-{:03d}"
MANAGER_USERNAME = "bench-ledger-manager"
EXECUTIVE_USERNAME = "bench-ledger-exec"
HISTORY_DAYS = 730
CASE_DESCRIPTIONS = (
    "{city}网点快递员{n}号派件未联系收件人直接放入快递柜，客户投诉",
    "抽查发现运单签收记录与实际不符，疑似代签收",
    "物流信息超过24小时未更新，客户多次催问",
    "分拣现场视频显示存在抛扔快件行为",
    "客户投诉处理超时，未在承诺时限内回复",
    "邮政管理局抽查：快件处理信息未按规定上传",
    "录入的收件地址与客户提供的不一致",
)

# The bulk rows. `c` = one of the fixture cases (row_number over their ids); every choice is a hash of i.
INSERT_BATCH = """
INSERT INTO penalties_ledgerentry (tenant_id, kind, case_id, subject_kind, subject_membership_id, branch_id,
                                   violation_type_id, tier, amount, currency, effective_on, payment_method, memo,
                                   recorded_by_id, recorded_at)
SELECT %(tenant)s, x.kind, c.id, c.subject_kind, c.subject_membership_id, c.branch_id, c.violation_type_id, c.tier,
       CASE WHEN x.kind IN ('fine_issued', 'regulator_fine') THEN x.cents / 100.0 ELSE -x.cents / 100.0 END,
       'CNY', (x.at AT TIME ZONE 'Asia/Shanghai')::date,
       CASE WHEN x.kind = 'payment_received'
            THEN (ARRAY['payroll', 'bank_transfer', 'cash', 'settlement'])[1 + x.method] ELSE '' END,
       left(x.memo, 60),
       CASE WHEN mod(abs(hashint8extended(x.i, 7)), 100) < 5 THEN NULL
            ELSE (%(recorders)s::bigint[])[1 + mod(abs(hashint8extended(x.i, 8)), 2)] END,
       x.at
FROM (
    SELECT g.i, k.kind, k.method, k.cents, k.c_n,
           %(t0)s::timestamptz + ((g.i - 1) * %(step_us)s + mod(abs(hashint8extended(g.i, 3)), %(step_us)s))
                                 * interval '1 microsecond' AS at,
           CASE k.kind
             WHEN 'fine_issued' THEN (ARRAY['开具罚款 Fine issued: ', '确认罚款 confirmed – ', 'Penalty 扣罚：',
                                            '违规罚款 fine for '])[1 + mod(abs(hashint8extended(g.i, 4)), 4)]
             WHEN 'regulator_fine' THEN (ARRAY['监管罚款 Regulator fine ', '邮政管理局处罚 SPB penalty ',
                                               'Regulator 行政处罚 '])[1 + mod(abs(hashint8extended(g.i, 4)), 3)]
             WHEN 'fine_reduced' THEN (ARRAY['申诉减免 Reduced on appeal: ', '复核调减 review cut – ',
                                             'Appeal 部分支持：'])[1 + mod(abs(hashint8extended(g.i, 4)), 3)]
             WHEN 'fine_reversed' THEN (ARRAY['撤销罚款 Reversed: ', '作废 voided – ', 'Overturned 申诉成立：'])
                                        [1 + mod(abs(hashint8extended(g.i, 4)), 3)]
             ELSE (ARRAY['工资代扣 payroll deduction ', '银行转账 bank transfer ', '现金缴纳 cash paid ',
                         '网点结算抵扣 settlement offset '])[1 + k.method]
           END
           || (ARRAY['虚假签收 fake POD', '延误派送 late delivery', '客户投诉 complaint', '丢件 lost parcel',
                     '暴力分拣 rough handling', '未经同意放柜 locker w/o consent', '证据不足 insufficient evidence',
                     '首次违规 first offence', '物流未更新 tracking gap', '地址录入错误 wrong address'])
                 [1 + mod(abs(hashint8extended(g.i, 5)), 10)]
           || CASE mod(abs(hashint8extended(g.i, 6)), 3)
                WHEN 0 THEN ' 运单 YT' || lpad(mod(abs(hashint8extended(g.i, 9)), 10000000000)::text, 10, '0')
                WHEN 1 THEN ' ref #' || (10000 + mod(abs(hashint8extended(g.i, 9)), 90000))::text
                ELSE ' 第' || (1 + mod(abs(hashint8extended(g.i, 9)), 12))::text || '期'
              END AS memo
    FROM generate_series(%(i0)s::bigint, %(i1)s::bigint) AS g(i)
    CROSS JOIN LATERAL (
        SELECT CASE WHEN r < 35 THEN 'debit' WHEN r < 43 THEN 'fine_reduced' WHEN r < 48 THEN 'fine_reversed'
                    ELSE 'payment_received' END AS k0,
               mod(abs(hashint8extended(g.i, 2)), 4)::int AS method,
               1 + mod(abs(hashint8extended(g.i, 1)), %(ncases)s) AS c_n
        FROM (SELECT mod(abs(hashint8extended(g.i, 0)), 100) AS r) r0
    ) k0
    CROSS JOIN LATERAL (
        SELECT CASE WHEN k0.k0 <> 'debit' THEN k0.k0
                    WHEN cc.category = 'regulator' THEN 'regulator_fine' ELSE 'fine_issued' END AS kind,
               k0.method, k0.c_n,
               CASE WHEN k0.k0 = 'debit' AND cc.category = 'regulator'
                    THEN 100000 + mod(abs(hashint8extended(g.i, 10)), 4900001)
                    WHEN k0.k0 = 'debit' THEN 5000 + mod(abs(hashint8extended(g.i, 10)), 495001)
                    WHEN k0.k0 = 'fine_reduced' THEN 1000 + mod(abs(hashint8extended(g.i, 10)), 99001)
                    WHEN k0.k0 = 'fine_reversed' THEN 5000 + mod(abs(hashint8extended(g.i, 10)), 495001)
                    ELSE 1000 + mod(abs(hashint8extended(g.i, 10)), 199001) END AS cents
        FROM fixture_cases cc WHERE cc.n = k0.c_n
    ) k
) x
JOIN fixture_cases c ON c.n = x.c_n
ORDER BY x.i
"""
FIXTURE_CASES = """
CREATE TEMP TABLE fixture_cases AS
SELECT row_number() OVER (ORDER BY v.id) AS n, v.id, v.subject_kind, v.subject_membership_id, v.branch_id,
       v.violation_type_id, v.tier, v.category
FROM penalties_violationcase v WHERE v.tenant_id = %(tenant)s
"""


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def setup_django(database: str) -> dict[str, str]:
    _env.REDIS_URL = REDIS_URL
    return _env.setup(database)


# --- fixtures -----------------------------------------------------------------------------------------

def ensure_tenant(code: str):
    from .generate_tickets import ensure_tenant as ensure

    return ensure(code, "Benchmark fine ledger")


def ensure_people(tenant, employees: int, leaves: list) -> dict:
    """Employees at the delivery branches, a branch manager and an executive at headquarters (idempotent)."""
    from tenancy.models import Branch, BranchKind, Membership, User
    from tenancy.scoping import tenant_scope

    from .generate_tickets import agent_name

    wanted = [(EMPLOYEE_USERNAME.format(n), "agent", leaves[(n - 1) % len(leaves)][0], "快递员", agent_name(n))
              for n in range(1, employees + 1)]
    wanted += [(MANAGER_USERNAME, "branch_manager", None, "运营经理", "罚款管理员"),
               (EXECUTIVE_USERNAME, "executive", None, "运营总监", "运营总监")]
    with tenant_scope(tenant):
        hq = Branch.objects.get(kind=BranchKind.HQ)
        users = {u.username: u for u in User.objects.filter(username__in=[w[0] for w in wanted])}
        memberships = {m.user_id: m for m in Membership.objects.filter(user__in=users.values())}
        out: dict = {"employees": []}
        for username, role, branch_id, title, display in wanted:
            user = users.get(username)
            if user is None:
                user = User.objects.create_user(username, None, display_name=display, home_tenant=tenant,
                                                last_active_tenant=tenant)
            membership = memberships.get(user.pk)
            if membership is None:
                membership = Membership(user=user, role=role, branch_id=branch_id or hq.pk, title=title)
                membership.save()
            if role == "agent":
                out["employees"].append(membership)
            elif role == "branch_manager":
                out["manager"] = user
            else:
                out["executive"] = user
    return out


def ensure_cases(tenant, people: dict, leaves: list, cases: int, t0: dt.datetime) -> dict:
    """`cases` fines proposed and confirmed through the services (each confirmation appends one entry)."""
    import random

    from penalties import services
    from penalties.models import CaseStatus, ViolationCase, ViolationType
    from tenancy.models import Branch
    from tenancy.scoping import tenant_scope

    with tenant_scope(tenant):
        services.catalogue_defaults_ensure()
        have = ViolationCase.objects.count()
        confirmed = ViolationCase.objects.filter(status=CaseStatus.CONFIRMED).count()
        types = list(ViolationType.objects.filter(is_active=True).order_by("code"))
        branches = {b.pk: b for b in Branch.objects.filter(pk__in=[leaf[0] for leaf in leaves])}
    started = time.perf_counter()
    rng = random.Random(have)
    made = 0
    for k in range(have, cases):
        vt = types[k % len(types)]
        now = t0 + dt.timedelta(seconds=20 * k)
        amount = Decimal(rng.randint(int(vt.amount_min * 100), int(vt.amount_max * 100))) / 100
        amount = max(amount, Decimal("1.00"))
        if vt.category == "regulator":
            subject = {"subject_kind": "branch", "branch": branches[leaves[k % len(leaves)][0]]}
        else:
            employee = people["employees"][k % len(people["employees"])]
            subject = {"subject_kind": "employee", "subject_membership": employee}
        city = leaves[k % len(leaves)][1]
        description = CASE_DESCRIPTIONS[k % len(CASE_DESCRIPTIONS)].format(city=city, n=k % 97 + 1)
        manager, executive = people["manager"], people["executive"]
        with tenant_scope(tenant, user=manager):
            case = services.case_propose(actor=manager, violation_type=vt, amount=amount, description=description,
                                         occurred_on=(now - dt.timedelta(days=2)).date(), now=now,
                                         out_of_range_reason="", **subject)
        with tenant_scope(tenant, user=executive):
            services.case_confirm(actor=executive, case=case, note="复核无误 confirmed after review",
                                  now=now + dt.timedelta(seconds=5))
        made += 1
        if made % 500 == 0:
            print(f"  cases: {k + 1:,}/{cases:,}  {time.perf_counter() - started:6.1f} s", flush=True)
    with tenant_scope(tenant):
        confirmed = ViolationCase.objects.filter(status=CaseStatus.CONFIRMED).count()
    return {"cases": max(have, cases), "made": made, "confirmed": confirmed,
            "seconds": time.perf_counter() - started}


# --- the chain --------------------------------------------------------------------------------------------

def entry_count(tenant) -> int:
    from django.db import connection

    from tenancy.scoping import tenant_scope

    with tenant_scope(tenant), connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM penalties_ledgerentry WHERE tenant_id = %s", [tenant.pk])
        return cur.fetchone()[0]


def fill_chain(tenant, people: dict, entries: int, batch: int, t0: dt.datetime, t1: dt.datetime) -> dict:
    """INSERT … SELECT batches until the tenant's chain has `entries` entries; the trigger chains them."""
    from django.db import connection

    from tenancy.scoping import tenant_scope

    have = entry_count(tenant)
    span_us = int((t1 - t0).total_seconds() * 1e6)
    params = {"tenant": tenant.pk, "t0": t0, "step_us": max(1, span_us // max(1, entries)),
              "recorders": [people["manager"].pk, people["executive"].pk]}
    started = time.perf_counter()
    with tenant_scope(tenant), connection.cursor() as cur:  # the session's copy of the fixture cases
        cur.execute("DROP TABLE IF EXISTS fixture_cases")
        cur.execute(FIXTURE_CASES, {"tenant": tenant.pk})
        cur.execute("CREATE UNIQUE INDEX ON fixture_cases (n)")
        cur.execute("ANALYZE fixture_cases")
        cur.execute("SELECT count(*) FROM fixture_cases")
        ncases = cur.fetchone()[0]
    done = 0
    insert_s = commit_s = 0.0
    report: list[dict] = []
    window = (time.perf_counter(), 0)
    i0 = have + 1
    while i0 <= entries:
        i1 = min(entries, i0 + batch - 1)
        t = time.perf_counter()
        with tenant_scope(tenant), connection.cursor() as cur:
            cur.execute("SET LOCAL jit = off")
            cur.execute(INSERT_BATCH, {**params, "i0": i0, "i1": i1, "ncases": ncases})
            inserted = cur.rowcount
            t_insert = time.perf_counter() - t
        insert_s += t_insert
        commit_s += time.perf_counter() - t - t_insert
        done += inserted
        i0 = i1 + 1
        if done - window[1] >= 50_000 or i0 > entries:
            now = time.perf_counter()
            rate = (done - window[1]) / (now - window[0])
            report.append({"entries": have + done, "rows_per_s": rate, "elapsed_s": now - started})
            print(f"  entries {have + done:>9,}: {rate:7,.0f} rows/s over the last {done - window[1]:,}; "
                  f"{done:,} in {now - started:6.1f} s (in INSERT {insert_s:.0f} s, in COMMIT with the deferred "
                  f"FK checks {commit_s:.0f} s); load {load()}", flush=True)
            window = (now, done)
    with tenant_scope(tenant), connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS fixture_cases")
    return {"had": have, "inserted": done, "seconds": time.perf_counter() - started, "insert_s": insert_s,
            "commit_s": commit_s, "batch": batch, "progress": report}


def maintain(env: dict, vacuum: bool) -> dict:
    """VACUUM (ANALYZE) / ANALYZE of the ledger tables as the owner (the app role may not)."""
    import psycopg

    out = {}
    statement = "VACUUM (ANALYZE)" if vacuum else "ANALYZE"
    with psycopg.connect(env["DATABASE_OWNER_URL"], autocommit=True) as conn:
        for table in ("penalties_ledgerentry", "penalties_ledgerhead", "penalties_violationcase"):
            t = time.perf_counter()
            conn.execute(f"{statement} {table}")
            out[table] = time.perf_counter() - t
        sizes = dict(conn.execute(
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname IN "
            "('penalties_ledgerentry', 'penalties_ledgerhead')").fetchall())
    return {"statement": statement, "seconds": out, "sizes": sizes}


def check(tenant) -> dict:
    from django.db import connection

    from tenancy.scoping import tenant_scope

    with tenant_scope(tenant), connection.cursor() as cur:
        cur.execute("SELECT count(*), min(sequence), max(sequence), count(DISTINCT sequence), "
                    "avg(char_length(memo)), min(char_length(memo)), max(char_length(memo)) "
                    "FROM penalties_ledgerentry WHERE tenant_id = %s", [tenant.pk])
        count, lo, hi, distinct, avg_memo, min_memo, max_memo = cur.fetchone()
        cur.execute("SELECT last_sequence FROM penalties_ledgerhead WHERE tenant_id = %s", [tenant.pk])
        head = cur.fetchone()
        cur.execute("SELECT kind, count(*), sum(amount) FROM penalties_ledgerentry WHERE tenant_id = %s GROUP BY 1 "
                    "ORDER BY 1", [tenant.pk])
        kinds = {k: {"count": n, "sum": str(s)} for k, n, s in cur.fetchall()}
        cur.execute("SELECT memo FROM penalties_ledgerentry WHERE tenant_id = %s AND sequence IN (%s, %s, %s)",
                    [tenant.pk, hi, hi // 2, hi // 3])
        samples = [r[0] for r in cur.fetchall()]
    ok = count == hi == distinct and lo == 1 and head is not None and head[0] == hi
    return {"ok": ok, "count": count, "max_sequence": hi, "head_sequence": head[0] if head else None,
            "memo_chars": {"avg": float(avg_memo or 0), "min": min_memo, "max": max_memo}, "kinds": kinds,
            "memo_samples": samples}


def ensure_chain(args) -> dict:
    """Fixtures and the chain (idempotent); returns what was done. Needs django set up."""
    from django.utils import timezone

    from .generate_shipments import ensure_branches

    started = time.perf_counter()
    tenant = ensure_tenant(args.tenant)
    _hubs, leaves = ensure_branches(tenant, 4, 40)
    leaves = [(pk, code) for pk, code, _hub in leaves]
    from tenancy.models import Branch
    from tenancy.scoping import tenant_scope

    with tenant_scope(tenant):
        cities = dict(Branch.objects.filter(pk__in=[pk for pk, _c in leaves]).values_list("pk", "city"))
    leaves = [(pk, cities.get(pk) or code) for pk, code in leaves]
    people = ensure_people(tenant, args.employees, leaves)
    have = entry_count(tenant)
    result: dict = {"tenant_id": tenant.pk, "had_entries": have}
    if have >= args.entries:
        result.update(skipped=True, seconds=time.perf_counter() - started)
        return result
    now = timezone.now().replace(microsecond=0)
    t0 = now - dt.timedelta(days=HISTORY_DAYS)
    result["cases"] = ensure_cases(tenant, people, leaves, args.cases, t0)
    t_bulk0 = t0 + dt.timedelta(seconds=20 * args.cases + 60)
    result["bulk"] = fill_chain(tenant, people, args.entries, args.batch, t_bulk0, now - dt.timedelta(hours=1))
    result["seconds"] = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=2_000, help="fines proposed and confirmed through the services")
    parser.add_argument("--employees", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1_000,
                        help="entries per INSERT … SELECT (one transaction; large batches are slow: see the docstring)")
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--tenant", default=TENANT_CODE)
    parser.add_argument("--no-vacuum", action="store_true", help="ANALYZE only (no VACUUM) afterwards")
    args = parser.parse_args()
    if not (1 <= args.cases <= 100_000 and args.cases <= args.entries and 1 <= args.employees <= 10_000
            and 100 <= args.batch <= 1_000_000):
        parser.error("1 ≤ --cases ≤ --entries, --employees in [1, 10000], --batch in [100, 1e6]")
    env = setup_django(args.db)
    print(f"generate_ledger  {dt.datetime.now().isoformat(timespec='seconds')}  {_env.machine()}")
    print(f"database {args.db}, tenant {args.tenant}: {args.entries:,} entries, {args.cases:,} cases, "
          f"{args.employees} employees, {args.batch:,} entries per batch; load average {load()}", flush=True)
    load0 = os.getloadavg()
    started = time.perf_counter()
    result = ensure_chain(args)
    if result.get("skipped"):
        print(f"the chain already has {result['had_entries']:,} entries (≥ {args.entries:,}): nothing to do "
              f"({result['seconds']:.1f} s)")
        return
    maint = maintain(env, not args.no_vacuum)
    total = time.perf_counter() - started
    from tenancy.models import Tenant

    checked = check(Tenant.objects.get(code=args.tenant))
    cases, bulk = result["cases"], result["bulk"]
    print(f"  cases: {cases['made']:,} proposed + confirmed through the services in {cases['seconds']:.1f} s "
          f"({cases['seconds'] / max(1, cases['made']) * 1e3:.1f} ms per case, one ledger_append each)")
    if bulk["inserted"]:
        print(f"  bulk: {bulk['inserted']:,} entries in {bulk['seconds']:.1f} s = "
              f"{bulk['inserted'] / bulk['seconds']:,.0f} entries/s (trigger-chained)")
    print(f"  {maint['statement']}: " + ", ".join(f"{k} {v:.1f} s" for k, v in maint["seconds"].items()))
    print("  sizes: " + ", ".join(f"{k} {v / 2**20:,.0f} MiB" for k, v in maint["sizes"].items()))
    print(f"  check: {'OK' if checked['ok'] else 'FAILED'}: {checked['count']:,} entries, sequence 1…"
          f"{checked['max_sequence']:,}, head {checked['head_sequence']:,}; memo {checked['memo_chars']}")
    print(f"  kinds: {checked['kinds']}")
    print(f"  memo samples: {checked['memo_samples']}")
    print(f"total {total:.1f} s ({total / 60:.1f} min); load average at start {load0[0]:.2f}, at end {load()}")
    _env.OUT.mkdir(parents=True, exist_ok=True)
    out = _env.OUT / "generate_ledger.json"
    out.write_text(json.dumps({
        "date": dt.datetime.now().isoformat(timespec="seconds"), "machine": _env.machine(), "database": args.db,
        "args": vars(args), "result": result, "maintenance": maint, "check": checked, "total_s": total,
        "loadavg_start": load0, "loadavg_end": os.getloadavg()}, indent=2, ensure_ascii=False, default=str))
    print(f"written {out.relative_to(_env.BASE_DIR)}")
    if not checked["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
