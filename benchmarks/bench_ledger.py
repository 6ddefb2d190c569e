"""Fine-ledger benchmarks (issue 8): the verifier over a 1,000,000-entry chain against a bare hashlib loop over
the same bytes, and eight concurrent writers appending to a chain.

    .venv/bin/python -m benchmarks.bench_ledger [--reps 5] [--writers 8] [--appends 500] [--wait-idle 300]
        [--fetch-rows 1000,2000,5000,20000,100000] [--only verify,append] [--no-profile] [--no-reference]
        [--append-tenant bench-ledger-append] [--db courier_bench_ledger]

Needs the chain of benchmarks.generate_ledger (tenant `bench-ledger`, 1,000,000 entries) in `courier_bench_ledger`
(see benchmarks/README.md); everything runs as the application role crm_app under row-level security, Redis db 12.

1. Verify (target: bare_time / verify_time ≥ 0.20, measured in the same run). The chain's canonical bytes are
   read once into a Python list (the reference query: `penalties.chain.CANONICAL_SQL`, in (sequence, id)
   order); the bare loop is `h = hashlib.sha256(h + b).digest()` over that list. `--reps` rounds, each: the
   bare loop, then `penalties.chain.chain_walk()` (defaults) inside `tenant_scope` (server-side binary cursor),
   then, with `--reference` (default), the verifier as first written (kept below as `chain_walk_v0`: one
   thread, 20,000 rows a FETCH, the whole canonical form incl. the memo's SHA-256 computed by PostgreSQL,
   sorted by (sequence, id) on the server) — so outside load hits all alike. Best of the rounds for each,
   the ratio of the bests and the median of the rounds' ratios, rows/s, and CPU seconds of this process
   (both threads) and of its PostgreSQL backend (from /proc). Every walk must report the chain intact with
   the bare loop's head hash, which must be the head row's (`ledger_head()`).
2. Profile (`--no-profile` skips it): where the verifier's time goes — the server alone (the query's rows
   computed and summed in PostgreSQL, nothing sent), the fetch alone (the cursor read at each walker's
   FETCH size, nothing hashed), the Python side alone (chain_walk's per-row work over its rows fetched
   beforehand), for chain_walk's query and the reference one; then chain_walk with each `--fetch-rows` size
   (best of 2).
3. Append (target ≥ 500 appends/s overall): `--writers` processes (multiprocessing, spawn; each runs
   django.setup() through benchmarks/_env.py and has its own connection) each make `--appends` appends, every
   one its own transaction: `tenant_scope(tenant, user=manager)` + `penalties.services.ledger_append`
   (payment received on one of the tenant's cases). They start together (a barrier, after connecting and
   loading their cases); appends/s = all appends / (last writer done − start); per-append latency
   p50/p95/p99. One writer alone first (same number of appends) for comparison. The writers append to
   `--append-tenant` (default `bench-ledger-append`, made by generate_ledger with 200 cases, so the 1M chain
   stays 1M; `--append-tenant bench-ledger` appends to the big one). Then the chain is checked: `chain_walk()`
   intact and as long as the head, sequence numbers 1…N without gap or duplicate, every writer's entries in
   its own order. With `--explain` (default on) one append's INSERT under `EXPLAIN (ANALYZE, BUFFERS)` with
   the constraints immediate, in a rolled-back transaction: the chain trigger's and the FK checks' time.
Every part prints the load average; `--wait-idle S` waits (at most S s) for the 1-minute load average to fall
below 0.7 before each part. Writes benchmarks/out/bench_ledger.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from decimal import Decimal

from . import _env
from .bench_api_list import cpu_seconds
from .generate_ledger import DEFAULT_DB, MANAGER_USERNAME, TENANT_CODE, setup_django

TARGET_RATIO = 0.20
TARGET_APPENDS_PER_S = 500.0
APPEND_TENANT = "bench-ledger-append"
GENESIS = bytes(32)


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def quiet(args, what: str) -> None:
    if args.wait_idle:
        t = time.perf_counter()
        la = _env.wait_for_quiet(args.wait_idle)
        print(f"[{what}] waited {time.perf_counter() - t:.0f} s for a quiet machine: load {la[0]:.2f}", flush=True)
    print(f"[{what}] load average {load()}", flush=True)


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] * 1e3


def backend_cpu(conn) -> float:
    return cpu_seconds([conn.info.backend_pid])


# --- the verifier as first written (reference) -------------------------------------------------------------

def chain_walk_v0(*, fetch_rows: int = 20_000):
    """penalties.chain.chain_walk as first written (without checkpoints): one thread, the whole canonical
    form — the memo's SHA-256 included — computed by PostgreSQL. For the before/after comparison."""
    from django.db import connection, transaction

    from penalties.chain import CANONICAL_SQL, ChainReport
    from tenancy.scoping import current_tenant_id

    report = ChainReport()
    sha256 = hashlib.sha256
    with transaction.atomic():
        raw = connection.connection
        with raw.cursor(name="ledger_verify_v0", binary=True) as cursor:
            cursor.itersize = fetch_rows
            cursor.execute(reference_sql(CANONICAL_SQL), [current_tenant_id()])
            prev, expected, checked = GENESIS, 1, 0
            while rows := cursor.fetchmany(fetch_rows):
                for sequence, stored_prev, stored_hash, canonical in rows:
                    if sequence != expected:
                        return report.fail(expected, "missing" if sequence > expected else "duplicate", "")
                    if stored_prev != prev:
                        return report.fail(sequence, "link", "")
                    computed = sha256(prev + canonical).digest()
                    if computed != stored_hash:
                        return report.fail(sequence, "hash", "")
                    prev = computed
                    expected += 1
                    checked += 1
    report.entries_checked = checked
    report.head_sequence = expected - 1 if checked else None
    report.head_hash = prev
    return report


def reference_sql(canonical_sql: str) -> str:
    return (f"SELECT sequence, prev_hash, entry_hash, convert_to({canonical_sql}, 'UTF8') "  # noqa: S608 — constant
            "FROM penalties_ledgerentry WHERE tenant_id = %s ORDER BY sequence, id")


# --- 1. verify ----------------------------------------------------------------------------------------------

def canonical_bytes(tenant) -> list[bytes]:
    """Every entry's canonical form, in chain order, from the reference query (server-side cursor)."""
    from django.db import connection

    from penalties.chain import CANONICAL_SQL
    from tenancy.scoping import tenant_scope

    with tenant_scope(tenant), connection.connection.cursor(name="bench_canonical", binary=True) as cur:
        cur.itersize = 50_000
        cur.execute(reference_sql(CANONICAL_SQL), [tenant.pk])
        out = []
        while rows := cur.fetchmany(50_000):
            out.extend(r[3] for r in rows)
    return out


def bare_loop(data: list[bytes]) -> tuple[float, bytes]:
    sha256 = hashlib.sha256
    start = time.perf_counter()
    h = GENESIS
    for b in data:
        h = sha256(h + b).digest()
    return time.perf_counter() - start, h


def timed_walk(tenant, walker, **kwargs) -> dict:
    from django.db import connection

    from tenancy.scoping import tenant_scope

    connection.ensure_connection()
    raw = connection.connection
    b0, p0 = backend_cpu(raw), time.process_time()
    start = time.perf_counter()
    with tenant_scope(tenant):
        report = walker(**kwargs)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "python_cpu_s": time.process_time() - p0, "backend_cpu_s": backend_cpu(raw) - b0,
            "ok": report.ok, "entries": report.entries_checked, "head_hash": report.head_hash.hex(),
            "problem": f"{report.problem_code} at {report.first_bad_sequence}" if not report.ok else "",
            "load1": os.getloadavg()[0]}


def bench_verify(tenant, args) -> dict:
    from penalties.chain import chain_walk
    from penalties.services import ledger_head
    from tenancy.scoping import tenant_scope

    quiet(args, "verify")
    t = time.perf_counter()
    data = canonical_bytes(tenant)
    read_s = time.perf_counter() - t
    with tenant_scope(tenant):
        head_seq, head_hash = ledger_head()
    n = len(data)
    print(f"  {n:,} canonical forms read into a list in {read_s:.1f} s (mean {sum(map(len, data)) / n:.0f} bytes); "
          f"head #{head_seq:,} {head_hash.hex()[:16]}…", flush=True)
    if n != head_seq:
        sys.exit(f"the chain has {n:,} entries but the head says {head_seq:,}")
    rounds = []
    for rep in range(args.reps):
        bare_s, bare_hash = bare_loop(data)
        if bare_hash != head_hash:
            sys.exit("the bare loop's head hash differs from the head row's")
        r = {"bare_s": bare_s, "walk": timed_walk(tenant, chain_walk)}
        if args.reference:
            r["walk_v0"] = timed_walk(tenant, chain_walk_v0)
        for key in ("walk", "walk_v0"):
            if key in r and not (r[key]["ok"] and r[key]["entries"] == n and r[key]["head_hash"] == head_hash.hex()):
                sys.exit(f"{key} did not confirm the chain: {r[key]}")
        rounds.append(r)
        line = (f"  round {rep + 1}: bare {bare_s:.3f} s, chain_walk {r['walk']['seconds']:.3f} s "
                f"(CPU python {r['walk']['python_cpu_s']:.2f} + backend {r['walk']['backend_cpu_s']:.2f} s) "
                f"ratio {bare_s / r['walk']['seconds']:.3f}")
        if "walk_v0" in r:
            line += (f"; as first written {r['walk_v0']['seconds']:.3f} s (CPU {r['walk_v0']['python_cpu_s']:.2f} + "
                     f"{r['walk_v0']['backend_cpu_s']:.2f} s) ratio {bare_s / r['walk_v0']['seconds']:.3f}")
        print(line + f"; load {load()}", flush=True)
    best_bare = min(r["bare_s"] for r in rounds)
    out = {"entries": n, "canonical_mean_bytes": sum(map(len, data)) / n, "read_list_s": read_s,
           "bare_best_s": best_bare, "rounds": rounds}
    for key in ("walk", "walk_v0"):
        if key not in rounds[0]:
            continue
        best = min(rounds, key=lambda r, k=key: r[k]["seconds"])[key]
        ratios = [r["bare_s"] / r[key]["seconds"] for r in rounds]
        out[key] = {"best_s": best["seconds"], "rows_per_s": n / best["seconds"], "ratio_of_bests":
                    best_bare / best["seconds"], "ratio_median": statistics.median(ratios), "ratios": ratios,
                    "python_cpu_s": best["python_cpu_s"], "backend_cpu_s": best["backend_cpu_s"]}
    w = out["walk"]
    w["target_met"] = w["ratio_of_bests"] >= TARGET_RATIO
    print(f"  bare loop best {best_bare:.3f} s ({n / best_bare:,.0f} rows/s); chain_walk best {w['best_s']:.3f} s "
          f"({w['rows_per_s']:,.0f} rows/s): ratio {w['ratio_of_bests']:.3f} (median of rounds "
          f"{w['ratio_median']:.3f}) vs ≥ {TARGET_RATIO:.2f}: {verdict(w['target_met'])}")
    if "walk_v0" in out:
        v = out["walk_v0"]
        print(f"  as first written: best {v['best_s']:.3f} s ({v['rows_per_s']:,.0f} rows/s), ratio "
              f"{v['ratio_of_bests']:.3f} (median {v['ratio_median']:.3f})", flush=True)
    del data
    return out


# --- 2. profile -----------------------------------------------------------------------------------------------

def walk_rows(rows: list[tuple], fetch_rows: int) -> bytes:
    """chain_walk's per-row work (no checkpoints) over rows of its query fetched beforehand, in batches of
    `fetch_rows` through its (sequence, id) ordering."""
    from penalties.chain import _chain_order

    sha256 = hashlib.sha256
    prev, expected = GENESIS, 1
    batches = (rows[i:i + fetch_rows] for i in range(0, len(rows), fetch_rows))
    for batch in _chain_order(batches):
        for sequence, _id, stored_prev, stored_hash, prefix, memo in batch:
            if sequence != expected or stored_prev != prev:
                raise RuntimeError(f"chain broken at {sequence}")
            if memo is None:
                computed = sha256(prev + prefix).digest()
            else:
                computed = sha256(prev + prefix + b"|" + sha256(memo).hexdigest().encode()).digest()
            if computed != stored_hash:
                raise RuntimeError(f"hash differs at {sequence}")
            prev = computed
            expected += 1
    return prev


def bench_profile(tenant, args) -> dict:
    from django.db import connection

    from penalties import chain
    from penalties.chain import CANONICAL_SQL, chain_walk
    from tenancy.scoping import tenant_scope

    quiet(args, "profile")
    walk_sql = getattr(chain, "_WALK_SQL_TEXT", None)
    queries = {"reference (canonical form by PostgreSQL)": (reference_sql(CANONICAL_SQL), False)}
    if walk_sql:
        queries["chain_walk's (canonical form without the memo digest, memo raw, no sort)"] = (walk_sql, True)
    out: dict = {"server_only": {}, "fetch_only": {}}

    def cursor_setup(cur, raw_text: bool) -> None:
        if raw_text:
            from psycopg.types.string import ByteaBinaryLoader

            for text_type in ("text", "varchar"):
                cur.adapters.register_loader(text_type, ByteaBinaryLoader)

    for name, (sql, raw_text) in queries.items():
        # the server alone: every row computed and summed in PostgreSQL, nothing sent
        names = "seq, id, prev, hash, canon, memo" if raw_text else "seq, prev, hash, canon"
        summed = (f"SELECT count(*), sum(octet_length(prev) + octet_length(hash) + octet_length(canon)"  # noqa: S608
                  f"{' + coalesce(octet_length(memo), 0)' if raw_text else ''}) FROM ({sql}) AS q({names})")
        best = None
        for _ in range(2):
            with tenant_scope(tenant), connection.cursor() as cur:
                b0 = backend_cpu(connection.connection)
                t = time.perf_counter()
                cur.execute(summed, [tenant.pk])
                cur.fetchone()
                r = {"seconds": time.perf_counter() - t, "backend_cpu_s": backend_cpu(connection.connection) - b0}
            best = r if best is None or r["seconds"] < best["seconds"] else best
        out["server_only"][name] = best
        print(f"  server only, {name}: {best['seconds']:.2f} s (backend CPU {best['backend_cpu_s']:.2f} s)", flush=True)
        # the fetch alone: the cursor read, nothing hashed
        best = None
        for _ in range(2):
            with tenant_scope(tenant):
                raw = connection.connection
                with raw.cursor(name="bench_fetch", binary=True) as cur:
                    cursor_setup(cur, raw_text)
                    size = chain.FETCH_ROWS if raw_text else 20_000  # what each walker fetches at a time
                    cur.itersize = size
                    b0, p0, t = backend_cpu(raw), time.process_time(), time.perf_counter()
                    cur.execute(sql, [tenant.pk])
                    n = 0
                    while rows := cur.fetchmany(size):
                        n += len(rows)
                    r = {"seconds": time.perf_counter() - t, "python_cpu_s": time.process_time() - p0,
                         "backend_cpu_s": backend_cpu(raw) - b0, "rows": n, "fetch_rows": size}
            best = r if best is None or r["seconds"] < best["seconds"] else best
        out["fetch_only"][name] = best
        print(f"  fetch only ({best['fetch_rows']:,} rows a FETCH), {name}: {best['seconds']:.2f} s (CPU python "
              f"{best['python_cpu_s']:.2f} + backend {best['backend_cpu_s']:.2f} s)", flush=True)
    if walk_sql:
        # chain_walk's Python work alone, over its rows fetched beforehand
        with tenant_scope(tenant):
            with connection.connection.cursor(name="bench_rows", binary=True) as cur:
                cursor_setup(cur, True)
                cur.itersize = 50_000
                cur.execute(walk_sql, [tenant.pk])
                rows = []
                while batch := cur.fetchmany(50_000):
                    rows.extend(batch)
        best = min(_timed(lambda: walk_rows(rows, chain.FETCH_ROWS)) for _ in range(3))
        out["python_only_s"] = best
        print(f"  python only (chain_walk's per-row work over {len(rows):,} rows in memory): {best:.2f} s", flush=True)
        del rows
    out["fetch_rows"] = {}
    for size in args.fetch_rows:
        r = min((timed_walk(tenant, chain_walk, fetch_rows=size) for _ in range(2)), key=lambda x: x["seconds"])
        out["fetch_rows"][size] = r
        print(f"  chain_walk fetch_rows={size:>7,}: {r['seconds']:.3f} s (CPU python {r['python_cpu_s']:.2f} + "
              f"backend {r['backend_cpu_s']:.2f} s); load {load()}", flush=True)
    return out


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# --- 3. append ------------------------------------------------------------------------------------------------

def append_worker(database: str, tenant_code: str, writer: int, appends: int, barrier, results) -> None:
    """One writer process: django.setup(), load the cases, wait for the others, append."""
    try:
        setup_django(database)
        from django.db import connection
        from django.utils import timezone

        from penalties.models import EntryKind, PaymentMethod, ViolationCase
        from penalties.services import ledger_append
        from tenancy.models import Tenant, User
        from tenancy.scoping import tenant_scope

        tenant = Tenant.objects.get(code=tenant_code)
        actor = User.objects.get(username=MANAGER_USERNAME)
        with tenant_scope(tenant):
            cases = list(ViolationCase.objects.select_related("subject_membership", "branch", "violation_type")
                         .order_by("id"))
        methods = list(PaymentMethod.values)
        today = timezone.localdate()
        connection.ensure_connection()
        pid = connection.connection.info.backend_pid
        latencies = []
        barrier.wait(timeout=120)
        b0, p0 = cpu_seconds([pid]), time.process_time()
        start = time.perf_counter()
        for i in range(appends):
            case = cases[(writer * 7919 + i * 31) % len(cases)]
            t = time.perf_counter()
            with tenant_scope(tenant, user=actor):
                ledger_append(kind=EntryKind.PAYMENT_RECEIVED, case=case, amount=Decimal(50 + (i * 13) % 950),
                              actor=actor, effective_on=today, payment_method=methods[i % len(methods)],
                              memo=f"工资代扣 payroll deduction 写入{writer:02d} writer {writer} entry {i:05d}")
            latencies.append(time.perf_counter() - t)
        end = time.perf_counter()
        results.put({"writer": writer, "start": start, "end": end, "latencies": latencies,
                     "python_cpu_s": time.process_time() - p0, "backend_cpu_s": cpu_seconds([pid]) - b0})
    except BaseException as exc:  # noqa: BLE001 — reported to the parent
        results.put({"writer": writer, "error": repr(exc)})


def run_writers(args, tenant_code: str, writers: int, appends: int) -> dict:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(writers + 1)
    results = ctx.Queue()
    procs = [ctx.Process(target=append_worker, args=(args.db, tenant_code, w, appends, barrier, results))
             for w in range(writers)]
    for p in procs:
        p.start()
    load0 = os.getloadavg()
    barrier.wait(timeout=180)
    out = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(60)
    errors = [r for r in out if "error" in r]
    if errors:
        sys.exit(f"writers failed: {errors}")
    start = min(r["start"] for r in out)
    end = max(r["end"] for r in out)
    lat = [x for r in out for x in r["latencies"]]
    total = writers * appends
    res = {"writers": writers, "appends_each": appends, "appends": total, "seconds": end - start,
           "appends_per_s": total / (end - start), "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95),
           "p99_ms": pct(lat, 99), "max_ms": max(lat) * 1e3, "mean_ms": statistics.fmean(lat) * 1e3,
           "per_writer_per_s": [appends / (r["end"] - r["start"]) for r in sorted(out, key=lambda r: r["writer"])],
           "python_cpu_ms_per_append": sum(r["python_cpu_s"] for r in out) / total * 1e3,
           "backend_cpu_ms_per_append": sum(r["backend_cpu_s"] for r in out) / total * 1e3,
           "loadavg": (load0, os.getloadavg())}
    print(f"  {writers} writer(s) × {appends}: {total:,} appends in {res['seconds']:.2f} s = "
          f"{res['appends_per_s']:,.0f} appends/s; latency p50 {res['p50_ms']:.2f} p95 {res['p95_ms']:.2f} "
          f"p99 {res['p99_ms']:.2f} max {res['max_ms']:.1f} ms; CPU per append python "
          f"{res['python_cpu_ms_per_append']:.2f} + backend {res['backend_cpu_ms_per_append']:.2f} ms; "
          f"load {load()}", flush=True)
    return res


def chain_check(tenant, writers: int, appends: int, since: int) -> dict:
    """chain_walk() intact and as long as the head; sequences 1…N gapless; each writer's entries in order."""
    from django.db import connection

    from penalties.chain import chain_walk
    from penalties.services import ledger_head
    from tenancy.scoping import tenant_scope

    with tenant_scope(tenant):
        t = time.perf_counter()
        report = chain_walk()
        walk_s = time.perf_counter() - t
        head_seq, head_hash = ledger_head()
        with connection.cursor() as cur:
            cur.execute("SELECT count(*), count(DISTINCT sequence), min(sequence), max(sequence) "
                        "FROM penalties_ledgerentry WHERE tenant_id = %s", [tenant.pk])
            count, distinct, lo, hi = cur.fetchone()
            cur.execute("SELECT memo FROM penalties_ledgerentry WHERE tenant_id = %s AND sequence > %s "
                        "ORDER BY sequence", [tenant.pk, since])
            memos = [r[0] for r in cur.fetchall()]
    in_order = True
    for w in range(writers):
        mine = [m for m in memos if f" writer {w} entry " in m]
        in_order &= mine == [m for m in sorted(mine, key=lambda m: int(m.rsplit(" ", 1)[1]))] and len(mine) == appends
    gapless = count == distinct == hi == head_seq and lo == 1
    out = {"walk_ok": report.ok, "walk_entries": report.entries_checked, "walk_s": walk_s,
           "walk_problem": report.problem, "head_sequence": head_seq,
           "head_matches": report.head_hash == head_hash and report.head_sequence == head_seq,
           "count": count, "gapless": gapless, "new_entries": len(memos), "writers_in_order": in_order}
    out["ok"] = report.ok and out["head_matches"] and gapless and in_order and len(memos) == writers * appends
    print(f"  check: chain_walk {'intact' if report.ok else 'BROKEN: ' + report.problem} over "
          f"{report.entries_checked:,} entries ({walk_s:.2f} s), head #{head_seq:,} "
          f"{'matches' if out['head_matches'] else 'DIFFERS'}; sequences 1…{hi:,} "
          f"{'gapless, no duplicate' if gapless else 'NOT gapless'}; {len(memos):,} new entries, every writer's "
          f"{'in its order' if in_order else 'OUT OF ORDER'}", flush=True)
    return out


def explain_append(tenant, runs: int = 20) -> dict:
    """One append's INSERT under EXPLAIN (ANALYZE, BUFFERS) with the constraints immediate, `runs` times on one
    connection, each in its own rolled-back transaction (the first run pays the trigger's compilation and
    cold caches); the last plan and the medians of the chain trigger's and the FK checks' times."""
    import re

    from django.db import connection, transaction
    from django.utils import timezone

    from penalties.models import EntryKind, LedgerEntry, ViolationCase
    from tenancy.models import User
    from tenancy.scoping import tenant_scope

    actor = User.objects.get(username=MANAGER_USERNAME)
    with tenant_scope(tenant):
        case = ViolationCase.objects.order_by("id").first()
    plans, chain_ms, fk_ms, total_ms = [], [], [], []
    for _ in range(runs):
        with tenant_scope(tenant, user=actor), connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute(
                f"EXPLAIN (ANALYZE, BUFFERS) INSERT INTO {LedgerEntry._meta.db_table} "  # noqa: S608 — constant
                "(tenant_id, kind, case_id, subject_kind, subject_membership_id, branch_id, violation_type_id, tier, "
                "amount, currency, effective_on, payment_method, memo, recorded_by_id, recorded_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'CNY', %s, 'cash', %s, %s, now())",
                [tenant.pk, EntryKind.PAYMENT_RECEIVED, case.pk, case.subject_kind, case.subject_membership_id,
                 case.branch_id, case.violation_type_id, case.tier, Decimal("-10.00"), timezone.localdate(),
                 "explain", actor.pk])
            plan = "\n".join(r[0] for r in cur.fetchall())
            transaction.set_rollback(True)  # the entry and the head's step are not kept
        plans.append(plan)
        chain_ms += [float(x) for x in re.findall(r"Trigger penalties_ledger_chain: time=([\d.]+)", plan)]
        fk_ms.append(sum(float(x) for x in re.findall(r"Trigger for constraint \S+: time=([\d.]+)", plan)))
        total_ms += [float(x) for x in re.findall(r"Execution Time: ([\d.]+)", plan)]
    return {"runs": runs, "first_plan": plans[0], "last_plan": plans[-1],
            "chain_trigger_ms_median": statistics.median(chain_ms), "chain_trigger_ms_first": chain_ms[0],
            "fk_checks_ms_median": statistics.median(fk_ms), "fk_checks": len(re.findall("Trigger for", plans[-1])),
            "execution_ms_median": statistics.median(total_ms), "execution_ms_first": total_ms[0]}


def ensure_append_tenant(args):
    """The writers' tenant: generate_ledger's fixtures with 200 cases (idempotent)."""
    from tenancy.models import Tenant

    from .generate_ledger import ensure_chain

    if args.append_tenant != APPEND_TENANT:
        return Tenant.objects.get(code=args.append_tenant)
    existing = Tenant.objects.filter(code=APPEND_TENANT).first()
    if existing is None:
        t = time.perf_counter()
        ns = argparse.Namespace(tenant=APPEND_TENANT, entries=200, cases=200, employees=50, batch=1000)
        ensure_chain(ns)
        print(f"  tenant {APPEND_TENANT} made (200 cases through the services) in {time.perf_counter() - t:.1f} s")
        existing = Tenant.objects.get(code=APPEND_TENANT)
    return existing


def bench_append(args) -> dict:
    from django.db import connections

    from penalties.services import ledger_head
    from tenancy.scoping import tenant_scope

    tenant = ensure_append_tenant(args)
    quiet(args, "append")
    out: dict = {"tenant": tenant.code}
    if args.explain:
        ex = out["explain"] = explain_append(tenant)
        print(f"  one append's INSERT under EXPLAIN ANALYZE, constraints immediate, {ex['runs']} runs on one "
              f"connection (rolled back): execution median {ex['execution_ms_median']:.3f} ms (first "
              f"{ex['execution_ms_first']:.2f}), of which the chain trigger {ex['chain_trigger_ms_median']:.3f} ms "
              f"(first {ex['chain_trigger_ms_first']:.2f}) and {ex['fk_checks']} FK checks "
              f"{ex['fk_checks_ms_median']:.3f} ms; the last plan:")
        for line in ex["last_plan"].splitlines():
            print(f"    {line}")
    connections.close_all()
    runs = []
    for writers in ([1] if args.writers > 1 else []) + [args.writers]:
        with tenant_scope(tenant):
            before = ledger_head()[0]
        connections.close_all()
        res = run_writers(args, tenant.code, writers, args.appends)
        res["check"] = chain_check(tenant, writers, args.appends, before)
        connections.close_all()
        runs.append(res)
    main_run = runs[-1]
    out["runs"] = runs
    out["appends_per_s"] = main_run["appends_per_s"]
    out["target_met"] = main_run["appends_per_s"] >= TARGET_APPENDS_PER_S
    out["chain_ok"] = all(r["check"]["ok"] for r in runs)
    print(f"  {args.writers} writers: {main_run['appends_per_s']:,.0f} appends/s vs ≥ {TARGET_APPENDS_PER_S:.0f}: "
          f"{verdict(out['target_met'])}; chain gapless and valid after every run: {out['chain_ok']}", flush=True)
    return out


# --- main ---------------------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--tenant", default=TENANT_CODE, help="the tenant with the 1M chain (generate_ledger)")
    parser.add_argument("--entries", type=int, default=1_000_000, help="the chain length the verify part expects")
    parser.add_argument("--reps", type=int, default=5, help="rounds of bare loop / chain_walk / reference")
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="skip the verifier as first written")
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument("--fetch-rows", default="1000,2000,5000,20000,100000")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--appends", type=int, default=500, help="appends per writer")
    parser.add_argument("--append-tenant", default=APPEND_TENANT)
    parser.add_argument("--no-explain", dest="explain", action="store_false")
    parser.add_argument("--only", default="verify,profile,append")
    parser.add_argument("--wait-idle", type=float, default=0.0)
    args = parser.parse_args()
    args.fetch_rows = [int(x) for x in args.fetch_rows.split(",") if x.strip()]
    parts = {p.strip() for p in args.only.split(",")}
    if not args.profile:
        parts.discard("profile")
    if not (1 <= args.reps <= 50 and 1 <= args.writers <= 64 and 1 <= args.appends <= 100_000):
        parser.error("--reps in [1, 50], --writers in [1, 64], --appends in [1, 1e5]")
    setup_django(args.db)
    from tenancy.models import Tenant

    print(f"bench_ledger  {dt.datetime.now().isoformat(timespec='seconds')}  {_env.machine()}")
    print(f"database {args.db}; load average {load()}", flush=True)
    report: dict = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": _env.machine(),
                    "database": args.db, "args": vars(args), "loadavg_start": os.getloadavg()}
    if parts & {"verify", "profile"}:
        tenant = Tenant.objects.filter(code=args.tenant).first()
        from .generate_ledger import entry_count

        count = entry_count(tenant) if tenant else 0
        if count < args.entries:
            sys.exit(f"tenant {args.tenant} has {count:,} entries: run python -m benchmarks.generate_ledger first")
        if "verify" in parts:
            print(f"1. verify: chain_walk over {count:,} entries vs the bare hashlib loop")
            report["verify"] = bench_verify(tenant, args)
        if "profile" in parts:
            print("2. profile of the verifier")
            report["profile"] = bench_profile(tenant, args)
    if "append" in parts:
        print(f"3. append: {args.writers} writers × {args.appends} appends, one transaction each")
        report["append"] = bench_append(args)
    report["loadavg_end"] = os.getloadavg()
    print(f"load average at end {load()}")
    _env.OUT.mkdir(parents=True, exist_ok=True)
    out = _env.OUT / "bench_ledger.json"
    previous = json.loads(out.read_text()) if out.exists() else {}
    for key in ("verify", "profile", "append"):  # a partial run (--only) keeps the other parts' last results
        if key not in report and key in previous:
            report[key] = previous[key]
            report.setdefault("kept_from_previous_run", []).append(key)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    print(f"written {out.relative_to(_env.BASE_DIR)}")


if __name__ == "__main__":
    main()
