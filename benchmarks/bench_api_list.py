"""Scoped API list against a bare Django view over the same rows, served by gunicorn.

    .venv/bin/python -m benchmarks.bench_api_list [--seconds 15] [--client both|python|wrk]

1. Ensures tenant `bench-api` in the benchmark database: 300 branches (HQ → 9 regions →
   290 branches), 580 staff memberships on the branches (every 10th inactive), one tenant_admin
   membership and an API token (the raw key is kept in benchmarks/out/, git-ignored).
2. In-process (django.test.Client): checks both endpoints return the same 50 rows, lists the
   SQL of one scoped request (CaptureQueriesContext) and times both endpoints without HTTP.
3. Starts gunicorn as deployed (2 sync workers, 1 thread, DEBUG off, persistent DB
   connections) with benchmarks.bench_settings on a free 127.0.0.1 port, warms up, then drives
   each endpoint for `--seconds` with 2 keep-alive clients (Python http.client threads and/or
   wrk), and stops gunicorn.
Writes benchmarks/out/bench_api_list.json (and .profile.txt with --profile).
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from . import _env

TENANT_CODE = "bench-api"
REGIONS = 9
LEAF_BRANCHES = 290  # + HQ + regions = 300 branches
STAFF_PER_BRANCH = 2
PAGE_SIZE = 50
SCOPED_PATH = f"/api/v1/branches/?page_size={PAGE_SIZE}"
ADMIN_USERNAME = "bench-api-admin"
MAX_REQUESTS_PER_RUN = 500_000
ANALYZE_TABLES = ("tenancy_tenant", "tenancy_branch", "tenancy_membership", "tenancy_user",
                  "tenancy_apitoken")
PLACES = [("广东", "深圳"), ("广东", "广州"), ("上海", "上海"), ("浙江", "杭州"), ("江苏", "南京"),
          ("北京", "北京"), ("四川", "成都"), ("湖北", "武汉"), ("陕西", "西安")]


# --- data ------------------------------------------------------------------------------------

def populate(tenant) -> None:
    """Idempotent: the branch tree and staff are created once per database."""
    from django.contrib.auth.hashers import make_password

    from tenancy.fields import allocate_ids
    from tenancy.models import Branch, BranchKind, Membership, User

    hq = Branch.objects.get(kind=BranchKind.HQ)
    if Branch.objects.count() < 1 + REGIONS + LEAF_BRANCHES:
        region_ids = allocate_ids(Branch, REGIONS)
        regions = [
            Branch(pk=pk, code=f"R{n + 1:02d}", name=f"{PLACES[n][0]}大区", kind=BranchKind.REGION,
                   parent=hq, path=f"{hq.path}{pk}/", province=PLACES[n][0], city=PLACES[n][1])
            for n, pk in enumerate(region_ids)
        ]
        Branch.objects.bulk_create(regions)
        leaf_ids = allocate_ids(Branch, LEAF_BRANCHES)
        leaves = []
        for n, pk in enumerate(leaf_ids):
            region = regions[n % REGIONS]
            leaves.append(Branch(
                pk=pk, code=f"B{n + 1:03d}", name=f"{region.city}第{n + 1}网点", kind=BranchKind.BRANCH,
                parent=region, path=f"{region.path}{pk}/", province=region.province, city=region.city,
                is_active=n % 29 != 0,
            ))
        Branch.objects.bulk_create(leaves)
    if Membership.objects.count() < LEAF_BRANCHES * STAFF_PER_BRANCH:
        leaves = list(Branch.objects.filter(kind=BranchKind.BRANCH).order_by("id"))
        unusable = make_password(None)
        users = User.objects.bulk_create([
            User(username=f"{TENANT_CODE}-u{n:04d}", display_name=f"员工{n:04d}", password=unusable,
                 home_tenant=tenant, last_active_tenant=tenant)
            for n in range(len(leaves) * STAFF_PER_BRANCH)
        ])
        Membership.objects.bulk_create([
            Membership(user=user, role="agent", branch=leaves[n // STAFF_PER_BRANCH], is_active=n % 10 != 0)
            for n, user in enumerate(users)
        ])
    admin = User.objects.filter(username=ADMIN_USERNAME).first()
    if admin is None:
        admin = User.objects.create_user(ADMIN_USERNAME, None, display_name="Bench admin",
                                         home_tenant=tenant, last_active_tenant=tenant)
    if not Membership.objects.filter(user=admin).exists():
        Membership(user=admin, role="tenant_admin", branch=hq, title="Benchmark").save()


def resolvers() -> tuple[str, Callable, Callable]:
    """How this tree's TenantScopeMiddleware turns a token into (token, memberships): the cached
    lookups of tenancy.authz_cache when the module exists, else the service and the ORM query."""
    try:
        from tenancy.authz_cache import memberships_of, token_lookup
    except ImportError:
        from django.db import transaction

        from tenancy.models import Membership
        from tenancy.scoping import ScopeState, activated
        from tenancy.services import api_token_authenticate

        def memberships(user):
            with transaction.atomic(), activated(ScopeState(user_id=user.pk)):
                return list(Membership.of_user.filter(is_active=True, tenant__is_active=True)
                            .select_related("tenant").order_by("tenant_id"))

        how = "services.api_token_authenticate + Membership.of_user query"
        return how, api_token_authenticate, memberships
    return "tenancy.authz_cache (Redis, warm)", token_lookup, memberships_of


def tree_state() -> str:
    """The commit measured, and whether project files had uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=_env.BASE_DIR, text=True,
                              capture_output=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", ".", ":!benchmarks", ":!docs"],
                               cwd=_env.BASE_DIR, text=True, capture_output=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    changed = [line[3:] for line in dirty.splitlines()]
    return head + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")


def api_key(tenant, database: str) -> str:
    """A working token key for the admin (reused between runs, created via the service)."""
    from tenancy.models import User
    from tenancy.services import api_token_create

    path = _env.OUT / f"bench_api_token_{database}.txt"
    if path.exists():
        raw = path.read_text().strip()
        token = resolvers()[1](raw)
        if token is not None and token.tenant_id == tenant.pk and token.user.username == ADMIN_USERNAME:
            return raw
    _, raw = api_token_create(actor=User.objects.get(username=ADMIN_USERNAME), name="benchmark")
    path.write_text(raw)
    path.chmod(0o600)
    return raw


# --- in-process: rows, queries, time ----------------------------------------------------------

def in_process(key: str, bare_path: str, requests: int, profile: Path | None) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}

    def scoped():
        return client.get(SCOPED_PATH, **auth)

    def bare():
        return client.get(bare_path)

    for _ in range(3):  # warm: URL resolver, permissions cache, token last_used_at
        scoped_resp, bare_resp = scoped(), bare()
    assert scoped_resp.status_code == 200, scoped_resp.content[:300]
    assert bare_resp.status_code == 200, bare_resp.content[:300]
    scoped_rows = scoped_resp.json()["results"]
    bare_rows = bare_resp.json()["results"]
    assert len(scoped_rows) == PAGE_SIZE and scoped_rows == bare_rows, "the two endpoints differ"

    with CaptureQueriesContext(connection) as scoped_q:
        scoped()
    with CaptureQueriesContext(connection) as bare_q:
        bare()
    # captured_queries reads the connection's log lazily: copy before the next request resets it.
    queries = {"scoped": [q["sql"] for q in scoped_q.captured_queries],
               "bare": [q["sql"] for q in bare_q.captured_queries]}

    timings = {}
    for name, call in (("bare", bare), ("scoped", scoped)):
        samples = []
        for _ in range(requests):
            start = time.perf_counter()
            call()
            samples.append(time.perf_counter() - start)
        timings[name] = {"mean_ms": statistics.fmean(samples) * 1e3,
                         "p50_ms": statistics.median(samples) * 1e3}

    if profile is not None:
        import cProfile
        import io
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        for _ in range(requests):
            scoped()
        prof.disable()
        text = io.StringIO()
        stats = pstats.Stats(prof, stream=text).sort_stats("cumulative")
        stats.print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        profile.write_text(text.getvalue())

    return {
        "rows_identical": True,
        "response_bytes": {"scoped": len(scoped_resp.content), "bare": len(bare_resp.content)},
        "queries": queries,
        "in_process": timings,
    }


def breakdown(key: str, tenant_id: int, repeat: int) -> dict:
    """Mean ms of the pieces of one scoped request (no HTTP, no profiler). The view's own list()
    runs with timers on its DRF hooks and on SQL execution, so the split follows whatever the
    view does; token and membership resolution are timed alone."""
    from django.db import connection, transaction
    from rest_framework.renderers import JSONRenderer
    from rest_framework.test import APIRequestFactory

    from benchmarks.bench_urls import BARE_SQL
    from tenancy.api.views import BranchViewSet
    from tenancy.scoping import ScopeState, activated

    how, lookup_token, memberships = resolvers()
    token = lookup_token(key)
    user = token.user

    def timed(body) -> float:
        body()
        start = time.perf_counter()
        for _ in range(repeat):
            body()
        return (time.perf_counter() - start) / repeat * 1e3

    def empty_transaction():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    result = {
        f"token lookup [{how}]": timed(lambda: lookup_token(key)),
        "membership lookup [same]": timed(lambda: memberships(user)),
        "empty transaction (BEGIN; SELECT 1; COMMIT)": timed(empty_transaction),
    }
    membership = next(m for m in memberships(user) if m.tenant_id == tenant_id)
    user._crm_active_membership = membership
    state = ScopeState(tenant_id=tenant_id, user_id=user.pk, membership_id=membership.pk)
    factory = APIRequestFactory(HTTP_HOST="127.0.0.1")
    hooks = ("get_queryset", "filter_queryset", "paginate_queryset", "get_serializer",
             "get_paginated_response")
    spent = dict.fromkeys((*hooks, "sql", "list"), 0.0)

    def timer(name, fn):
        def inner(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start
        return inner

    def sql_timer(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent["sql"] += time.perf_counter() - start

    def make_view() -> BranchViewSet:
        view = BranchViewSet(action="list", format_kwarg=None, kwargs={}, args=(),
                             action_map={"get": "list"})
        view.request = view.initialize_request(factory.get(SCOPED_PATH))
        return view

    with transaction.atomic(), activated(state):
        def set_scope():
            with activated(state):
                pass

        def raw_rows():
            with connection.cursor() as cursor:
                cursor.execute(BARE_SQL, [tenant_id, PAGE_SIZE])
                return cursor.fetchall()

        result["set tenant scope (set_config)"] = timed(set_scope)
        response = make_view().list(make_view().request)  # warm
        with connection.execute_wrapper(sql_timer):
            for _ in range(repeat):
                view = make_view()
                for name in hooks:
                    setattr(view, name, timer(name, getattr(view, name)))
                start = time.perf_counter()
                response = view.list(view.request)
                spent["list"] += time.perf_counter() - start
        ms = {name: value / repeat * 1e3 for name, value in spent.items()}
        result.update({
            "DRF view list() (filters, pagination, SQL, rows; no render)": ms["list"],
            "  queryset from the selector (view.get_queryset), no SQL": ms["get_queryset"],
            "  filter backends (view.filter_queryset), no SQL": ms["filter_queryset"],
            "  page query (view.paginate_queryset) except SQL execution": ms["paginate_queryset"] - ms["sql"],
            "  SQL execution of the page query (round trip included)": ms["sql"],
            "  serializer construction (view.get_serializer)": ms["get_serializer"],
            "  the rest of list(): serializer .data or .values(), Response": ms["list"] - sum(
                ms[name] for name in hooks),
            "JSONRenderer().render(response.data)": timed(lambda: JSONRenderer().render(response.data)),
            "bare view's raw SQL incl. fetch (for comparison)": timed(raw_rows),
        })
    return result


# --- load ------------------------------------------------------------------------------------

def python_load(port: int, path: str, headers: dict, seconds: float, threads: int = 2) -> dict:
    """`threads` clients, one http.client connection each (reconnecting when the server closes)."""
    deadline = time.perf_counter() + seconds
    per_thread_cap = MAX_REQUESTS_PER_RUN // threads
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        own = latencies[slot]
        try:
            while len(own) < per_thread_cap:
                start = time.perf_counter()
                if start >= deadline:
                    break
                try:
                    conn.request("GET", path, headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                except (OSError, http.client.HTTPException):
                    errors[slot] += 1
                    conn.close()
                    continue
                own.append(time.perf_counter() - start)
                if resp.status != 200:
                    errors[slot] += 1
        finally:
            conn.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    samples = [x for own in latencies for x in own]
    if not samples:
        raise RuntimeError(f"no successful request to {path}")
    return {"samples": samples, "errors": sum(errors), "seconds": elapsed}


def python_summary(slices: list[dict]) -> dict:
    """Exact pooled figures over the slices of one endpoint."""
    samples = sorted(x for part in slices for x in part["samples"])
    seconds = sum(part["seconds"] for part in slices)

    def pct(p: float) -> float:
        return samples[min(len(samples) - 1, int(p / 100 * len(samples)))] * 1e3

    return {"requests": len(samples), "errors": sum(part["errors"] for part in slices),
            "seconds": seconds, "rps": len(samples) / seconds, "p50_ms": pct(50), "p95_ms": pct(95),
            "p99_ms": pct(99), "mean_ms": statistics.fmean(samples) * 1e3,
            **server_cpu(slices, len(samples))}


def wrk_summary(slices: list[dict]) -> dict:
    """wrk gives percentiles per run only: req/s and mean are pooled, percentiles are the median
    of the slices' percentiles."""
    requests = sum(part["requests"] for part in slices)
    seconds = sum(part["seconds"] for part in slices)
    return {"requests": requests, "errors": sum(part["errors"] for part in slices), "seconds": seconds,
            "rps": requests / seconds,
            **{key: statistics.median(part[key] for part in slices)
               for key in ("p50_ms", "p95_ms", "p99_ms")},
            "mean_ms": sum(part["mean_ms"] * part["requests"] for part in slices) / requests,
            **server_cpu(slices, requests)}


def server_cpu(slices: list[dict], requests: int) -> dict:
    """CPU ms per request spent by the gunicorn workers and their PostgreSQL backends: unlike
    latency, barely moved by other work on the machine."""
    app = sum(part["cpu_app_s"] for part in slices)
    db = sum(part["cpu_db_s"] for part in slices)
    return {"cpu_app_ms_per_req": app / requests * 1e3, "cpu_db_ms_per_req": db / requests * 1e3,
            "cpu_ms_per_req": (app + db) / requests * 1e3}


WRK_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50":%d,"p95":%d,"p99":%d,"mean":%f,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def wrk_load(port: int, path: str, headers: dict, seconds: float) -> dict:
    script = _env.OUT / "bench_api_list.lua"
    script.write_text(WRK_LUA)
    cmd = ["wrk", "-t2", "-c2", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script)]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    raw = json.loads(line[len("WRKJSON "):])
    secs = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
    return {"requests": raw["requests"], "errors": errors, "seconds": secs,
            "rps": raw["requests"] / secs, "p50_ms": raw["p50"] / 1e3, "p95_ms": raw["p95"] / 1e3,
            "p99_ms": raw["p99"] / 1e3, "mean_ms": raw["mean"] / 1e3}


def unanalyzed_tables() -> list[str]:
    """Benchmark tables PostgreSQL has no statistics for (autovacuum off, no ANALYZE yet)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%s) "
            "AND last_analyze IS NULL AND last_autoanalyze IS NULL ORDER BY relname",
            [list(ANALYZE_TABLES)])
        return [row[0] for row in cursor.fetchall()]


def start_gunicorn(env: dict, port: int, log: Path, threads: int) -> subprocess.Popen:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    handle = log.open("w")
    # --no-control-socket: gunicorn 23+ otherwise opens ~/.gunicorn/gunicorn.ctl, shared with any
    # other gunicorn of the same user; it plays no part in serving requests.
    proc = subprocess.Popen(
        [str(gunicorn), "courier_crm.wsgi:application", "-w", "2", "--threads", str(threads),
         "-b", f"127.0.0.1:{port}", "--no-control-socket"],
        env=env, cwd=_env.BASE_DIR, stdout=handle, stderr=subprocess.STDOUT,
    )
    handle.close()
    return proc


def wait_ready(proc: subprocess.Popen, port: int, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited; see benchmarks/out/gunicorn.log")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 30 s; see benchmarks/out/gunicorn.log")


def stop_gunicorn(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def ratios(scoped: dict, bare: dict) -> dict:
    return {
        "p50": scoped["p50_ms"] / bare["p50_ms"], "p95": scoped["p95_ms"] / bare["p95_ms"],
        "p99": scoped["p99_ms"] / bare["p99_ms"], "mean": scoped["mean_ms"] / bare["mean_ms"],
        "rps": bare["rps"] / scoped["rps"], "cpu": scoped["cpu_ms_per_req"] / bare["cpu_ms_per_req"],
    }


def child_pids(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                pids.append(int(entry.name))
    return pids


def backend_pids(database: str) -> list[int]:
    """PostgreSQL backends of the app role on the benchmark database (the gunicorn workers')."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND usename = %s "
                       "AND pid <> pg_backend_pid()", [database, _env.APP_ROLE])
        pids = [row[0] for row in cursor.fetchall()]
    connection.close()
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """user + system CPU seconds of the processes (0 for one that is gone)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


# --- main ------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=_env.DEFAULT_DB)
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per endpoint")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating slices the measured seconds are split into")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per endpoint")
    parser.add_argument("--client", choices=["both", "python", "wrk"], default="both",
                        help="load driver(s); wrk is skipped when it is not installed")
    parser.add_argument("--in-process-requests", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="cProfile the in-process scoped requests")
    parser.add_argument("--threads", type=int, default=1, choices=[1, 2, 4],
                        help="gunicorn --threads (1 = sync worker, the default here)")
    parser.add_argument("--setup-only", action="store_true", help="create the data and the token, then stop")
    parser.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                        help="first wait up to SECONDS for the 1-min load average to drop below 0.7")
    args = parser.parse_args()
    if not (0 < args.seconds <= 300 and 0 <= args.warmup <= 60 and 0 < args.in_process_requests <= 10_000
            and 1 <= args.rounds <= 10 and args.seconds / args.rounds >= 1):
        parser.error("--seconds in (0, 300], --warmup in [0, 60], --in-process-requests in (0, 10000], "
                     "--rounds in [1, 10] with at least 1 s per slice")

    env = _env.setup(args.db, settings_module="benchmarks.bench_settings", conn_max_age=600)
    _env.OUT.mkdir(parents=True, exist_ok=True)
    from django.db import connection

    with _env.tenant_with_data(TENANT_CODE, name="Benchmark API", populate=populate) as tenant:
        from tenancy.models import Branch, Membership

        counts = {"branches": Branch.objects.count(), "memberships": Membership.objects.count()}
        key = api_key(tenant, args.db)
    if args.setup_only:
        print(f"tenant {TENANT_CODE} (id {tenant.pk}): {counts}; token in benchmarks/out/")
        return
    stale = unanalyzed_tables()
    if stale:
        print(f"WARNING: no planner statistics for {', '.join(stale)} (autovacuum off?). Plans will "
              f"not match production; run as the owner once:\n  psql -h 127.0.0.1 -U {_env.OWNER_ROLE} "
              f"{args.db} -c 'ANALYZE {', '.join(ANALYZE_TABLES)}'")
    bare_path = f"/bench/bare-branches/?tenant={tenant.pk}"
    profile = _env.OUT / "bench_api_list.profile.txt" if args.profile else None
    _env.wait_for_quiet(args.wait_idle)
    report = {"date": dt.date.today().isoformat(), "machine": _env.machine(), "tree": tree_state(),
              "data": counts,
              "seconds": args.seconds, "rounds": args.rounds, "gunicorn_threads": args.threads,
              "unanalyzed_tables": stale,
              "loadavg_start": os.getloadavg()}
    report.update(in_process(key, bare_path, args.in_process_requests, profile))
    report["breakdown_ms"] = breakdown(key, tenant.pk, args.in_process_requests)
    connection.close()

    clients = ["python", "wrk"] if args.client == "both" else [args.client]
    if "wrk" in clients and shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk): Python client only")
        clients.remove("wrk")
    if not clients:
        clients = ["python"]

    port = _env.free_port()
    server_env = {**env, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    proc = start_gunicorn(server_env, port, _env.OUT / "gunicorn.log", args.threads)
    auth = {"Authorization": f"Token {key}", "Accept": "application/json"}
    endpoints = {"bare": (bare_path, {"Accept": "application/json"}), "scoped": (SCOPED_PATH, auth)}
    load: dict[str, dict] = {}
    try:
        wait_ready(proc, port, bare_path)
        if args.warmup > 0:
            for path, headers in endpoints.values():
                python_load(port, path, headers, args.warmup)
        # Each endpoint gets `seconds` in `rounds` alternating slices (bare, scoped, then scoped,
        # bare, ...), so that other work on the machine hits both about equally.
        slice_seconds = args.seconds / args.rounds
        app_pids = child_pids(proc.pid)
        report["server_processes"] = {"gunicorn_workers": len(app_pids),
                                      "db_backends": len(backend_pids(args.db))}
        for client in clients:
            run, summary = (python_load, python_summary) if client == "python" else (wrk_load, wrk_summary)
            slices: dict[str, list[dict]] = {"bare": [], "scoped": []}
            for n in range(args.rounds):
                for name in (("bare", "scoped") if n % 2 == 0 else ("scoped", "bare")):
                    path, headers = endpoints[name]
                    db_pids = backend_pids(args.db)  # a worker connects on its first request
                    app0, db0 = cpu_seconds(app_pids), cpu_seconds(db_pids)
                    part = run(port, path, headers, slice_seconds)
                    part["cpu_app_s"] = cpu_seconds(app_pids) - app0
                    part["cpu_db_s"] = cpu_seconds(db_pids) - db0
                    slices[name].append(part)
            load[client] = {name: summary(parts) for name, parts in slices.items()}
            load[client]["slices"] = {name: [summary([part]) for part in parts]
                                      for name, parts in slices.items()}
            load[client]["ratio"] = ratios(load[client]["scoped"], load[client]["bare"])
    finally:
        stop_gunicorn(proc)
    report["load"] = load
    report["loadavg_end"] = os.getloadavg()

    print(f"bench_api_list  {dt.datetime.now().isoformat(timespec='seconds')}  {report['machine']}")
    print(f"tree: {report['tree']}")
    print(f"data: {counts['branches']} branches, {counts['memberships']} memberships; "
          f"page of {PAGE_SIZE}; gunicorn -w 2 --threads {args.threads}; {args.seconds:g} s per endpoint "
          f"in {args.rounds} alternating slices")
    print("load average at start {:.2f} {:.2f} {:.2f}, at end {:.2f} {:.2f} {:.2f} (other work on the "
          "machine skews the figures)".format(*report["loadavg_start"], *report["loadavg_end"]))
    for client, res in load.items():
        print(f"\n[{client} client, 2 connections]")
        print(f"{'endpoint':<10}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}"
              f"{'requests':>10}{'errors':>8}{'CPU ms/req app+db':>19}")
        for name in ("bare", "scoped"):
            r = res[name]
            print(f"{name:<10}{r['rps']:>9.1f}{r['p50_ms']:>9.2f}{r['p95_ms']:>9.2f}{r['p99_ms']:>9.2f}"
                  f"{r['mean_ms']:>9.2f}{r['requests']:>10}{r['errors']:>8}"
                  f"{r['cpu_app_ms_per_req']:>11.2f}+{r['cpu_db_ms_per_req']:.2f}")
        for name in ("bare", "scoped"):
            print(f"  {name} slices: req/s " + ", ".join(f"{p['rps']:.0f}" for p in res["slices"][name])
                  + "; p50 ms " + ", ".join(f"{p['p50_ms']:.2f}" for p in res["slices"][name]))
        q = res["ratio"]
        verdict = "meets" if q["p50"] <= 1.3 else "misses"
        print(f"scoped/bare latency p50 {q['p50']:.2f}×  p95 {q['p95']:.2f}×  p99 {q['p99']:.2f}×  "
              f"mean {q['mean']:.2f}×; bare/scoped req/s {q['rps']:.2f}×; server CPU per request "
              f"{q['cpu']:.2f}× ({verdict} the 1.3× target)")
    ip = report["in_process"]
    print(f"\nin process (test Client, no HTTP, {args.in_process_requests} requests): "
          f"bare {ip['bare']['mean_ms']:.2f} ms, scoped {ip['scoped']['mean_ms']:.2f} ms mean")
    print("\nwhere a scoped request's time goes (each piece timed alone, in process, mean ms):")
    for name, ms in report["breakdown_ms"].items():
        print(f"  {ms:7.3f}  {name}")
    for name in ("scoped", "bare"):
        print(f"\nSQL of one {name} request ({len(report['queries'][name])} queries):")
        for n, sql in enumerate(report["queries"][name], 1):
            print(f"  {n}. {sql}")
    out = _env.OUT / "bench_api_list.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"\nwritten {out.relative_to(_env.BASE_DIR)}" + (f", {profile.relative_to(_env.BASE_DIR)}"
                                                             if profile else ""))


if __name__ == "__main__":
    main()
