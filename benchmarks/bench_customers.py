"""Customer benchmarks on the generated tenant (benchmarks.generate_customers): phone lookup, the
customer list page and the customer 360 page, in process and over HTTP.

    .venv/bin/python -m benchmarks.bench_customers [--requests 1500] [--warmup 200] [--threads 4]

1. Fixtures (idempotent): a session for sales manager `bench-sales-01` (no second factor for this
   role), an API token for the same login (`tenancy.services.api_token_create`, key kept in
   benchmarks/out/), and one "long history" account (B00000001) with hundreds of follow-ups,
   contacts, addresses, old contracts and tags added through the ORM.
2. In process (no HTTP), inside the tenant scope like a request:
   - phone lookup at the database: `customers.selectors.records._phone_customer_ids` (phone
     normalisation + HMAC blind index + the two indexed queries), split into its pieces, for
     `--lookups` distinct phone numbers of existing customers;
   - the list page and the 360 page through django.test.Client (full middleware stack): time and
     the SQL of one request (CaptureQueriesContext); the 360 page's query count for a person, a
     typical account and the long-history account; EXPLAIN (ANALYZE, BUFFERS) of every SELECT of
     those requests into benchmarks/out/bench_customers_explain.txt.
3. Over HTTP: gunicorn as deployed (`courier_crm.wsgi`, 2 workers, `--threads` (4 = gthread as in
   the Docker image, 1 = sync), DEBUG off, persistent DB connections `DB_CONN_MAX_AGE=600`),
   2 keep-alive clients (http.client threads); per measurement `--warmup` requests then
   `--requests` requests rotating over distinct phones / cities / names / customers;
   p50/p95/p99, req/s and server CPU per request (gunicorn workers + their PostgreSQL backends).
Writes benchmarks/out/bench_customers.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import math
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode

from . import _env
from .generate_customers import DEFAULT_DB, SALES_USERNAME, TENANT_CODE, phone_e164, setup_django

COMMON_NAMES = ("王伟", "张伟", "李伟", "王芳", "李娜", "刘伟", "张敏", "李静", "王静", "王秀英")
LONG_HISTORY = {"activities": 400, "contacts": 60, "addresses": 30, "phones": 6, "contracts": 11, "tags": 20}
TARGETS = {  # measurement -> (percentile, ms)
    "lookup_db": ("p99", 1.0), "lookup_api": ("p99", 15.0), "lookup_html": ("p99", 15.0),
    "list_city": ("p95", 50.0), "list_name": ("p95", 50.0), "detail": ("p99", 50.0),
    "detail_long": ("p99", 50.0),
}
QUERY_BUDGET_360 = 8


# --- statistics ---------------------------------------------------------------------------------

def pct(samples: list[float], p: float) -> float:
    """Nearest-rank percentile of seconds, in ms."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1e3


def summary(samples: list[float]) -> dict:
    if not samples:
        return {"n": 0}
    return {"n": len(samples), "p50_ms": pct(samples, 50), "p95_ms": pct(samples, 95), "p99_ms": pct(samples, 99),
            "mean_ms": statistics.fmean(samples) * 1e3, "max_ms": max(samples) * 1e3}


def verdict(name: str, stats: dict) -> str:
    if name not in TARGETS or not stats.get("n"):
        return ""
    which, limit = TARGETS[name]
    value = stats[f"{which}_ms"]
    return f"{which} {value:.2f} ms vs ≤ {limit:g} ms: {'MET' if value <= limit else 'MISSED'}"


# --- fixtures -----------------------------------------------------------------------------------

def fixtures(tenant, database: str) -> dict:
    """Session cookie and API token of bench-sales-01; the long-history account."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cached_db import SessionStore

    from tenancy.authz_cache import token_lookup
    from tenancy.middleware import SESSION_TENANT_KEY
    from tenancy.models import Membership, User
    from tenancy.scoping import tenant_scope
    from tenancy.services import api_token_create

    user = User.objects.get(username=SALES_USERNAME.format(1))
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "tenancy.auth_backends.TenantRoleBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[SESSION_TENANT_KEY] = tenant.pk
    session.create()

    path = _env.OUT / f"bench_customers_token_{database}.txt"
    key = path.read_text().strip() if path.exists() else ""
    token = token_lookup(key) if key else None
    with tenant_scope(tenant, user=user):
        membership = Membership.objects.get(user=user)
        if token is None or token.user_id != user.pk or token.tenant_id != tenant.pk:
            _, key = api_token_create(actor=user, name="bench-customers")
            path.write_text(key)
            path.chmod(0o600)
        long_pk = long_history_account(membership)
    return {"cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}", "session_key": session.session_key,
            "token": key, "user": user, "membership": membership, "long_pk": long_pk}


def long_history_account(membership) -> int:
    """Account B00000001 with a long history (added once, through the ORM)."""
    from customers.models import (
        Activity,
        Address,
        Contact,
        Contract,
        Customer,
        CustomerPhone,
        CustomerTag,
        Tag,
    )

    customer = Customer.objects.get(number="B00000001")
    if Activity.objects.filter(customer=customer).count() >= LONG_HISTORY["activities"]:
        return customer.pk
    now = dt.datetime.now(dt.UTC)
    Activity.objects.bulk_create([
        Activity(customer=customer, owner=membership, kind="call", summary=f"历史跟进 {n}",
                 occurred_at=now - dt.timedelta(hours=6 * n)) for n in range(LONG_HISTORY["activities"])])
    contacts = []
    for n in range(LONG_HISTORY["contacts"]):
        contact = Contact(customer=customer, name=f"联系人{n:02d}", title="发货员")
        contact.phone = phone_e164(90_000_000 + n, 7)
        contact.email = f"history{n}@example.cn"
        contacts.append(contact)
    Contact.objects.bulk_create(contacts)
    addresses = []
    for n in range(LONG_HISTORY["addresses"]):
        address = Address(customer=customer, label=f"仓库{n}", province=customer.province, city=customer.city)
        address.street = f"工业路{n + 1}号{n % 9 + 1}号仓"
        addresses.append(address)
    Address.objects.bulk_create(addresses)
    phones = []
    for n in range(LONG_HISTORY["phones"]):
        phone = CustomerPhone(customer=customer, label="work")
        phone.phone = phone_e164(91_000_000 + n, 7)
        phones.append(phone)
    CustomerPhone.objects.bulk_create(phones)
    today = dt.date.today()
    Contract.objects.bulk_create([
        Contract(customer=customer, number=f"HTBENCH-{n:04d}", status="terminated",
                 start_date=today.replace(year=today.year - 12 + n, day=1),
                 end_date=today.replace(year=today.year - 11 + n, day=1), terminated_at=now)
        for n in range(LONG_HISTORY["contracts"])])
    tags = []
    for n in range(LONG_HISTORY["tags"]):
        tag = Tag.objects.filter(name=f"基准标签{n:02d}").first() or Tag.objects.create(name=f"基准标签{n:02d}")
        tags.append(tag)
    CustomerTag.objects.bulk_create([CustomerTag(customer=customer, tag=tag) for tag in tags],
                                    ignore_conflicts=True)
    return customer.pk


def samples(tenant, count: int, seed: int) -> dict:
    """Distinct phone numbers of random customers (decrypted through the ORM), the biggest cities
    by persons, common names with their match counts, random customers for the 360 page."""
    from django.db import connection
    from django.db.models import Max, Min

    from customers.models import Customer, CustomerPhone
    from customers.search import query_grams
    from tenancy.scoping import tenant_scope

    rng = random.Random(seed)
    with tenant_scope(tenant):
        bounds = Customer.objects.aggregate(lo=Min("id"), hi=Max("id"))
        lo, hi = bounds["lo"], bounds["hi"]
        ids = rng.sample(range(lo, hi + 1), min(count * 2, hi - lo + 1))
        phones = {}
        for phone in CustomerPhone.objects.filter(customer_id__in=ids).order_by("customer_id", "id"):
            phones.setdefault(phone.customer_id, phone.phone)
        phone_list = [(cid, phones[cid]) for cid in ids if cid in phones][:count]
        with connection.cursor() as cursor:
            cursor.execute("SELECT city, count(*) FROM customers_customer WHERE tenant_id = %s AND kind = 'person' "
                           "GROUP BY city ORDER BY 2 DESC LIMIT 5", [tenant.pk])
            cities = cursor.fetchall()
            names = []
            for name in COMMON_NAMES:
                cursor.execute("SELECT count(*) FROM customers_customer WHERE tenant_id = %s AND search_grams @> %s "
                               "AND name LIKE %s", [tenant.pk, query_grams(name), f"%{name}%"])
                names.append((name, cursor.fetchone()[0]))
            cursor.execute("SELECT kind, count(*) FROM customers_customer WHERE tenant_id = %s GROUP BY kind",
                           [tenant.pk])
            counts = dict(cursor.fetchall())
        detail_ids = [cid for cid in rng.sample(range(lo, hi + 1), min(count, hi - lo + 1))]
        existing = set(Customer.objects.filter(pk__in=detail_ids).values_list("pk", flat=True))
        detail_ids = [cid for cid in detail_ids if cid in existing]
        person = Customer.objects.filter(kind="person").order_by("-id").values_list("pk", flat=True)[:1][0]
        account = Customer.objects.filter(kind="account").order_by("-id").values_list("pk", flat=True)[:1][0]
    return {"phones": phone_list, "cities": cities, "names": names, "counts": counts, "detail_ids": detail_ids,
            "person_pk": person, "account_pk": account}


# --- in process ---------------------------------------------------------------------------------

def lookup_in_process(tenant, phones: list[tuple[int, str]]) -> dict:
    """`_phone_customer_ids` per distinct phone, typed the way an agent types it (national
    number); pieces: normalisation, HMAC, SQL execution (both queries, round trip included)."""
    from django.db import connection

    from customers.selectors.records import _phone_customer_ids
    from tenancy import crypto
    from tenancy.normalize import normalize_phone
    from tenancy.scoping import tenant_scope

    typed = [(cid, phone[3:6] + " " + phone[6:10] + " " + phone[10:]) for cid, phone in phones]
    sql_time = [0.0]

    def sql_timer(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_time[0] += time.perf_counter() - start

    full, sql_only, normalise, hmac_only = [], [], [], []
    wrong = 0
    with tenant_scope(tenant):
        for _, text in typed[:50]:  # warm: keyring, plans, the index's upper levels
            _phone_customer_ids(text)
        with connection.execute_wrapper(sql_timer):
            for cid, text in typed:
                sql_time[0] = 0.0
                start = time.perf_counter()
                found = _phone_customer_ids(text)
                full.append(time.perf_counter() - start)
                sql_only.append(sql_time[0])
                wrong += cid not in found
        for _, text in typed:
            start = time.perf_counter()
            e164 = normalize_phone(text)
            mid = time.perf_counter()
            crypto.blind_index(e164, tenant_id=tenant.pk, kind="phone")
            end = time.perf_counter()
            normalise.append(mid - start)
            hmac_only.append(end - mid)
        plans = explain_lookup(tenant, typed[0][1])
    return {"full": summary(full), "sql": summary(sql_only), "normalise": summary(normalise),
            "hmac": summary(hmac_only), "not_found": wrong, "explain": plans}


def explain_lookup(tenant, phone: str) -> list[dict]:
    from django.db import connection

    from customers.models import Contact, CustomerPhone
    from tenancy.selectors import blind_index_for

    bidx = blind_index_for("phone", phone)
    out = []
    for qs in (CustomerPhone.objects.filter(phone_bidx=bidx).values_list("customer_id", flat=True)[:50],
               Contact.objects.filter(phone_bidx=bidx).values_list("customer_id", flat=True)[:50]):
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = [row[0] for row in cursor.fetchall()]
        out.append({"sql": f"{sql}  -- params {params!r}", "plan": plan})
    return out


def client_for(fx: dict):
    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies[settings.SESSION_COOKIE_NAME] = fx["session_key"]
    return client


class PieceTimer:
    """Per request: seconds in SQL execution (round trip included), in template rendering
    (django.template.loader.render_to_string, which django.shortcuts.render calls) and CPU."""

    def __init__(self) -> None:
        self.sql = 0.0
        self.render = 0.0

    def sql_wrapper(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.sql += time.perf_counter() - start

    def __enter__(self):
        from django.template import loader

        self._original = original = loader.render_to_string

        def timed_render(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.render += time.perf_counter() - start

        loader.render_to_string = timed_render
        return self

    def __exit__(self, *exc) -> None:
        from django.template import loader

        loader.render_to_string = self._original


def pages_in_process(fx: dict, paths: dict[str, list[str]], requests: int) -> dict:
    """Each page through the whole middleware stack without HTTP: status, time (split into SQL,
    template rendering and the rest), CPU time, SQL of one request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(fx)
    api_headers = {"HTTP_AUTHORIZATION": f"Token {fx['token']}"}
    result = {}
    for name, urls in paths.items():
        headers = api_headers if urls[0].startswith("/api/") else {}
        first = client.get(urls[0], **headers)
        if first.status_code != 200:
            result[name] = {"status": first.status_code, "body": first.content[:300].decode(errors="replace")}
            continue
        for url in urls[1:4]:
            client.get(url, **headers)
        with CaptureQueriesContext(connection) as captured:
            client.get(urls[0], **headers)
        queries = [q["sql"] for q in captured.captured_queries]
        times, sql, render, cpu = [], [], [], []
        timer = PieceTimer()
        with timer, connection.execute_wrapper(timer.sql_wrapper):
            for n in range(requests):
                timer.sql = timer.render = 0.0
                cpu0 = time.process_time()
                start = time.perf_counter()
                response = client.get(urls[n % len(urls)], **headers)
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - cpu0)
                sql.append(timer.sql)
                render.append(timer.render)
                if response.status_code != 200:
                    result.setdefault("errors", []).append((name, urls[n % len(urls)], response.status_code))
        rest = [t - q - r for t, q, r in zip(times, sql, render, strict=True)]
        result[name] = {"status": 200, "bytes": len(first.content), "queries": queries, "time": summary(times),
                        "sql": summary(sql), "render": summary(render), "rest": summary(rest),
                        "cpu": summary(cpu)}
    return result


def query_counts_360(fx: dict, pks: dict[str, int]) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(fx)
    out = {}
    for label, pk in pks.items():
        client.get(f"/customers/{pk}/")
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/customers/{pk}/")
        out[label] = {"pk": pk, "status": response.status_code, "queries": len(captured.captured_queries),
                      "sql": [q["sql"] for q in captured.captured_queries]}
    return out


def explain_queries(tenant, fx: dict, captured: dict[str, list[str]]) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of every SELECT a page ran, in the tenant scope as the app role."""
    from django.db import connection

    from tenancy.scoping import tenant_scope

    text = []
    with tenant_scope(tenant, user=fx["user"]):
        for page, queries in captured.items():
            for n, sql in enumerate(queries, 1):
                if not sql.lstrip().upper().startswith("SELECT") or "set_config" in sql:
                    continue
                with connection.cursor() as cursor:
                    cursor.execute("SAVEPOINT bench_explain")
                    try:
                        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                        plan = "\n".join(row[0] for row in cursor.fetchall())
                    except Exception as exc:  # noqa: BLE001 — report and go on
                        plan = f"(not explainable: {exc})"
                    cursor.execute("ROLLBACK TO SAVEPOINT bench_explain")
                text.append(f"### {page} — query {n}\n{sql}\n\n{plan}\n")
    return "\n".join(text)


# --- HTTP ---------------------------------------------------------------------------------------

def http_load(port: int, urls: list[str], headers: dict, total: int, threads: int = 2) -> dict:
    """`threads` keep-alive clients share `total` requests, rotating over `urls`."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[list] = [[] for _ in range(threads)]

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        own = latencies[slot]
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
            own.append(time.perf_counter() - start)
            if resp.status != 200:
                errors[slot].append((url, resp.status))
        conn.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    flat = [x for part in latencies for x in part]
    errs = [e for part in errors for e in part]
    return {**summary(flat), "seconds": elapsed, "rps": len(flat) / elapsed, "errors": len(errs),
            "error_samples": errs[:5]}


def start_server(env: dict, port: int, threads: int):
    from .bench_api_list import start_gunicorn

    server_env = {**env, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    return start_gunicorn(server_env, port, _env.OUT / "gunicorn_customers.log", threads)


def wait_up(proc, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited; see benchmarks/out/gunicorn_customers.log")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/login/")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer; see benchmarks/out/gunicorn_customers.log")


def over_http(env: dict, fx: dict, paths: dict[str, list[str]], args, database: str) -> dict:
    from .bench_api_list import backend_pids, child_pids, cpu_seconds, stop_gunicorn

    port = _env.free_port()
    proc = start_server(env, port, args.threads)
    session_headers = {"Cookie": fx["cookie"]}
    token_headers = {"Authorization": f"Token {fx['token']}", "Accept": "application/json"}
    results = {}
    try:
        wait_up(proc, port)
        app_pids = child_pids(proc.pid)
        for name, urls in paths.items():
            headers = token_headers if urls[0].startswith("/api/") else session_headers
            warm = http_load(port, urls[-max(1, len(urls) // 4):], headers, args.warmup)
            if warm.get("n", 0) == 0 or warm["errors"] == warm["n"]:
                results[name] = {"skipped": f"warm-up failed: {warm.get('error_samples')}"}
                continue
            # gthread: each worker thread has its own persistent connection, opened on its first
            # request, so a backend may appear during the measurement: count all of its CPU then.
            db_before = {pid: cpu_seconds([pid]) for pid in backend_pids(database)}
            app0 = cpu_seconds(app_pids)
            load0 = os.getloadavg()[0]
            res = http_load(port, urls, headers, args.requests)
            db_used = sum(cpu_seconds([pid]) - db_before.get(pid, 0.0) for pid in backend_pids(database))
            res["cpu_app_ms_per_req"] = (cpu_seconds(app_pids) - app0) / max(1, res["n"]) * 1e3
            res["cpu_db_ms_per_req"] = db_used / max(1, res["n"]) * 1e3
            res["loadavg"] = (load0, os.getloadavg()[0])
            results[name] = res
            print(f"  {name:<12} {res['n']:>6} req {res['rps']:>7.1f}/s  p50 {res['p50_ms']:6.2f}  "
                  f"p95 {res['p95_ms']:6.2f}  p99 {res['p99_ms']:6.2f}  max {res['max_ms']:7.2f} ms  "
                  f"errors {res['errors']}  CPU/req {res['cpu_app_ms_per_req']:.2f}+{res['cpu_db_ms_per_req']:.2f} ms"
                  f"  {verdict(name, res)}", flush=True)
        results["server"] = {"gunicorn_workers": len(app_pids), "db_backends": len(backend_pids(database)),
                             "threads": args.threads}
    finally:
        stop_gunicorn(proc)
    return results


# --- main ---------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--tenant", default=TENANT_CODE)
    parser.add_argument("--requests", type=int, default=1500, help="measured HTTP requests per measurement")
    parser.add_argument("--warmup", type=int, default=200, help="HTTP warm-up requests per measurement")
    parser.add_argument("--lookups", type=int, default=3000, help="distinct phones for the in-process lookup")
    parser.add_argument("--in-process-requests", type=int, default=300, help="test-Client requests per page")
    parser.add_argument("--threads", type=int, default=4, choices=[1, 2, 4],
                        help="gunicorn --threads (4: gthread as in the Docker image; 1: sync workers)")
    parser.add_argument("--only", default="", help="comma-separated measurements (default: all)")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                        help="first wait up to SECONDS for the 1-min load average to drop below 0.7")
    args = parser.parse_args()
    if args.requests < 1 or args.warmup < 0 or args.lookups < 10:
        parser.error("--requests ≥ 1, --warmup ≥ 0, --lookups ≥ 10")

    env = setup_django(args.db, settings_module="courier_crm.settings.base", conn_max_age=600)
    _env.OUT.mkdir(parents=True, exist_ok=True)
    from django.db import connection

    from tenancy.models import Tenant

    from .bench_api_list import tree_state

    tenant = Tenant.objects.filter(code=args.tenant).first()
    if tenant is None:
        sys.exit(f"no tenant {args.tenant}: run python -m benchmarks.generate_customers first")
    fx = fixtures(tenant, args.db)
    data = samples(tenant, max(args.lookups, args.requests), args.seed)
    _env.wait_for_quiet(args.wait_idle)
    report = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": _env.machine(),
              "tree": tree_state(), "database": args.db, "tenant_id": tenant.pk, "counts": data["counts"],
              "cities": data["cities"], "names": data["names"], "loadavg_start": os.getloadavg()}
    print(f"bench_customers  {report['date']}  {report['machine']}\ntree: {report['tree']}")
    print(f"data: {data['counts']}; load average {report['loadavg_start'][0]:.2f}")
    print("cities (persons): " + ", ".join(f"{c} {n:,}" for c, n in data["cities"]))
    print("names (matches): " + ", ".join(f"{c} {n:,}" for c, n in data["names"]))
    only = set(filter(None, args.only.split(",")))

    # 1. lookup at the database
    if not only or "lookup_db" in only:
        res = lookup_in_process(tenant, data["phones"][:args.lookups])
        report["lookup_db"] = res
        f = res["full"]
        print(f"\n[in process] phone lookup, {f['n']} distinct phones: p50 {f['p50_ms']:.3f}  p95 {f['p95_ms']:.3f}  "
              f"p99 {f['p99_ms']:.3f}  max {f['max_ms']:.3f} ms  ({verdict('lookup_db', f)}); not found: "
              f"{res['not_found']}")
        for piece in ("normalise", "hmac", "sql"):
            s = res[piece]
            print(f"    {piece:<10} p50 {s['p50_ms']:.3f}  p99 {s['p99_ms']:.3f} ms")

    phones = [p for _, p in data["phones"][:args.requests]]
    cities = [c for c, _ in data["cities"]]
    names = [n for n, _ in data["names"]]
    paths = {
        "lookup_api": [f"/api/v1/customers/lookup/?{urlencode({'q': p[3:]})}" for p in phones],
        "lookup_html": [f"/customers/?{urlencode({'q': p[3:]})}" for p in phones],
        "list_city": [f"/customers/?kind=person&city={quote(c)}" for c in cities],
        "list_name": [f"/customers/?q={quote(n)}" for n in names],
        "detail": [f"/customers/{pk}/" for pk in data["detail_ids"]],
        "detail_long": [f"/customers/{fx['long_pk']}/"],
    }
    if only:
        paths = {k: v for k, v in paths.items() if k in only}

    # 2. pages in process: time, SQL, EXPLAIN; 360 query counts
    with_pages = {k: v for k, v in paths.items()}
    pages = pages_in_process(fx, with_pages, args.in_process_requests)
    report["in_process"] = pages
    print("\n[in process, django.test.Client, whole middleware stack]")
    for name, res in pages.items():
        if name == "errors":
            continue
        if res.get("status") != 200:
            print(f"  {name:<12} status {res.get('status')}: {res.get('body', '')[:120]!r}")
            continue
        t = res["time"]
        print(f"  {name:<12} {len(res['queries'])} queries  p50 {t['p50_ms']:.2f}  p95 {t['p95_ms']:.2f}  "
              f"p99 {t['p99_ms']:.2f} ms  ({res['bytes']:,} bytes); median split: SQL {res['sql']['p50_ms']:.2f}, "
              f"templates {res['render']['p50_ms']:.2f}, rest {res['rest']['p50_ms']:.2f} ms; "
              f"CPU {res['cpu']['p50_ms']:.2f} ms")
    if not only or {"detail", "detail_long"} & only:
        counts = query_counts_360(fx, {"person": data["person_pk"], "account": data["account_pk"],
                                       "long history account": fx["long_pk"]})
        report["queries_360"] = counts
        print(f"  360 page queries (budget ≤ {QUERY_BUDGET_360}): " + ", ".join(
            f"{label} {c['queries']} (status {c['status']})" for label, c in counts.items()))
    explain = explain_queries(tenant, fx, {name: res["queries"] for name, res in pages.items()
                                           if isinstance(res, dict) and res.get("status") == 200})
    if "lookup_db" in report:
        explain = "\n".join(f"### lookup_db\n{p['sql']}\n\n" + "\n".join(p["plan"]) + "\n"
                            for p in report["lookup_db"]["explain"]) + "\n" + explain
    (_env.OUT / "bench_customers_explain.txt").write_text(explain)
    connection.close()

    # 3. HTTP
    if not args.skip_http:
        print(f"\n[HTTP: gunicorn -w 2 --threads {args.threads}, 2 keep-alive clients, {args.warmup} warm-up + "
              f"{args.requests} requests each]")
        report["http"] = over_http(env, fx, paths, args, args.db)
    report["loadavg_end"] = os.getloadavg()
    print(f"\nload average at start {report['loadavg_start'][0]:.2f}, at end {report['loadavg_end'][0]:.2f}")
    out = _env.OUT / "bench_customers.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    print(f"written {out.relative_to(_env.BASE_DIR)}, benchmarks/out/bench_customers_explain.txt")


if __name__ == "__main__":
    main()
