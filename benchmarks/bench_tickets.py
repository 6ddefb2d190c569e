"""Ticket benchmarks (issue 6) on the generated data (benchmarks.generate_tickets): the agent's queue
API against the server's no-database ping, the agent's queue page, the ticket page with a 200-event
timeline, and the SLA sweep over all open tickets.

    .venv/bin/python -m benchmarks.bench_tickets [--seconds 30] [--rounds 3] [--requests 1500]
        [--agents 20] [--threads 4] [--wait-idle 300] [--only queue_api,queue_page,ticket_page,sweep]

1. Fixtures (idempotent): for the first `--agents` generated agents (`bench-agent-001` …, role agent,
   no second factor) an API token made with `tenancy.services.api_token_create` (keys kept in
   benchmarks/out/, git-ignored) and a session made with Django's session store (what a login leaves:
   user, backend, hash, active tenant). Requests rotate over these agents, each with their own queue.
2. Presence: each endpoint is probed once; one that answers 404 (not built yet) is reported as
   pending and skipped, as is the sweep if `tickets.services.sla.sla_sweep` cannot be imported.
3. In process (django.test.Client through the whole middleware stack, no HTTP): for each endpoint the
   SQL of one request (`CaptureQueriesContext`: count and statements), status and size, and
   `--in-process-requests` requests timed and split into SQL, template rendering and the rest;
   `EXPLAIN (ANALYZE, BUFFERS)` of every SELECT as the application role in the tenant scope into
   out/bench_tickets_explain.txt.
4. Over HTTP, gunicorn as deployed (`-w 2 --threads 4`, gthread keep-alive; DEBUG off,
   DB_CONN_MAX_AGE=600, settings benchmarks.bench_settings for `/bench/ping/`), 2 keep-alive
   `http.client` clients:
   - queue API `GET /api/v1/tickets/queue/?view=mine&limit=50` (token auth) against `GET /bench/ping/`
     (no cookie, no token, no database): `--seconds` per endpoint in `--rounds` alternating slices
     (ping, queue, queue, ping, …) so outside load hits both alike; req/s, p50/p95/p99, server CPU
     per request (gunicorn workers + their PostgreSQL backends, from /proc). Targets: queue req/s
     ≥ 25 % of ping req/s, queue p99 ≤ 10 ms. The same with the tab counts (`&counts=true`) and
     `view=team` are measured the same way (no target).
   - queue page `GET /console/` (session), ticket page `GET /tickets/<id>/` of the generated tickets
     with exactly 200 timeline events (each opened by its assignee), and for comparison of typical
     tickets (~5 events): `--warmup` then `--requests` requests each; p50/p95/p99/max.
     Targets: queue page p95 ≤ 50 ms, 200-event ticket page p95 ≤ 80 ms.
5. SLA sweep (in process, application role, row-level security on): `sla_sweep()` inside
   `tenant_scope(tenant)` in a transaction that is rolled back, `--sweep-runs` times (the first
   run warms the cache); `SET CONSTRAINTS ALL IMMEDIATE` first so deferred foreign-key checks are
   inside the measured time (the commit's WAL flush is not). Seconds, SQL statements with their
   time, and EXPLAIN (ANALYZE, BUFFERS) of its SELECTs. Target ≤ 10 s with ≥ 100k open tickets.
Every measurement prints the load average; `--wait-idle S` waits (at most S seconds) for the
1-minute load average to fall below 0.7 before each. Writes out/bench_tickets.json,
out/bench_tickets_explain.txt; gunicorn's log: out/gunicorn_tickets.log.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import sys
import threading
import time
from pathlib import Path

from . import _env
from .bench_customers import summary
from .generate_tickets import AGENT_USERNAME, DEFAULT_DB, TENANT_CODE

QUEUE_API = "/api/v1/tickets/queue/?view={view}&limit=50"
QUEUE_PAGE = "/console/"
TICKET_PAGE = "/tickets/{pk}/"
PING = "/bench/ping/"
TARGET_RATIO = 0.25
TARGET_QUEUE_P99_MS = 10.0
TARGET_QUEUE_PAGE_P95_MS = 50.0
TARGET_TICKET_PAGE_P95_MS = 80.0
TARGET_SWEEP_S = 10.0
MAX_SAMPLES = 2_000_000


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


# --- fixtures -------------------------------------------------------------------------------------

def fixtures(tenant, database: str, agents: int) -> dict:
    """Tokens and sessions of the first `agents` generated agents (idempotent)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cached_db import SessionStore

    from tenancy.authz_cache import token_lookup
    from tenancy.middleware import SESSION_TENANT_KEY
    from tenancy.models import Membership, User
    from tenancy.scoping import tenant_scope
    from tenancy.services import api_token_create

    users = list(User.objects.filter(username__in=[AGENT_USERNAME.format(n) for n in range(1, agents + 1)])
                 .order_by("username"))
    if len(users) < agents:
        sys.exit(f"only {len(users)} of {agents} agents exist: run python -m benchmarks.generate_tickets first")
    path = _env.OUT / f"bench_tickets_tokens_{database}.json"
    keys = json.loads(path.read_text()) if path.exists() else {}
    out: dict = {"agents": []}
    with tenant_scope(tenant):
        memberships = {m.user_id: m for m in Membership.objects.filter(user__in=users)}
    changed = False
    for user in users:
        raw = keys.get(user.username, "")
        token = token_lookup(raw) if raw else None
        if token is None or token.user_id != user.pk or token.tenant_id != tenant.pk:
            with tenant_scope(tenant, user=user):
                _, raw = api_token_create(actor=user, name="bench-tickets")
            keys[user.username] = raw
            changed = True
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "tenancy.auth_backends.TenantRoleBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session[SESSION_TENANT_KEY] = tenant.pk
        session.create()
        out["agents"].append({"user": user, "membership_id": memberships[user.pk].pk, "token": raw,
                              "session_key": session.session_key,
                              "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}"})
    if changed:
        path.write_text(json.dumps(keys))
        path.chmod(0o600)
    first = out["agents"][0]
    out.update(user=first["user"], token=first["token"], session_key=first["session_key"])  # bench_customers
    return out


def ticket_sets(tenant, fx: dict, report_file: Path, seed: int, typical: int) -> dict:
    """The long tickets (from generate_tickets' report, checked to have exactly 200 events) with their
    assignee among the fixtures' agents, and `typical` random tickets of those agents."""
    from django.db import connection

    from tenancy.scoping import tenant_scope

    long_ids = []
    if report_file.exists():
        report = json.loads(report_file.read_text())
        long_ids = report.get("results", {}).get("main", {}).get("long_tickets", [])
    by_membership = {a["membership_id"]: a for a in fx["agents"]}
    rng = random.Random(seed)
    with tenant_scope(tenant), connection.cursor() as cur:
        cur.execute("""SELECT t.id, t.assignee_id, (SELECT count(*) FROM tickets_ticketevent e
                                                    WHERE e.tenant_id = t.tenant_id AND e.ticket_id = t.id)
                       FROM tickets_ticket t WHERE t.tenant_id = %s AND t.id = ANY(%s)""", [tenant.pk, long_ids])
        long_rows = [(pk, assignee, n) for pk, assignee, n in cur.fetchall() if assignee in by_membership]
        cur.execute("SELECT min(id), max(id) FROM tickets_ticket WHERE tenant_id = %s", [tenant.pk])
        lo, hi = cur.fetchone()
        picks = rng.sample(range(lo, hi + 1), min(typical * 40, hi - lo + 1))
        cur.execute("""SELECT t.id, t.assignee_id FROM tickets_ticket t
                       WHERE t.tenant_id = %s AND t.id = ANY(%s) AND t.assignee_id = ANY(%s)""",
                    [tenant.pk, picks, list(by_membership)])
        typical_rows = cur.fetchall()[:typical]
        cur.execute("SELECT count(*) FROM tickets_ticket WHERE tenant_id = %s AND status NOT IN ('resolved', 'closed')",
                    [tenant.pk])
        open_count = cur.fetchone()[0]
    return {"long": long_rows, "typical": typical_rows, "open": open_count}


# --- HTTP -----------------------------------------------------------------------------------------

def start_server(env: dict, threads: int, port: int):
    from .bench_api_list import start_gunicorn

    server_env = {**env, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    return start_gunicorn(server_env, port, _env.OUT / "gunicorn_tickets.log", threads)


def wait_up(proc, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited; see benchmarks/out/gunicorn_tickets.log")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", PING)
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer; see benchmarks/out/gunicorn_tickets.log")


def http_run(port: int, items: list[tuple[str, dict]], *, seconds: float | None = None, total: int | None = None,
             threads: int = 2, expect: int = 200) -> dict:
    """`threads` keep-alive clients (one http.client connection each, reconnecting when the server
    closes) send GETs rotating over `items` ((path, headers)), for `seconds` or `total` requests."""
    deadline = time.perf_counter() + seconds if seconds is not None else None
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[list] = [[] for _ in range(threads)]
    sizes: list[int] = [0] * threads

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        own = latencies[slot]
        n = slot
        while True:
            if total is not None and n >= total:
                break
            start = time.perf_counter()
            if deadline is not None and (start >= deadline or len(own) >= MAX_SAMPLES // threads):
                break
            path, headers = items[n % len(items)]
            n += threads
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                errors[slot].append((path, repr(exc)))
                conn.close()
                continue
            own.append(time.perf_counter() - start)
            sizes[slot] += len(body)
            if resp.status != expect:
                errors[slot].append((path, resp.status, body[:200]))
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
        conn.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    flat = [x for part in latencies for x in part]
    errs = [e for part in errors for e in part]
    return {"samples": flat, "seconds": elapsed, "errors": len(errs), "error_samples": [str(e)[:300] for e in errs[:5]],
            "bytes": sum(sizes)}


def measured(port: int, items, database: str, app_pids: list[int], **kwargs) -> dict:
    """http_run with the server's CPU (gunicorn workers + every app-role backend of the database;
    a gthread worker thread opens its connection on its first request, so count new ones whole)."""
    from .bench_api_list import backend_pids, cpu_seconds

    db_before = {pid: cpu_seconds([pid]) for pid in backend_pids(database)}
    app0 = cpu_seconds(app_pids)
    load0 = os.getloadavg()
    res = http_run(port, items, **kwargs)
    db_used = sum(cpu_seconds([pid]) - db_before.get(pid, 0.0) for pid in backend_pids(database))
    app_used = cpu_seconds(app_pids) - app0
    n = max(1, len(res["samples"]))
    res.update(cpu_app_s=app_used, cpu_db_s=db_used, cpu_app_ms_per_req=app_used / n * 1e3,
               cpu_db_ms_per_req=db_used / n * 1e3, loadavg=(load0, os.getloadavg()))
    return res


def pooled(slices: list[dict]) -> dict:
    samples = [x for s in slices for x in s["samples"]]
    seconds = sum(s["seconds"] for s in slices)
    n = max(1, len(samples))
    app = sum(s["cpu_app_s"] for s in slices)
    db = sum(s["cpu_db_s"] for s in slices)
    return {**summary(samples), "rps": len(samples) / seconds if seconds else 0.0, "seconds": seconds,
            "errors": sum(s["errors"] for s in slices),
            "error_samples": [e for s in slices for e in s["error_samples"]][:5],
            "bytes_per_req": sum(s["bytes"] for s in slices) / n,
            "cpu_app_ms_per_req": app / n * 1e3, "cpu_db_ms_per_req": db / n * 1e3,
            "slices": [{"rps": len(s["samples"]) / s["seconds"], **{k: v for k, v in summary(s["samples"]).items()
                                                                   if k in ("n", "p50_ms", "p99_ms")},
                        "loadavg": s["loadavg"][0][0]} for s in slices]}


def probe(port: int, path: str, headers: dict) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def line(name: str, r: dict, note: str = "") -> str:
    return (f"  {name:<20} {r['n']:>6} req {r['rps']:7.1f}/s  p50 {r['p50_ms']:6.2f}  p95 {r['p95_ms']:6.2f}  "
            f"p99 {r['p99_ms']:6.2f}  max {r['max_ms']:7.2f} ms  errors {r['errors']}  CPU/req "
            f"{r['cpu_app_ms_per_req']:.2f}+{r['cpu_db_ms_per_req']:.2f} ms  {note}").rstrip()


# --- in process -----------------------------------------------------------------------------------

def in_process(fx: dict, paths: dict[str, list[tuple[str, dict]]], requests: int) -> dict:
    """Each endpoint through django.test.Client: SQL of one request, then `requests` timed requests
    split into SQL, template rendering and the rest (bench_customers.PieceTimer)."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from .bench_customers import PieceTimer

    out = {}
    for name, items in paths.items():
        clients = []
        for path, agent in items:
            client = Client(HTTP_HOST="127.0.0.1")
            extra = {}
            if path.startswith("/api/"):
                extra["HTTP_AUTHORIZATION"] = f"Token {agent['token']}"
            elif agent is not None:
                client.cookies[settings.SESSION_COOKIE_NAME] = agent["session_key"]
            clients.append((client, path, extra))
        client, path, extra = clients[0]
        first = client.get(path, **extra)
        if first.status_code != 200:
            out[name] = {"status": first.status_code, "body": first.content[:300].decode(errors="replace")}
            continue
        for c, p, e in clients[1:4]:
            c.get(p, **e)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, **extra)
        queries = [q["sql"] for q in captured.captured_queries]
        times, sql, render, cpu = [], [], [], []
        timer = PieceTimer()
        errors = []
        with timer, connection.execute_wrapper(timer.sql_wrapper):
            for n in range(requests):
                c, p, e = clients[n % len(clients)]
                timer.sql = timer.render = 0.0
                cpu0 = time.process_time()
                start = time.perf_counter()
                r = c.get(p, **e)
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - cpu0)
                sql.append(timer.sql)
                render.append(timer.render)
                if r.status_code != 200:
                    errors.append((p, r.status_code))
        rest = [t - q - r for t, q, r in zip(times, sql, render, strict=True)]
        info = {"status": 200, "bytes": len(response.content), "queries": queries, "query_count": len(queries),
                "query_ms": sum(float(q["time"]) for q in captured.captured_queries) * 1e3,
                "time": summary(times), "sql": summary(sql), "render": summary(render), "rest": summary(rest),
                "cpu": summary(cpu), "errors": errors[:5]}
        if path.startswith("/api/"):
            try:
                body = json.loads(response.content)
                rows = body.get("results", body) if isinstance(body, dict) else body
                info["items"] = len(rows) if isinstance(rows, list) else None
            except ValueError:
                info["items"] = None
        out[name] = info
    return out


def explain_selects(tenant, user, captured: dict[str, list[str]]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of every SELECT, as the application role in the tenant scope, each
    in a rolled-back savepoint."""
    from django.db import connection

    from tenancy.scoping import tenant_scope

    text = []
    with tenant_scope(tenant, user=user):
        for name, queries in captured.items():
            for n, sql in enumerate(queries, 1):
                if not sql.lstrip().upper().startswith(("SELECT", "WITH")) or "set_config" in sql:
                    continue
                with connection.cursor() as cursor:
                    cursor.execute("SAVEPOINT bench_explain")
                    try:
                        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                        plan = "\n".join(row[0] for row in cursor.fetchall())
                    except Exception as exc:  # noqa: BLE001 — report and go on
                        plan = f"(not explainable: {exc})"
                    cursor.execute("ROLLBACK TO SAVEPOINT bench_explain")
                text.append(f"### {name} — query {n}\n{sql}\n\n{plan}\n")
    return text


def sweep(tenant, runs: int) -> tuple[dict, list[str]]:
    """sla_sweep() in the tenant scope, each run rolled back."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from tenancy.scoping import tenant_scope

    try:
        from tickets.services.sla import sla_sweep
    except ImportError as exc:
        return {"pending": f"tickets.services.sla.sla_sweep not importable: {exc}"}, []
    with tenant_scope(tenant), connection.cursor() as cur:
        cur.execute(
            """SELECT count(*),
                      count(*) FILTER (WHERE NOT resolution_breached AND resolution_due < now()),
                      count(*) FILTER (WHERE NOT resolution_warned AND resolution_warn_at < now()),
                      count(*) FILTER (WHERE first_responded_at IS NULL AND NOT first_response_breached
                                         AND first_response_due < now())
               FROM tickets_ticket WHERE tenant_id = %s AND status NOT IN ('resolved', 'closed')""", [tenant.pk])
        open_count, due, warn, first_due = cur.fetchone()
    results = []
    selects: list[str] = []
    for n in range(1, runs + 1):
        load0 = os.getloadavg()
        with CaptureQueriesContext(connection) as captured:
            cpu0 = time.process_time()
            start = time.perf_counter()
            with tenant_scope(tenant):
                with connection.cursor() as cur:
                    cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
                result = sla_sweep()
                wall = time.perf_counter() - start
                transaction.set_rollback(True)
            cpu = time.process_time() - cpu0
        queries = [{"sql": " ".join(q["sql"].split())[:300], "ms": float(q["time"]) * 1e3}
                   for q in captured.captured_queries]
        results.append({"run": n, "seconds": wall, "python_cpu_s": cpu, "result": repr(result)[:500],
                        "queries": len(queries), "sql_ms": sum(q["ms"] for q in queries),
                        "slowest": sorted(queries, key=lambda q: -q["ms"])[:8], "loadavg": load0})
        print(f"  run {n}: {wall:.2f} s (Python CPU {cpu:.2f} s), {len(queries)} statements "
              f"({sum(q['ms'] for q in queries) / 1e3:.2f} s in SQL); result {repr(result)[:160]}; "
              f"{verdict(wall <= TARGET_SWEEP_S)} (≤ {TARGET_SWEEP_S:g} s); load {load0[0]:.2f}", flush=True)
        for q in results[-1]["slowest"][:4]:
            print(f"      {q['ms']:9.1f} ms  {q['sql'][:120]}")
        if n == runs:
            selects = [q["sql"] for q in captured.captured_queries
                       if q["sql"].lstrip().upper().startswith(("SELECT", "WITH")) and "set_config" not in q["sql"]]
    best = min(r["seconds"] for r in results)
    return {"open": open_count, "past_due_unflagged": due, "past_warn_unflagged": warn,
            "first_response_due_unflagged": first_due, "runs": results, "best_s": best,
            "met": best <= TARGET_SWEEP_S and open_count >= 100_000}, selects


# --- main -----------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--tenant", default=TENANT_CODE)
    parser.add_argument("--agents", type=int, default=20, help="agents the requests rotate over")
    parser.add_argument("--seconds", type=float, default=30, help="measured seconds per endpoint (queue API vs ping)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating slices the seconds are split into")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up requests per HTTP measurement")
    parser.add_argument("--requests", type=int, default=1500, help="measured requests per page")
    parser.add_argument("--typical", type=int, default=200, help="typical tickets for the comparison page")
    parser.add_argument("--in-process-requests", type=int, default=50)
    parser.add_argument("--sweep-runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4, choices=[1, 2, 4], help="gunicorn --threads")
    parser.add_argument("--only", default="", help="comma-separated: queue_api,queue_page,ticket_page,sweep")
    parser.add_argument("--skip-http", action="store_true", help="in-process measurements and the sweep only")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                        help="before each measurement wait up to SECONDS for the 1-min load average to drop below 0.7")
    args = parser.parse_args()
    if not (1 <= args.agents <= 200 and 0 < args.seconds <= 600 and 1 <= args.rounds <= 10
            and args.seconds / args.rounds >= 1 and args.requests >= 1 and args.sweep_runs >= 1):
        parser.error("--agents in [1, 200], --seconds in (0, 600], --rounds in [1, 10] with ≥ 1 s per slice")
    only = set(filter(None, args.only.split(","))) or {"queue_api", "queue_page", "ticket_page", "sweep"}

    from .generate_customers import setup_django

    env = setup_django(args.db, settings_module="benchmarks.bench_settings", conn_max_age=600)
    _env.OUT.mkdir(parents=True, exist_ok=True)
    from django.db import connection

    from tenancy.models import Tenant

    from .bench_api_list import child_pids, stop_gunicorn, tree_state

    tenant = Tenant.objects.filter(code=args.tenant).first()
    if tenant is None:
        sys.exit(f"no tenant {args.tenant}: run python -m benchmarks.generate_tickets first")
    fx = fixtures(tenant, args.db, args.agents)
    sets = ticket_sets(tenant, fx, _env.OUT / "generate_tickets.json", args.seed, args.typical)
    agent_of = {a["membership_id"]: a for a in fx["agents"]}
    report: dict = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": _env.machine(),
                    "tree": tree_state(), "database": args.db, "tenant_id": tenant.pk, "args": vars(args),
                    "loadavg_start": os.getloadavg()}
    with connection.cursor() as cur:
        cur.execute("SELECT relname, n_live_tup FROM pg_stat_user_tables WHERE relname IN "
                    "('tickets_ticket', 'tickets_ticketevent') ORDER BY 1")
        report["table_rows"] = dict(cur.fetchall())
    connection.close()
    print(f"bench_tickets  {report['date']}  {report['machine']}\ntree: {report['tree']}")
    print(f"rows: {report['table_rows']}; open tickets of {args.tenant}: {sets['open']:,}; long tickets "
          f"{[(pk, n) for pk, _a, n in sets['long']]}; {len(sets['typical'])} typical tickets; "
          f"{args.agents} agents; load {load()}", flush=True)
    if any(n != 200 for _pk, _a, n in sets["long"]) or not sets["long"]:
        print("WARNING: the long tickets do not all have 200 events (regenerate, or other writes happened)")

    # what each measurement requests: [(path, agent)]
    agents = fx["agents"]
    targets: dict[str, list[tuple[str, dict | None]]] = {}
    if "queue_api" in only:
        targets["queue_api"] = [(QUEUE_API.format(view="mine"), a) for a in agents]
        targets["queue_api_counts"] = [(QUEUE_API.format(view="mine") + "&counts=true", a) for a in agents]
        targets["queue_api_team"] = [(QUEUE_API.format(view="team"), a) for a in agents]
    if "queue_page" in only:
        targets["queue_page"] = [(QUEUE_PAGE, a) for a in agents]
    if "ticket_page" in only:
        targets["ticket_page_200"] = [(TICKET_PAGE.format(pk=pk), agent_of[m]) for pk, m, _n in sets["long"]]
        targets["ticket_page_typical"] = [(TICKET_PAGE.format(pk=pk), agent_of[m]) for pk, m in sets["typical"]]
    targets = {k: v for k, v in targets.items() if v}

    # in process: query counts, time split, EXPLAIN
    explains: list[str] = []
    if targets:
        print(f"\n[in process: django.test.Client, {args.in_process_requests} requests each; load {load()}]",
              flush=True)
        ping_q = in_process(fx, {"ping": [(PING, None)]}, 20)
        ip = in_process(fx, targets, args.in_process_requests)
        ip["ping"] = ping_q["ping"]
        captured = {}
        for name, res in ip.items():
            if res.get("status") != 200:
                print(f"  {name:<20} status {res.get('status')}: pending (not built yet?) {res.get('body', '')[:80]!r}")
                continue
            captured[name] = res["queries"]
            print(f"  {name:<20} {res['query_count']:>3} queries ({res['query_ms']:.1f} ms)  "
                  f"p50 {res['time']['p50_ms']:6.2f} ms = SQL {res['sql']['p50_ms']:.2f} + render "
                  f"{res['render']['p50_ms']:.2f} + rest {res['rest']['p50_ms']:.2f}; "
                  f"CPU {res['cpu']['p50_ms']:.2f} ms; {res['bytes']:,} bytes"
                  + (f"; {res['items']} items" if res.get("items") is not None else ""), flush=True)
        report["in_process"] = {k: {x: v.get(x) for x in ("status", "bytes", "query_count", "query_ms", "queries",
                                                          "time", "sql", "render", "rest", "cpu", "items", "errors",
                                                          "body")}
                                for k, v in ip.items()}
        explains += ["## in process: every SELECT of one request\n"]
        explains += explain_selects(tenant, fx["user"], {k: v for k, v in captured.items() if k != "ping"})
        connection.close()

    # over HTTP
    pending = [k for k, v in report.get("in_process", {}).items() if v.get("status") == 404]
    http_targets = {k: v for k, v in targets.items() if k not in pending}
    if http_targets and not args.skip_http:
        port = _env.free_port()
        proc = start_server(env, args.threads, port)
        report["http"] = {}
        try:
            wait_up(proc, port)
            app_pids = child_pids(proc.pid)

            def items_of(name):
                out = []
                for path, agent in targets[name]:
                    if path.startswith("/api/"):
                        out.append((path, {"Authorization": f"Token {agent['token']}", "Accept": "application/json"}))
                    else:
                        out.append((path, {"Cookie": agent["cookie"]}))
                return out

            ping_items = [(PING, {"Accept": "application/json"})]
            for name in ("queue_api", "queue_api_counts", "queue_api_team"):
                if name not in http_targets:
                    continue
                status, body = probe(port, *items_of(name)[0])
                if status != 200:
                    print(f"\n[{name}] HTTP {status}: skipped {body[:120]!r}")
                    report["http"][name] = {"skipped": status}
                    continue
                print(f"\n[{name} vs ping: gunicorn -w 2 --threads {args.threads}, 2 keep-alive clients, "
                      f"{args.seconds:g} s each in {args.rounds} alternating slices; load {load()}]", flush=True)
                http_run(port, ping_items, total=args.warmup)
                http_run(port, items_of(name), total=args.warmup)
                _env.wait_for_quiet(args.wait_idle)
                slices: dict[str, list] = {"ping": [], name: []}
                for r in range(args.rounds):
                    for which in (("ping", name) if r % 2 == 0 else (name, "ping")):
                        items = ping_items if which == "ping" else items_of(name)
                        slices[which].append(measured(port, items, args.db, app_pids,
                                                      seconds=args.seconds / args.rounds))
                ping_res, queue_res = pooled(slices["ping"]), pooled(slices[name])
                ratio = queue_res["rps"] / ping_res["rps"]
                print(line("ping", ping_res))
                note = ""
                if name == "queue_api":
                    note = (f"p99 ≤ {TARGET_QUEUE_P99_MS:g} ms: {verdict(queue_res['p99_ms'] <= TARGET_QUEUE_P99_MS)}")
                print(line(name, queue_res, note))
                for which, res in (("ping", ping_res), (name, queue_res)):
                    print(f"    {which} slices: req/s " + ", ".join(f"{s['rps']:.0f}" for s in res["slices"])
                          + "; p99 ms " + ", ".join(f"{s['p99_ms']:.2f}" for s in res["slices"]))
                print(f"  {name} req/s ÷ ping req/s = {ratio:.1%}" + (
                    f" — target ≥ {TARGET_RATIO:.0%}: {verdict(ratio >= TARGET_RATIO)}" if name == "queue_api" else ""),
                    flush=True)
                report["http"][name] = {"ping": ping_res, "endpoint": queue_res, "ratio": ratio}

            page_targets = {"queue_page": TARGET_QUEUE_PAGE_P95_MS, "ticket_page_200": TARGET_TICKET_PAGE_P95_MS,
                            "ticket_page_typical": None}
            for name, limit in page_targets.items():
                if name not in http_targets:
                    continue
                items = items_of(name)
                status, body = probe(port, *items[0])
                if status != 200:
                    print(f"\n[{name}] HTTP {status}: skipped {body[:120]!r}")
                    report["http"][name] = {"skipped": status}
                    continue
                if name == "queue_page":
                    print(f"\n[pages: gunicorn -w 2 --threads {args.threads}, 2 keep-alive clients, {args.warmup} "
                          f"warm-up + {args.requests} requests each]", flush=True)
                http_run(port, items, total=args.warmup)
                _env.wait_for_quiet(args.wait_idle)
                res = pooled([measured(port, items, args.db, app_pids, total=args.requests)])
                note = f"p95 ≤ {limit:g} ms: {verdict(res['p95_ms'] <= limit)}" if limit else ""
                print(line(name, res, note) + f"  load {res['slices'][0]['loadavg']:.2f}", flush=True)
                report["http"][name] = res
        finally:
            stop_gunicorn(proc)
        for res in report["http"].values():  # samples are summarised; keep the JSON small
            for part in ([res] if "slices" in res else [res.get("ping", {}), res.get("endpoint", {})]):
                part.pop("samples", None)

    # SLA sweep
    if "sweep" in only:
        _env.wait_for_quiet(args.wait_idle)
        print(f"\n[SLA sweep: in process, application role, tenant scope, rolled back; load {load()}]", flush=True)
        res, selects = sweep(tenant, args.sweep_runs)
        if "pending" in res:
            print(f"  pending: {res['pending']}")
        else:
            print(f"  open tickets {res['open']:,}; unflagged past resolution due {res['past_due_unflagged']:,}, past "
                  f"resolution warning {res['past_warn_unflagged']:,}, past first-response due "
                  f"{res['first_response_due_unflagged']:,}; best {res['best_s']:.2f} s → "
                  f"{verdict(res['met'])} (≤ {TARGET_SWEEP_S:g} s, ≥ 100k open)")
            explains.append("## sla_sweep (last run's SELECTs)\n")
            explains += explain_selects(tenant, None, {"sla_sweep": selects})
        report["sweep"] = res

    report["loadavg_end"] = os.getloadavg()
    (_env.OUT / "bench_tickets_explain.txt").write_text("\n".join(explains))
    out = _env.OUT / "bench_tickets.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    print(f"\nload average at start {report['loadavg_start'][0]:.2f}, at end {report['loadavg_end'][0]:.2f}\n"
          f"written {out.relative_to(_env.BASE_DIR)}, bench_tickets_explain.txt")


if __name__ == "__main__":
    main()
