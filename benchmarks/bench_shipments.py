"""Shipment benchmarks (issue 5) on the generated data (benchmarks.generate_shipments): tracking-event
ingest through the HTTP batch API against a raw COPY of the same rows, replay of an ingested batch,
the periodic exception sweep, and waybill lookup by number over HTTP.

    .venv/bin/python -m benchmarks.bench_shipments [--batches 40] [--clients 2] [--lookups 2000]
        [--wait-idle 300] [--only ingest,replay,sweep,lookup,profile]

1. Fixtures (idempotent): an integration login `bench-ingest` (tenant admin at headquarters: the role
   allowed to send tracking events) with an API token, and an agent `bench-agent` (at branch S0001)
   with an API token and a session; token keys are kept in benchmarks/out/ (git-ignored).
2. Ingest (`POST /api/v1/tracking-events/batch`, gunicorn as deployed, `--clients` keep-alive
   clients): `--warmup-batches` then `--batches` batches of `--batch-size` (1,000) events, built
   before the clock starts. Each batch: 20 % created events of new waybills with their details
   (sender = an account by customer number, receiver name/phone/address/province/city, route,
   product, weight, money, promised date) and 20 % their picked_up scans; 45 % next scans of
   existing moving waybills (arrived/departed/out for delivery/delivered, 12 % of deliveries to a
   locker without consent and ~2 % damaged/refused/lost: these open tickets); 10 % out of order
   (a missed scan older than what is stored, on recently delivered and moving waybills: ingest
   re-folds those waybills from all their events); 5 % duplicates (events of the previous batch
   sent again). Events/s = events received ÷ wall time; CPU per 1,000 events of the gunicorn
   workers and their PostgreSQL backends.
   In the same run, right after: a raw `COPY` of the same (distinct) rows, `--batch-size` rows per
   COPY and transaction, into an indexed bare table `bench_raw_trackingevent` (same columns, primary
   key (id, event_time), unique (tenant_id, source_event_id, event_time), (tenant_id, waybill_id,
   event_time); no partitions, no RLS, no foreign key; emptied first) as the owner. The ratio
   API ÷ COPY is the issue's target (≥ 30 %).
3. Replay: one already ingested batch is posted again; the response must say 0 stored, 0 waybills
   created/updated, 0 tickets, and `pg_stat_user_tables` (n_tup_ins / n_tup_upd / n_tup_del of
   every shipments_* and tickets_* table, read after the statistics are flushed) must not move.
4. Sweep: `shipments.services.exception_sweep()` inside the tenant scope, twice (the first run opens
   the tickets, the second is the steady state); the SQL of each run with its time; EXPLAIN
   (ANALYZE, BUFFERS) of its SELECTs as the application role (row-level security on).
5. Lookup over HTTP (`--lookups` distinct generated waybill numbers, 2 keep-alive clients, after
   `--lookup-warmup` requests): `GET /api/v1/waybills/?number=` (agent token), and if the pages
   exist `GET /waybills/?q=<number>` (agent session; an exact match answers 302 to the waybill page)
   and that page `GET /waybills/<pk>/`. p50/p95/p99. EXPLAIN (ANALYZE, BUFFERS) of every SELECT of
   one request of each.
6. Profile (in process, fresh batches of the same mix, tenant scope): per-phase time of
   `tracking_events_ingest` (each function of shipments.ingest timed, SQL time per statement via a
   timing server-binding cursor, commit), a cProfile of one batch, and EXPLAIN (ANALYZE, BUFFERS) of
   every statement of one batch (each run once inside a rolled-back savepoint before the real one).
Writes benchmarks/out/bench_shipments.json, bench_shipments_explain.txt, bench_shipments_profile.txt;
gunicorn's log: out/gunicorn_shipments.log. Every figure is printed with the load average.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import io
import itertools
import json
import os
import random
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

from . import _env
from .bench_customers import summary
from .generate_customers import DEFAULT_DB, TENANT_CODE, phone_e164, region_table, setup_django

INGEST_USERNAME = "bench-ingest"
AGENT_USERNAME = "bench-agent"
BATCH_PATH = "/api/v1/tracking-events/batch"
TZ8 = dt.timezone(dt.timedelta(hours=8))
MOVING = ("picked_up", "in_transit", "out_for_delivery")
TARGET_RATIO = 0.30
TARGET_SWEEP_S = 10.0
TARGET_LOOKUP_P99_MS = 15.0
RAW_TABLE = "bench_raw_trackingevent"
RAW_COLUMNS = ("tenant_id", "waybill_id", "source_event_id", "event_type", "event_time", "site_branch_id",
               "site_code", "operator", "attributes", "received_at")
STAT_TABLES = "relname LIKE 'shipments\\_%%' OR relname LIKE 'tickets\\_%%'"


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


# --- fixtures -------------------------------------------------------------------------------------

def fixtures(tenant, database: str) -> dict:
    """Users, memberships, tokens and the agent's session (idempotent)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cached_db import SessionStore

    from tenancy.authz_cache import token_lookup
    from tenancy.middleware import SESSION_TENANT_KEY
    from tenancy.models import Branch, BranchKind, Membership, User
    from tenancy.scoping import tenant_scope
    from tenancy.services import api_token_create

    out: dict = {}
    with tenant_scope(tenant):
        hq = Branch.objects.get(kind=BranchKind.HQ)
        site = Branch.objects.filter(code="S0001").first() or hq
        for key, username, role, branch in (("ingest", INGEST_USERNAME, "tenant_admin", hq),
                                             ("agent", AGENT_USERNAME, "agent", site)):
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create_user(username, None, display_name=username, home_tenant=tenant,
                                                last_active_tenant=tenant)
            if not Membership.objects.filter(user=user).exists():
                Membership(user=user, role=role, branch=branch, title="Benchmark").save()
            out[f"{key}_user"] = user
    for key in ("ingest", "agent"):
        user = out[f"{key}_user"]
        path = _env.OUT / f"bench_shipments_token_{key}_{database}.txt"
        raw = path.read_text().strip() if path.exists() else ""
        token = token_lookup(raw) if raw else None
        if token is None or token.user_id != user.pk or token.tenant_id != tenant.pk:
            with tenant_scope(tenant, user=user):
                _, raw = api_token_create(actor=user, name=f"bench-shipments-{key}")
            path.write_text(raw)
            path.chmod(0o600)
        out[f"{key}_token"] = raw
    agent = out["agent_user"]
    session = SessionStore()
    session[SESSION_KEY] = str(agent.pk)
    session[BACKEND_SESSION_KEY] = "tenancy.auth_backends.TenantRoleBackend"
    session[HASH_SESSION_KEY] = agent.get_session_auth_hash()
    session[SESSION_TENANT_KEY] = tenant.pk
    session.create()
    out["session_key"] = session.session_key
    out["cookie"] = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
    out["user"] = agent  # for bench_customers.explain_queries / client_for
    out["token"] = out["agent_token"]
    return out


def pools(tenant, need_moving: int, need_late: int, seed: int) -> dict:
    """What the batches are made of: moving waybills (for next scans and late scans), recently
    delivered ones (late scans), account numbers (senders), branch and hub codes."""
    from django.db import connection

    from tenancy.scoping import tenant_scope

    with tenant_scope(tenant), connection.cursor() as cur:
        cur.execute("SELECT setseed(%s)", [((seed % 1000) / 1000.0)])
        cur.execute(
            """SELECT id, number, status, extract(epoch FROM folded_event_at)::bigint,
                      extract(epoch FROM shipped_at)::bigint, destination_branch_id
               FROM shipments_waybill WHERE tenant_id = %s AND status = ANY(%s) AND folded_event_at IS NOT NULL
               ORDER BY random() LIMIT %s""", [tenant.pk, list(MOVING), need_moving])
        moving = cur.fetchall()
        cur.execute(
            """SELECT id, number, status, extract(epoch FROM folded_event_at)::bigint,
                      extract(epoch FROM shipped_at)::bigint, destination_branch_id
               FROM shipments_waybill WHERE tenant_id = %s AND status = 'delivered'
                 AND id >= COALESCE((SELECT id FROM shipments_waybill WHERE tenant_id = %s
                                     ORDER BY id DESC OFFSET 400000 LIMIT 1), 0)
               ORDER BY random() LIMIT %s""", [tenant.pk, tenant.pk, need_late])
        delivered = cur.fetchall()
        cur.execute("SELECT number FROM customers_customer WHERE tenant_id = %s AND kind = 'account' ORDER BY id",
                    [tenant.pk])
        accounts = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT id, code, kind FROM tenancy_branch WHERE tenant_id = %s", [tenant.pk])
        branches = cur.fetchall()
        cur.execute("SELECT count(*) FROM customers_customer WHERE tenant_id = %s", [tenant.pk])
        customers = cur.fetchone()[0]
    codes = {pk: code for pk, code, _k in branches}
    return {"moving": moving, "delivered": delivered, "accounts": accounts, "codes": codes,
            "leaves": sorted(c for _p, c, k in branches if k == "branch"),
            "hubs": sorted(c for _p, c, k in branches if k == "region"), "customers": customers}


# --- batches --------------------------------------------------------------------------------------

class BatchMaker:
    """Batches of the realistic mix (see the module doc); every call takes fresh waybills."""

    def __init__(self, data: dict, size: int, seed: int, tag: str):
        self.rng = random.Random(seed)
        self.size = size
        self.tag = tag
        self.moving = list(data["moving"])
        self.delivered = list(data["delivered"])
        self.rng.shuffle(self.moving)
        self.rng.shuffle(self.delivered)
        self.accounts = data["accounts"]
        self.codes = data["codes"]
        self.leaves = data["leaves"]
        self.hubs = data["hubs"]
        self.customers = data["customers"]
        self.regions = region_table()
        self.serial = itertools.count(1)
        self.previous: list[dict] = []

    @staticmethod
    def _time(ts: float) -> str:
        return dt.datetime.fromtimestamp(int(ts), TZ8).isoformat()

    def _take(self, pool: list, n: int) -> list:
        if len(pool) < n:
            raise SystemExit("not enough generated waybills left for the batches (fewer --batches, or regenerate)")
        taken = pool[-n:]
        del pool[-n:]
        return taken

    def _created(self, now: float) -> list[dict]:
        r = self.rng
        n = next(self.serial)
        number = f"BN{self.tag}{n:07d}"
        t0 = now - r.uniform(1800, 3 * 3600)
        origin, dest = r.choice(self.leaves), r.choice(self.leaves)
        province, city, _code = self.regions[int(r.random() * len(self.regions))]
        if r.random() < 0.2:   # a receiver who is already a customer (linked by phone)
            phone = phone_e164(2 * r.randrange(self.customers), 1)
        else:
            phone = phone_e164(700_000_000 + n + 1000 * r.randrange(1000), 1)
        product = r.choice(("standard",) * 7 + ("next_day", "economy", "same_day"))
        weight = round(0.2 + r.random() ** 2 * 15, 3)
        details = {
            "sender_customer": r.choice(self.accounts), "sender_name": "发货部",
            "receiver_name": r.choice("王李张刘陈杨黄赵吴周") + r.choice("伟芳娜敏静丽强磊军洋"),
            "receiver_phone": phone[3:] if r.random() < 0.5 else phone,
            "receiver_address": f"{r.choice(('人民', '中山', '解放', '建设'))}路{r.randrange(1, 999)}号",
            "receiver_province": province, "receiver_city": city, "origin": origin, "destination": dest,
            "product": product, "weight_kg": weight, "declared_value": "0" if r.random() < 0.8 else "500.00",
            "insured_amount": "0", "service_fee": f"{6 + weight * 2:.2f}",
            "promised_date": (dt.datetime.fromtimestamp(t0, TZ8).date() + dt.timedelta(days=3)).isoformat(),
        }
        return [
            {"event_id": f"{number}-00", "waybill_number": number, "event_type": "created",
             "event_time": self._time(t0), "site": origin, "operator": f"{origin}-01", "waybill": details},
            {"event_id": f"{number}-01", "waybill_number": number, "event_type": "picked_up",
             "event_time": self._time(t0 + r.uniform(600, 1700)), "site": origin, "operator": f"{origin}-07",
             "attributes": {"courier": f"{origin}-07"}},
        ]

    def _next_scan(self, row, now: float) -> dict:
        r = self.rng
        _pk, number, status, folded, _shipped, dest_id = row
        when = max(folded + 60, now - r.uniform(60, 1800))
        dest = self.codes.get(dest_id) or r.choice(self.leaves)
        u = r.random()
        attributes: dict = {}
        if u < 0.008:
            kind, site, attributes = "damaged", r.choice(self.hubs), {"note": "外包装破损"}
        elif u < 0.014:
            kind, site, attributes = "lost", r.choice(self.hubs), {"note": "干线遗失"}
        elif u < 0.02:
            kind, site, attributes = "refused", dest, {"reason": "收件人拒收"}
        elif status == "out_for_delivery":
            if r.random() < 0.12:
                kind, site, attributes = "delivered_to_locker", dest, {"locker": "丰巢柜"}
            else:
                kind, site, attributes = "delivered", dest, {"signee": "本人"}
        elif status == "picked_up":
            kind, site = "arrived_at_site", r.choice(self.leaves)
        else:
            kind, site = r.choice((("arrived_at_site", r.choice(self.hubs)), ("departed_site", r.choice(self.hubs)),
                                   ("arrived_at_site", dest), ("out_for_delivery", dest)))
        return {"event_id": f"{number}-N{self.tag}", "waybill_number": number, "event_type": kind,
                "event_time": self._time(when), "site": site, "operator": f"{site}-{r.randrange(40):02d}",
                "attributes": attributes}

    def _late_scan(self, row) -> dict:
        """A scan older than the waybill's last folded event (it arrives out of order)."""
        r = self.rng
        _pk, number, _status, folded, shipped, _dest = row
        when = shipped + (folded - shipped) * r.uniform(0.3, 0.7) if folded - shipped > 120 else folded - 30
        hub = r.choice(self.hubs)
        return {"event_id": f"{number}-L{self.tag}", "waybill_number": number, "event_type": "arrived_at_site",
                "event_time": self._time(when), "site": hub, "operator": f"{hub}-{r.randrange(40):02d}",
                "attributes": {"late": True}}

    def batch(self) -> list[dict]:
        now = time.time()
        size = self.size
        n_dup, n_late = size * 5 // 100, size * 10 // 100
        n_new = size * 20 // 100          # waybills: created + picked_up each
        n_scan = size - n_dup - n_late - 2 * n_new
        events: list[dict] = []
        for _ in range(n_new):
            events += self._created(now)
        events += [self._next_scan(row, now) for row in self._take(self.moving, n_scan)]
        n_late_moving = n_late * 3 // 10
        events += [self._late_scan(row) for row in self._take(self.moving, n_late_moving)]
        events += [self._late_scan(row) for row in self._take(self.delivered, n_late - n_late_moving)]
        source = self.previous or events
        events += [dict(e) for e in self.rng.sample(source, n_dup)]
        self.rng.shuffle(events)
        self.previous = events
        return events


# --- HTTP -----------------------------------------------------------------------------------------

def start_server(env: dict, threads: int, port: int):
    from .bench_api_list import start_gunicorn

    server_env = {**env, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    return start_gunicorn(server_env, port, _env.OUT / "gunicorn_shipments.log", threads)


def wait_up(proc, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited; see benchmarks/out/gunicorn_shipments.log")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/login/")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer; see benchmarks/out/gunicorn_shipments.log")


def post_batches(port: int, token: str, bodies: list[bytes], clients: int) -> dict:
    """`clients` keep-alive connections post the bodies (taken in order from a shared counter)."""
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json", "Accept": "application/json"}
    counter = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    results: list[dict | None] = [None] * len(bodies)
    errors: list = []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                n = next(counter)
            if n >= len(bodies):
                break
            start = time.perf_counter()
            try:
                conn.request("POST", BATCH_PATH, body=bodies[n], headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                errors.append((n, repr(exc)))
                conn.close()
                continue
            elapsed = time.perf_counter() - start
            if resp.status != 200:
                errors.append((n, resp.status, payload[:300]))
                continue
            with lock:
                latencies.append(elapsed)
            results[n] = json.loads(payload)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    totals: dict[str, int] = defaultdict(int)
    rejected = []
    for res in results:
        if res is None:
            continue
        for key in ("received", "stored", "duplicates", "waybills_created", "waybills_updated", "tickets_opened"):
            totals[key] += res[key]
        rejected += res["rejected"]
    return {"wall_s": wall, "batches": len(bodies), "latency": summary(latencies), "totals": dict(totals),
            "rejected": len(rejected), "rejected_samples": rejected[:5], "errors": len(errors),
            "error_samples": [str(e)[:300] for e in errors[:5]], "results": results}


def http_get_load(port: int, urls: list[str], headers: dict, total: int, expect: int, threads: int = 2) -> dict:
    """`threads` keep-alive clients share `total` GETs rotating over `urls`; `expect` = status."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[list] = [[] for _ in range(threads)]

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for n in range(slot, total, threads):
            url = urls[n % len(urls)]
            start = time.perf_counter()
            try:
                conn.request("GET", url, headers=headers)
                resp = conn.getresponse()
                resp.read()
            except (OSError, http.client.HTTPException) as exc:
                errors[slot].append((url, repr(exc)))
                conn.close()
                continue
            latencies[slot].append(time.perf_counter() - start)
            if resp.status != expect:
                errors[slot].append((url, resp.status))
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
    return {**summary(flat), "seconds": elapsed, "rps": len(flat) / elapsed, "errors": len(errs),
            "error_samples": errs[:5]}


# --- raw COPY -------------------------------------------------------------------------------------

RAW_DDL = f"""
CREATE TABLE IF NOT EXISTS {RAW_TABLE} (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    tenant_id bigint NOT NULL,
    waybill_id bigint NOT NULL,
    source_event_id varchar(64) NOT NULL,
    event_type varchar(24) NOT NULL,
    event_time timestamptz NOT NULL,
    site_branch_id bigint NULL,
    site_code varchar(20) NOT NULL,
    operator varchar(60) NOT NULL,
    attributes jsonb NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (id, event_time)
);
CREATE UNIQUE INDEX IF NOT EXISTS bench_raw_source ON {RAW_TABLE} (tenant_id, source_event_id, event_time);
CREATE INDEX IF NOT EXISTS bench_raw_timeline ON {RAW_TABLE} (tenant_id, waybill_id, event_time);
"""


def raw_rows(owner_dsn: str, tenant_id: int, batches: list[list[dict]]) -> list[str]:
    """COPY lines of the distinct events of the batches, as ingest stored them (waybill and site
    ids resolved from the database after the ingest)."""
    import psycopg

    seen, events = set(), []
    for batch in batches:
        for e in batch:
            key = (e["event_id"], e["event_time"])
            if key not in seen:
                seen.add(key)
                events.append(e)
    numbers = sorted({e["waybill_number"] for e in events})
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, false)", [str(tenant_id)])
        ids = dict(conn.execute("SELECT number, id FROM shipments_waybill WHERE tenant_id = %s AND number = ANY(%s)",
                                [tenant_id, numbers]).fetchall())
        sites = dict(conn.execute("SELECT code, id FROM tenancy_branch WHERE tenant_id = %s", [tenant_id]).fetchall())
    now = dt.datetime.now(dt.UTC).isoformat()
    lines = []
    for e in events:
        when = dt.datetime.fromisoformat(e["event_time"]).astimezone(dt.UTC).isoformat()
        site = e.get("site") or ""
        attributes = json.dumps(e.get("attributes") or {}, ensure_ascii=False).replace("\\", "\\\\")
        lines.append("\t".join((str(tenant_id), str(ids.get(e["waybill_number"], 0)), e["event_id"], e["event_type"],
                                when, str(sites[site]) if site in sites else "\\N", site, e.get("operator", ""),
                                attributes, now)))
    return lines


def raw_copy(owner_dsn: str, lines: list[str], per_copy: int, *, prefill: int = 0, tenant_id: int = 0) -> dict:
    """Empty the bare table (and with `prefill`, fill it with that many rows of last month's
    partition first: indexes of a realistic size), then COPY the lines, `per_copy` rows per COPY
    and transaction."""
    import psycopg

    from .bench_api_list import cpu_seconds

    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute(RAW_DDL)
        conn.execute(f"TRUNCATE {RAW_TABLE}")
        prefill_s = 0.0
        if prefill:
            conn.execute("SELECT set_config('app.tenant_id', %s, false)", [str(tenant_id)])
            month = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y%m")
            cols = ", ".join(RAW_COLUMNS)
            start = time.perf_counter()
            # generated rows only (BW…-NN): the ingested late scans of this run may fall in that month
            conn.execute(f"INSERT INTO {RAW_TABLE} ({cols}) SELECT {cols} FROM shipments_trackingevent_p{month} "
                         f"WHERE source_event_id ~ '^BW[0-9]+-[0-9]+$' LIMIT {int(prefill)}")
            conn.execute(f"VACUUM ANALYZE {RAW_TABLE}")
            prefill_s = time.perf_counter() - start
        base = conn.execute(f"SELECT count(*) FROM {RAW_TABLE}").fetchone()[0]
        chunks = ["\n".join(lines[a:a + per_copy]) + "\n" for a in range(0, len(lines), per_copy)]
        cols = ", ".join(RAW_COLUMNS)
        pid = [conn.info.backend_pid]
        cpu0 = cpu_seconds(pid) + time.process_time()
        load0 = os.getloadavg()[0]
        start = time.perf_counter()
        for chunk in chunks:
            with conn.transaction(), conn.cursor() as cur, cur.copy(f"COPY {RAW_TABLE} ({cols}) FROM STDIN") as cp:
                cp.write(chunk)
        wall = time.perf_counter() - start
        cpu = cpu_seconds(pid) + time.process_time() - cpu0
        count = conn.execute(f"SELECT count(*) FROM {RAW_TABLE}").fetchone()[0] - base
        if prefill:
            conn.execute(f"TRUNCATE {RAW_TABLE}")
    return {"rows": count, "wall_s": wall, "rows_per_s": count / wall, "copies": len(chunks), "prefilled": base,
            "prefill_s": prefill_s, "cpu_ms_per_1000": cpu / max(1, count) * 1e6,
            "loadavg": (load0, os.getloadavg()[0])}


# --- statistics of the tables (replay) ------------------------------------------------------------

def table_stats(owner_dsn: str) -> dict[str, tuple[int, int, int]]:
    import psycopg

    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        rows = conn.execute(f"SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables "
                            f"WHERE {STAT_TABLES}").fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def stats_delta(before: dict, after: dict) -> dict[str, tuple[int, int, int]]:
    out = {}
    for name, values in after.items():
        old = before.get(name, (0, 0, 0))
        delta = tuple(a - b for a, b in zip(values, old, strict=True))
        if any(delta):
            out[name] = delta
    return out


# --- in process: sweep, EXPLAIN, profile ----------------------------------------------------------

def explain(tenant, user, statements: list[tuple[str, list | None]]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) as the application role in the tenant scope, each in a
    rolled-back savepoint."""
    from django.db import connection

    from tenancy.scoping import tenant_scope

    out = []
    with tenant_scope(tenant, user=user):
        for sql, params in statements:
            with connection.cursor() as cursor:
                cursor.execute("SAVEPOINT bench_explain")
                try:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                except Exception as exc:  # noqa: BLE001 — report and go on
                    plan = f"(not explainable: {exc})"
                cursor.execute("ROLLBACK TO SAVEPOINT bench_explain")
            out.append(f"{sql}\n\n{plan}\n")
    return out


def sweep(tenant) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shipments.services import exception_sweep
    from tenancy.scoping import tenant_scope

    runs = []
    with tenant_scope(tenant), connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE last_scan_at < now() - interval '24 hours') "
                       "FROM shipments_waybill WHERE tenant_id = %s AND status = ANY(%s)", [tenant.pk, list(MOVING)])
        moving, stalled = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM tickets_ticket WHERE tenant_id = %s AND status NOT IN "
                       "('resolved', 'closed') AND exception_kind IN ('no_scan', 'overdue')", [tenant.pk])
        open_before = cursor.fetchone()[0]
    for n in (1, 2):
        load0 = os.getloadavg()
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            cpu0 = time.process_time()
            with tenant_scope(tenant):
                result = exception_sweep()
            wall = time.perf_counter() - start
            cpu = time.process_time() - cpu0
        queries = [{"sql": " ".join(q["sql"].split())[:400], "ms": float(q["time"]) * 1e3}
                   for q in captured.captured_queries]
        runs.append({"run": n, "seconds": wall, "python_cpu_s": cpu, "result": result, "loadavg": load0,
                     "queries": queries, "full_sql": [q["sql"] for q in captured.captured_queries]})
        print(f"  sweep run {n}: {wall:.2f} s (Python CPU {cpu:.2f} s), {result}; "
              f"{verdict_sweep(wall)}; load {load0[0]:.2f}", flush=True)
        for q in sorted(queries, key=lambda q: -q["ms"])[:4]:
            print(f"      {q['ms']:9.1f} ms  {q['sql'][:110]}")
    return {"moving": moving, "stalled_24h": stalled, "open_delay_tickets_before": open_before, "runs": runs}


def verdict_sweep(seconds: float) -> str:
    return f"{'MET' if seconds <= TARGET_SWEEP_S else 'MISSED'} (≤ {TARGET_SWEEP_S:g} s)"


class PhaseTimer:
    """Times each function of shipments.ingest (and SQL per statement on its bulk cursor) while
    installed; `reset()` between batches."""

    NAMES = ("validate_batch", "_ensure_partitions", "_branch_ids", "_waybill_ids", "_insert_events",
             "_lock_waybills", "_apply_details", "fold", "fold_all", "_all_events", "_write_states",
             "_volume_increments", "_exception_requests", "exception_tickets_open")

    def __init__(self, explain_first: bool = False):
        self.spent: dict[str, float] = defaultdict(float)
        self.sql: dict[str, float] = defaultdict(float)
        self.sql_calls: dict[str, int] = defaultdict(int)
        self.explain = explain_first
        self.plans: list[str] = []
        self._saved: dict = {}

    def reset(self) -> None:
        self.spent.clear()
        self.sql.clear()
        self.sql_calls.clear()

    def __enter__(self):
        import psycopg
        from django.db import connection

        import shipments.ingest as ingest

        timer = self

        def wrap(name, fn):
            def inner(*args, **kwargs):
                start = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    timer.spent[name] += time.perf_counter() - start
            return inner

        class TimedCursor(psycopg.Cursor):
            def execute(self, query, params=None, **kwargs):
                label = " ".join(str(query).split())[:70]
                if timer.explain and str(query).lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE")):
                    super().execute("SAVEPOINT bench_explain")
                    try:
                        super().execute("EXPLAIN (ANALYZE, BUFFERS, WAL) " + str(query), params)
                        plan = "\n".join(r[0] for r in self.fetchall())
                    except Exception as exc:  # noqa: BLE001
                        plan = f"(not explainable: {exc})"
                    super().execute("ROLLBACK TO SAVEPOINT bench_explain")
                    timer.plans.append(f"{' '.join(str(query).split())[:600]}\n\n{plan}\n")
                start = time.perf_counter()
                try:
                    return super().execute(query, params, **kwargs)
                finally:
                    timer.sql[label] += time.perf_counter() - start
                    timer.sql_calls[label] += 1

        def bulk_cursor():
            connection.ensure_connection()
            return TimedCursor(connection.connection)

        for name in self.NAMES:
            self._saved[name] = getattr(ingest, name)
            setattr(ingest, name, wrap(name, self._saved[name]))
        self._saved["_bulk_cursor"] = ingest._bulk_cursor
        ingest._bulk_cursor = bulk_cursor
        return self

    def __exit__(self, *exc) -> None:
        import shipments.ingest as ingest

        for name, fn in self._saved.items():
            setattr(ingest, name, fn)


def profile(tenant, fx: dict, maker: BatchMaker, batches: int) -> dict:
    """In process, fresh batches: phase times, SQL per statement, commit; cProfile of one batch;
    EXPLAIN of every statement of one extra batch."""
    import cProfile
    import pstats

    from django.db import connection

    from shipments.ingest import tracking_events_ingest
    from tenancy.scoping import tenant_scope

    user = fx["ingest_user"]
    fresh = [maker.batch() for _ in range(batches + 2)]
    bodies = [json.dumps(b, ensure_ascii=False).encode() for b in fresh]
    parse = []
    for body in bodies:
        start = time.perf_counter()
        json.loads(body)
        parse.append(time.perf_counter() - start)
    per_phase: dict[str, list[float]] = defaultdict(list)
    sql_total: dict[str, float] = defaultdict(float)
    sql_calls: dict[str, int] = defaultdict(int)
    totals, commits, cpu = [], [], []
    with tenant_scope(tenant, user=user):   # warm: keys, rules, plans
        tracking_events_ingest(fresh[0])
    timer = PhaseTimer()
    with timer:
        for batch in fresh[1:batches + 1]:
            timer.reset()
            cpu0 = time.process_time()
            start = time.perf_counter()
            with tenant_scope(tenant, user=user):
                tracking_events_ingest(batch)
                inner = time.perf_counter()
            end = time.perf_counter()
            cpu.append(time.process_time() - cpu0)
            totals.append(end - start)
            commits.append(end - inner)
            for name, value in timer.spent.items():
                per_phase[name].append(value)
            for label, value in timer.sql.items():
                sql_total[label] += value
                sql_calls[label] += timer.sql_calls[label]
    n = len(totals)
    phases = {name: sum(v) / n * 1e3 for name, v in per_phase.items()}
    sql = {label: (value / n * 1e3, sql_calls[label] / n) for label, value in sql_total.items()}
    # one batch under cProfile
    prof = cProfile.Profile()
    with tenant_scope(tenant, user=user):
        prof.enable()
        tracking_events_ingest(maker.batch())
        prof.disable()
    text = io.StringIO()
    stats = pstats.Stats(prof, stream=text).sort_stats("cumulative")
    stats.print_stats(40)
    stats.sort_stats("tottime").print_stats(30)
    # one batch with EXPLAIN (ANALYZE, BUFFERS) of each bulk statement, FK checks made immediate
    explainer = PhaseTimer(explain_first=True)
    with explainer, tenant_scope(tenant, user=user):
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        tracking_events_ingest(fresh[-1])
    wal = wal_of(explainer.plans)
    return {"batches": n, "total": summary(totals), "commit": summary(commits), "cpu": summary(cpu),
            "json_parse": summary(parse), "phases_ms": phases, "sql_ms": sql, "cprofile": text.getvalue(),
            "plans": explainer.plans, "wal": wal}


def wal_of(plans: list[str]) -> dict:
    """WAL records / full-page images / bytes per statement (top plan node) of an explained batch."""
    import re

    per = []
    for text in plans:
        head = text.split("\n", 1)[0][:70]
        match = re.search(r"WAL: (.*)", text)
        if not match:
            continue
        values = dict(re.findall(r"(records|fpi|bytes)=(\d+)", match.group(1)))
        per.append({"statement": head, **{k: int(v) for k, v in values.items()}})
    total = {k: sum(p.get(k, 0) for p in per) for k in ("records", "fpi", "bytes")}
    return {"total": total, "statements": per}


# --- main -----------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--tenant", default=TENANT_CODE)
    parser.add_argument("--batches", type=int, default=40, help="measured ingest batches")
    parser.add_argument("--warmup-batches", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=2, help="concurrent ingest clients")
    parser.add_argument("--threads", type=int, default=4, choices=[1, 2, 4], help="gunicorn --threads")
    parser.add_argument("--lookups", type=int, default=2000, help="measured lookup requests per endpoint")
    parser.add_argument("--lookup-warmup", type=int, default=200)
    parser.add_argument("--raw-prefill", type=int, default=0, metavar="ROWS",
                        help="also COPY into the bare table pre-filled with ROWS rows of last month's partition")
    parser.add_argument("--profile-batches", type=int, default=5, help="in-process batches for the profile")
    parser.add_argument("--what-if", action="store_true",
                        help="only: time --profile-batches fresh batches in process under each WHAT_IF variant")
    parser.add_argument("--what-if-rounds", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated: ingest,replay,sweep,lookup,profile")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    parser.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                        help="before each measurement wait up to SECONDS for the 1-min load average to drop below 0.7")
    args = parser.parse_args()
    if args.batches < 1 or args.batch_size < 100 or args.clients < 1 or args.lookups < 1:
        parser.error("--batches ≥ 1, --batch-size ≥ 100, --clients ≥ 1, --lookups ≥ 1")
    if args.what_if:
        what_if(args)
        return
    only = set(filter(None, args.only.split(","))) or {"ingest", "replay", "sweep", "lookup", "profile"}
    if "replay" in only:
        only.add("ingest")

    env = setup_django(args.db, settings_module="courier_crm.settings.base", conn_max_age=600)
    _env.OUT.mkdir(parents=True, exist_ok=True)
    from django.db import connection

    from tenancy.models import Tenant

    from .bench_api_list import backend_pids, child_pids, cpu_seconds, stop_gunicorn, tree_state
    from .bench_customers import explain_queries, pages_in_process

    tenant = Tenant.objects.filter(code=args.tenant).first()
    if tenant is None:
        sys.exit(f"no tenant {args.tenant}: run benchmarks.generate_customers and generate_shipments first")
    owner_dsn = env["DATABASE_OWNER_URL"]
    fx = fixtures(tenant, args.db)
    total_batches = args.warmup_batches + args.batches + args.profile_batches + 4
    per_batch_moving = args.batch_size * (100 - 5 - 10 - 40) // 100 + args.batch_size * 3 // 100 + 1
    data = pools(tenant, per_batch_moving * total_batches, args.batch_size // 10 * total_batches, args.seed)
    tag = format(int(time.time()) % 36 ** 5, "x")
    maker = BatchMaker(data, args.batch_size, args.seed, tag)
    report: dict = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": _env.machine(),
                    "tree": tree_state(), "database": args.db, "tenant_id": tenant.pk, "args": vars(args),
                    "loadavg_start": os.getloadavg()}
    print(f"bench_shipments  {report['date']}  {report['machine']}\ntree: {report['tree']}")
    with connection.cursor() as cur:
        cur.execute("SELECT relname, n_live_tup FROM pg_stat_user_tables WHERE relname = 'shipments_waybill' "
                    "OR relname LIKE 'shipments_trackingevent_p%' ORDER BY 1")
        sizes = cur.fetchall()
    connection.close()
    report["table_rows"] = sizes
    print("rows: " + ", ".join(f"{n} {c:,}" for n, c in sizes) + f"; moving waybills sampled {len(data['moving']):,}; "
          f"load {load()}")

    explains: list[str] = []
    port = next(p for p in range(8130, 8140) if port_free(p))
    proc = None
    try:
        if only & {"ingest", "lookup"}:
            proc = start_server(env, args.threads, port)
            wait_up(proc, port)
            app_pids = child_pids(proc.pid)

        # 1. ingest + raw COPY
        if "ingest" in only:
            warm = [maker.batch() for _ in range(args.warmup_batches)]
            measured = [maker.batch() for _ in range(args.batches)]
            warm_bodies = [json.dumps(b, ensure_ascii=False).encode() for b in warm]
            bodies = [json.dumps(b, ensure_ascii=False).encode() for b in measured]
            print(f"\n[ingest: {args.batches} batches of {args.batch_size} events "
                  f"(+{args.warmup_batches} warm-up), {args.clients} clients, gunicorn -w 2 --threads {args.threads}; "
                  f"mean body {sum(map(len, bodies)) / len(bodies) / 1024:.0f} KiB]", flush=True)
            post_batches(port, fx["ingest_token"], warm_bodies, args.clients)
            _env.wait_for_quiet(args.wait_idle)
            db_before = {pid: cpu_seconds([pid]) for pid in backend_pids(args.db)}
            app0 = cpu_seconds(app_pids)
            load0 = os.getloadavg()
            res = post_batches(port, fx["ingest_token"], bodies, args.clients)
            db_used = sum(cpu_seconds([pid]) - db_before.get(pid, 0.0) for pid in backend_pids(args.db))
            app_used = cpu_seconds(app_pids) - app0
            t = res["totals"]
            received = t.get("received", 0)
            res.update(events_per_s=received / res["wall_s"], stored_per_s=t.get("stored", 0) / res["wall_s"],
                       cpu_app_ms_per_1000=app_used / max(1, received) * 1e6,
                       cpu_db_ms_per_1000=db_used / max(1, received) * 1e6, loadavg=(load0, os.getloadavg()))
            lat = res["latency"]
            print(f"  API: {received:,} events in {res['wall_s']:.2f} s = {res['events_per_s']:,.0f} events/s "
                  f"({res['stored_per_s']:,.0f} stored/s); per batch p50 {lat['p50_ms']:.0f} p95 {lat['p95_ms']:.0f} "
                  f"max {lat['max_ms']:.0f} ms; CPU per 1,000 events: app {res['cpu_app_ms_per_1000']:.0f} ms + "
                  f"db {res['cpu_db_ms_per_1000']:.0f} ms; load {load0[0]:.2f} → {os.getloadavg()[0]:.2f}")
            print(f"       totals {t}; rejected {res['rejected']} {res['rejected_samples'][:2]}; "
                  f"errors {res['errors']} {res['error_samples'][:2]}", flush=True)
            lines = raw_rows(owner_dsn, tenant.pk, measured)
            copies = [raw_copy(owner_dsn, lines, args.batch_size) for _ in range(2)]
            prefilled = (raw_copy(owner_dsn, lines, args.batch_size, prefill=args.raw_prefill, tenant_id=tenant.pk)
                         if args.raw_prefill else None)
            best = max(c["rows_per_s"] for c in copies)
            mean_copy = sum(c["rows_per_s"] for c in copies) / len(copies)
            ratio = res["events_per_s"] / mean_copy
            for c in copies:
                print(f"  raw COPY: {c['rows']:,} rows in {c['copies']} COPYs of ≤ {args.batch_size} = "
                      f"{c['rows_per_s']:,.0f} rows/s (CPU {c['cpu_ms_per_1000']:.0f} ms per 1,000); "
                      f"load {c['loadavg'][0]:.2f}")
            if prefilled:
                print(f"  raw COPY into the bare table holding {prefilled['prefilled']:,} rows of last month's "
                      "partition "
                      f"(filled in {prefilled['prefill_s']:.0f} s): {prefilled['rows_per_s']:,.0f} rows/s; API ÷ that: "
                      f"{res['events_per_s'] / prefilled['rows_per_s']:.1%}; load {prefilled['loadavg'][0]:.2f}")
            print(f"  API ÷ COPY: {ratio:.1%} received events/s ({res['stored_per_s'] / mean_copy:.1%} stored/s) "
                  f"of the mean COPY rows/s ({best:,.0f} best) — target ≥ {TARGET_RATIO:.0%}: "
                  f"{'MET' if ratio >= TARGET_RATIO else 'MISSED'}", flush=True)
            res.pop("results")
            report["ingest"] = {**res, "raw_copy": copies, "raw_copy_prefilled": prefilled, "ratio": ratio,
                                "ratio_stored": res["stored_per_s"] / mean_copy}

            # 2. replay
            if "replay" in only:
                print("\n[replay of an ingested batch]", flush=True)
                time.sleep(11)  # backends flush their table statistics at most every 10 s when idle
                before = table_stats(owner_dsn)
                again = post_batches(port, fx["ingest_token"], bodies[:1], 1)
                time.sleep(11)
                delta = stats_delta(before, table_stats(owner_dsn))
                answer = again["results"][0]
                ok = (answer is not None and answer["stored"] == 0 and answer["waybills_created"] == 0
                      and answer["waybills_updated"] == 0 and answer["tickets_opened"] == 0 and not delta)
                print(f"  response: {answer and {k: v for k, v in answer.items() if k != 'rejected'}}; "
                      f"{again['latency']['p50_ms']:.0f} ms; table statistics delta (ins, upd, del): {delta or 'none'}"
                      f" → {'MET' if ok else 'MISSED'}; load {load()}", flush=True)
                report["replay"] = {"response": answer, "ms": again["latency"]["p50_ms"], "stats_delta": delta,
                                    "ok": ok, "loadavg": os.getloadavg()}

        # 4. lookup over HTTP
        if "lookup" in only:
            numbers = lookup_numbers(tenant, args.lookups, args.seed)
            token_headers = {"Authorization": f"Token {fx['agent_token']}", "Accept": "application/json"}
            session_headers = {"Cookie": fx["cookie"]}
            targets = {
                "lookup_api": ([f"/api/v1/waybills/?number={n}" for n, _pk in numbers], token_headers, 200),
                "lookup_html": ([f"/waybills/?q={n}" for n, _pk in numbers], session_headers, 302),
                "waybill_page": ([f"/waybills/{pk}/" for _n, pk in numbers], session_headers, 200),
            }
            print(f"\n[lookup over HTTP: gunicorn -w 2 --threads {args.threads}, 2 keep-alive clients, "
                  f"{args.lookup_warmup} warm-up + {args.lookups} requests over distinct numbers]", flush=True)
            report["lookup"] = {}
            for name, (urls, headers, expect) in targets.items():
                probe = http_get_load(port, urls[:1], headers, 1, expect, threads=1)
                if probe["errors"]:
                    print(f"  {name}: skipped ({probe['error_samples']})")
                    report["lookup"][name] = {"skipped": str(probe["error_samples"])}
                    continue
                http_get_load(port, urls[-args.lookup_warmup:], headers, args.lookup_warmup, expect)
                _env.wait_for_quiet(args.wait_idle)
                db_before = {pid: cpu_seconds([pid]) for pid in backend_pids(args.db)}
                app0 = cpu_seconds(app_pids)
                load0 = os.getloadavg()
                res = http_get_load(port, urls, headers, args.lookups, expect)
                db_used = sum(cpu_seconds([pid]) - db_before.get(pid, 0.0) for pid in backend_pids(args.db))
                res["cpu_app_ms_per_req"] = (cpu_seconds(app_pids) - app0) / max(1, res["n"]) * 1e3
                res["cpu_db_ms_per_req"] = db_used / max(1, res["n"]) * 1e3
                res["loadavg"] = (load0, os.getloadavg())
                report["lookup"][name] = res
                verdict = "" if name == "waybill_page" else (
                    f"p99 vs ≤ {TARGET_LOOKUP_P99_MS:g} ms: "
                    f"{'MET' if res['p99_ms'] <= TARGET_LOOKUP_P99_MS else 'MISSED'}")
                print(f"  {name:<13} {res['n']:>5} req {res['rps']:6.1f}/s  p50 {res['p50_ms']:6.2f}  "
                      f"p95 {res['p95_ms']:6.2f}  p99 {res['p99_ms']:6.2f}  max {res['max_ms']:7.2f} ms  "
                      f"errors {res['errors']}  CPU/req {res['cpu_app_ms_per_req']:.2f}+"
                      f"{res['cpu_db_ms_per_req']:.2f} ms  {verdict}  load {load0[0]:.2f}", flush=True)
    finally:
        if proc is not None:
            stop_gunicorn(proc)

    # 3. sweep (in process, after the ingest so its waybills are included)
    if "sweep" in only:
        _env.wait_for_quiet(args.wait_idle)
        print("\n[exception sweep, in process, tenant scope]", flush=True)
        res = sweep(tenant)
        print(f"  moving waybills {res['moving']:,}, last scan > 24 h: {res['stalled_24h']:,}; open delay tickets "
              f"before: {res['open_delay_tickets_before']:,}")
        selects = [sql for sql in res["runs"][1]["full_sql"] if sql.lstrip().upper().startswith("SELECT")
                   and "set_config" not in sql and "FROM shipments_waybill" in sql]
        for run in res["runs"]:
            run.pop("full_sql")
        explains.append("## exception_sweep (second run's SELECTs)\n")
        explains += explain(tenant, None, [(sql, None) for sql in selects])
        report["sweep"] = res

    if "lookup" in only:
        numbers = lookup_numbers(tenant, 3, args.seed + 1)
        paths = {"lookup_api": [f"/api/v1/waybills/?number={n}" for n, _pk in numbers],
                 "waybill_page": [f"/waybills/{pk}/" for _n, pk in numbers]}
        pages = pages_in_process(fx, paths, 20)
        report["lookup_in_process"] = {k: {x: v.get(x) for x in ("status", "time", "sql", "render", "cpu", "queries")}
                                       for k, v in pages.items() if isinstance(v, dict)}
        for name, res in pages.items():
            if isinstance(res, dict) and res.get("status") == 200:
                print(f"  in process {name}: {len(res['queries'])} queries, p50 {res['time']['p50_ms']:.2f} ms "
                      f"(SQL {res['sql']['p50_ms']:.2f}, CPU {res['cpu']['p50_ms']:.2f} ms)")
        captured = {name: res["queries"] for name, res in pages.items()
                    if isinstance(res, dict) and res.get("status") == 200}
        captured["lookup_html"] = html_search_queries(fx, numbers[0][0])
        explains.append("## lookup (one request each, every SELECT)\n")
        explains.append(explain_queries(tenant, fx, captured))

    # 6. profile
    if "profile" in only:
        _env.wait_for_quiet(args.wait_idle)
        print(f"\n[profile: {args.profile_batches} fresh batches in process, tenant scope]", flush=True)
        load0 = os.getloadavg()
        prof = profile(tenant, fx, maker, args.profile_batches)
        prof["loadavg"] = (load0, os.getloadavg())
        tot = prof["total"]
        print(f"  per batch: p50 {tot['p50_ms']:.1f} ms (commit {prof['commit']['p50_ms']:.1f} ms, Python CPU "
              f"{prof['cpu']['p50_ms']:.1f} ms); JSON parse of the body {prof['json_parse']['p50_ms']:.1f} ms; "
              f"load {load0[0]:.2f}")
        for name, ms in sorted(prof["phases_ms"].items(), key=lambda kv: -kv[1]):
            print(f"    {ms:8.2f} ms  {name}")
        print("  SQL per batch (mean ms, calls):")
        for label, (ms, calls) in sorted(prof["sql_ms"].items(), key=lambda kv: -kv[1][0])[:12]:
            print(f"    {ms:8.2f} ms ×{calls:.1f}  {label}")
        wal = prof["wal"]
        print(f"  WAL of the bulk statements of one batch: {wal['total']['records']:,} records, "
              f"{wal['total']['fpi']:,} full-page images, {wal['total']['bytes'] / 2**20:.1f} MiB")
        for item in sorted(wal["statements"], key=lambda p: -p.get("bytes", 0))[:6]:
            print(f"    {item.get('bytes', 0) / 2**20:6.2f} MiB, fpi {item.get('fpi', 0):>5}  {item['statement']}")
        (_env.OUT / "bench_shipments_profile.txt").write_text(prof.pop("cprofile"))
        explains.append("## ingest statements of one batch (EXPLAIN ANALYZE in a rolled-back savepoint, "
                        "constraints immediate)\n")
        explains += prof.pop("plans")
        report["profile"] = prof

    report["loadavg_end"] = os.getloadavg()
    (_env.OUT / "bench_shipments_explain.txt").write_text("\n".join(explains))
    out = _env.OUT / "bench_shipments.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    print(f"\nload average at start {report['loadavg_start'][0]:.2f}, at end {report['loadavg_end'][0]:.2f}\n"
          f"written {out.relative_to(_env.BASE_DIR)}, bench_shipments_explain.txt, bench_shipments_profile.txt")


WHAT_IF = {
    "baseline": [],
    "without the 6 single-column FK indexes of shipments_waybill": [
        f"DROP INDEX {name}" for name in (
            "shipments_waybill_destination_branch_id_1f1e355a", "shipments_waybill_origin_branch_id_970d52ae",
            "shipments_waybill_receiver_id_0e0e291e", "shipments_waybill_responsible_branch_id_08f1f6c1",
            "shipments_waybill_sender_id_984546aa", "shipments_waybill_volume_customer_id_5c8159e3")],
}


def what_if(args) -> None:
    """In process as the owner (row-level security forced on it too): fresh batches (other
    waybills for every variant and round, so none runs on pages another warmed) ingested under each
    variant's DDL, every variant in a transaction that is rolled back (so nothing is kept and the
    deferred foreign-key checks at commit are left out for all alike); variants alternate over
    `--what-if-rounds` rounds."""
    from .generate_customers import bench_environment

    env = bench_environment(args.db)
    os.environ.update(env)
    os.environ["CRM_DB_AS_OWNER"] = "1"
    for name in ("DJANGO_DEBUG", "CRM_ENV_FILE"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.db import connection, transaction

    from shipments.ingest import tracking_events_ingest
    from tenancy.models import Tenant
    from tenancy.scoping import tenant_scope

    tenant = Tenant.objects.get(code=args.tenant)
    n = args.profile_batches
    runs = args.what_if_rounds * len(WHAT_IF)
    data = pools(tenant, 500 * args.batch_size // 1000 * (n + 1) * runs, args.batch_size // 10 * (n + 1) * runs,
                 args.seed)
    maker = BatchMaker(data, args.batch_size, args.seed, format(int(time.time()) % 36 ** 5, "x"))
    times: dict[str, list[float]] = defaultdict(list)
    print(f"what-if: {n} batches of {args.batch_size} (+1 warm-up) per variant and round, in process as the owner, "
          f"rolled back; load {load()}", flush=True)
    for round_ in range(args.what_if_rounds):
        order = list(WHAT_IF) if round_ % 2 == 0 else list(reversed(WHAT_IF))
        for variant in order:
            batches = [maker.batch() for _ in range(n + 1)]
            with tenant_scope(tenant):
                with connection.cursor() as cursor:
                    for statement in WHAT_IF[variant]:
                        cursor.execute(statement)
                tracking_events_ingest(batches[0])
                for batch in batches[1:]:
                    start = time.perf_counter()
                    tracking_events_ingest(batch)
                    times[variant].append(time.perf_counter() - start)
                transaction.set_rollback(True)
            print(f"  round {round_ + 1} {variant}: mean {sum(times[variant][-n:]) / n * 1e3:.0f} ms per batch; "
                  f"load {load()}", flush=True)
    base = sum(times["baseline"]) / len(times["baseline"])
    for variant, values in times.items():
        mean = sum(values) / len(values)
        print(f"{variant}: mean {mean * 1e3:.0f} ms, p50 {summary(values)['p50_ms']:.0f} ms per batch "
              f"({mean / base:.0%} of baseline)")
    (_env.OUT / "bench_shipments_what_if.json").write_text(json.dumps(
        {"date": dt.datetime.now().isoformat(timespec="seconds"), "batch_size": args.batch_size,
         "batches": n, "rounds": args.what_if_rounds, "ddl": WHAT_IF,
         "ms": {k: [x * 1e3 for x in v] for k, v in times.items()}}, indent=2, ensure_ascii=False))


def html_search_queries(fx: dict, number: str) -> list[str]:
    """The SQL of one `GET /waybills/?q=<number>` (an exact match answers 302)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from .bench_customers import client_for

    client = client_for(fx)
    client.get(f"/waybills/?q={number}")
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/waybills/?q={number}")
    print(f"  in process lookup_html: status {response.status_code}, {len(captured.captured_queries)} queries")
    return [q["sql"] for q in captured.captured_queries]


def port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def lookup_numbers(tenant, count: int, seed: int) -> list[tuple[str, int]]:
    """Distinct generated waybills: (number, id)."""
    from django.db import connection

    from tenancy.scoping import tenant_scope

    rng = random.Random(seed)
    with tenant_scope(tenant), connection.cursor() as cur:
        cur.execute("SELECT min(id), max(id) FROM shipments_waybill WHERE tenant_id = %s AND number LIKE 'BW%%'",
                    [tenant.pk])
        lo, hi = cur.fetchone()
        ids = rng.sample(range(lo, hi + 1), min(count * 2, hi - lo + 1))
        cur.execute("SELECT number, id FROM shipments_waybill WHERE tenant_id = %s AND id = ANY(%s)", [tenant.pk, ids])
        rows = cur.fetchall()
    rng.shuffle(rows)
    return rows[:count]


if __name__ == "__main__":
    main()
