"""Survey dispatch benchmark (issue 10): how many surveys per second two real Celery workers send
through `tickets.tasks.surveys_send_batch` with the file gateway.

    .venv/bin/python -m benchmarks.bench_surveys [--surveys 10000] [--workers 2] [--db courier_crm_bench_surveys]
        [--create-db] [--profile] [--wait-idle 300] [--timeout 600]

Database: its own, `courier_crm_bench_surveys`, owned by crm_owner and migrated as the owner with the
roles and master key of .data/env (like the customers benchmark). `--create-db` creates it (as the
`postgres` superuser on 127.0.0.1:5432) if missing and migrates it; run again after a new migration.
Redis: database 11 of 127.0.0.1:6379, flushed at the start (no other consumer may use it).

1. Data (as the application role, row-level security on): tenant `bench-surveys`
   (`platform_tenant_create`), `--surveys` delivered waybills with a receiver phone, made once and
   reused; every run deletes the tenant's surveys and inserts one pending NPS survey by SMS per
   waybill (`customers.importing.bulk_insert`: sealed phone and blind index, one statement per 2,000).
2. `surveys_dispatch_pending(older_than=0)` queues them (chunks of 100 ids) while no worker runs, so
   the measurement sees a full queue and no enqueue cost.
3. `--workers` processes `celery -A courier_crm worker -c 1 -Q celery` (prefork, one pool child each,
   as deployed), `CRM_SURVEY_GATEWAY=file` into benchmarks/out/survey-outbox (emptied first). The
   script polls the database every 0.2 s until every survey is sent (or failed) or `--timeout`.
   Figures: surveys/s from the first `sent_at` to the last (database clock, the figure against the
   target of 200/s); surveys/s over wall clock from worker start to the last send seen (includes
   the workers' start-up); message files in the outbox (must equal the surveys).
4. `--profile`: one batch of 100 new pending surveys sent in this process with `survey_send` under
   cProfile: seconds, SQL statements per survey (`CaptureQueriesContext`), the top functions by
   cumulative time into out/bench_surveys.profile.txt.
Writes out/bench_surveys.json; the workers' log: out/bench_surveys_workers.log.
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import shutil
import signal
import subprocess
import sys
import time
from contextlib import suppress
from datetime import UTC

from . import _env
from .generate_customers import bench_environment, dotenv, with_database

DEFAULT_DB = os.environ.get("CRM_SURVEYS_BENCH_DB", "courier_crm_bench_surveys")
TENANT_CODE = "bench-surveys"
REDIS_URL = "redis://127.0.0.1:6379/11"
TARGET_PER_SECOND = 200.0
INSERT_CHUNK = 2000
OUTBOX = _env.OUT / "survey-outbox"
WORKER_LOG = _env.OUT / "bench_surveys_workers.log"


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def create_database(database: str) -> None:
    """Create `database` (owned by the owner role) if it is missing, then migrate it as the owner."""
    import psycopg

    env = bench_environment(database)
    owner_role = env.get("CRM_DB_OWNER_ROLE") or dotenv().get("CRM_DB_OWNER_ROLE") or _env.OWNER_ROLE
    with psycopg.connect(f"postgresql://postgres@{_env.PG_HOST}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            conn.execute(f'CREATE DATABASE "{database}" OWNER "{owner_role}"')
            print(f"created database {database}")
    migrate_env = dict(os.environ, **env, CRM_DB_AS_OWNER="1")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env=migrate_env,
                   cwd=_env.BASE_DIR, check=True)
    print(f"migrated {database}")


def setup_django(database: str) -> dict[str, str]:
    env = bench_environment(database)
    env["REDIS_URL"] = REDIS_URL
    os.environ.update(env)
    for name in ("CRM_DB_AS_OWNER", "DJANGO_DEBUG", "CRM_ENV_FILE"):
        os.environ.pop(name, None)
    import django

    django.setup()
    return env


def prepare(tenant, count: int) -> list[int]:
    """`count` delivered waybills (made once) and one fresh pending survey each; returns survey ids."""
    from django.utils import timezone

    from customers.importing import bulk_insert
    from shipments.models import Waybill, WaybillStatus
    from tenancy.scoping import tenant_scope
    from tickets.models import Survey, SurveyChannel, SurveyKind

    delivered = timezone.now() - dt.timedelta(hours=20)
    with tenant_scope(tenant):
        Survey.objects.all().delete()
        have = Waybill.objects.filter(number__startswith="BS").count()
    for start in range(have, count, INSERT_CHUNK):
        with tenant_scope(tenant):
            bulk_insert(Waybill, [
                Waybill(number=f"BS{i:08d}", status=WaybillStatus.DELIVERED, status_at=delivered,
                        delivered_at=delivered, receiver_name="李四", receiver_phone=f"+86137{i:08d}")
                for i in range(start, min(count, start + INSERT_CHUNK))])
    with tenant_scope(tenant):
        waybill_ids = list(Waybill.objects.filter(number__startswith="BS").order_by("number")
                           .values_list("pk", flat=True)[:count])
    created = timezone.now() - dt.timedelta(minutes=1)
    for start in range(0, len(waybill_ids), INSERT_CHUNK):
        with tenant_scope(tenant):
            bulk_insert(Survey, [
                Survey(kind=SurveyKind.NPS, waybill_id=pk, channel=SurveyChannel.SMS,
                       phone=f"+86137{start + offset:08d}", created_at=created)
                for offset, pk in enumerate(waybill_ids[start:start + INSERT_CHUNK])])
    with tenant_scope(tenant):
        return list(Survey.objects.filter(status="pending").values_list("pk", flat=True))


def progress(tenant) -> dict:
    from django.db.models import Count, Max, Min

    from tenancy.scoping import tenant_scope
    from tickets.models import Survey

    with tenant_scope(tenant):
        by_status = dict(Survey.objects.order_by().values_list("status").annotate(n=Count("id")))
        bounds = Survey.objects.filter(status="sent").aggregate(first=Min("sent_at"), last=Max("sent_at"))
    return {"by_status": by_status, **bounds}


def start_workers(env: dict, count: int) -> list[subprocess.Popen]:
    log = WORKER_LOG.open("wb")
    workers = [subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "courier_crm", "worker", "-c", "1", "-Q", "celery",
         "--loglevel", "warning", "--without-heartbeat", "--without-gossip", "--without-mingle",
         "-n", f"bench{n}@%h"],
        env=env, cwd=_env.BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for n in range(1, count + 1)]
    log.close()
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        with suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def measure(tenant, env: dict, count: int, workers: int, timeout: float) -> dict:
    import redis

    from tenancy.scoping import tenant_scope
    from tickets.services.surveys import surveys_dispatch_pending

    redis.Redis.from_url(REDIS_URL).flushdb()
    shutil.rmtree(OUTBOX, ignore_errors=True)
    OUTBOX.mkdir(parents=True)
    with tenant_scope(tenant):
        queued = surveys_dispatch_pending(older_than=dt.timedelta(0))
    worker_env = dict(env, CRM_SURVEY_GATEWAY="file", CRM_SURVEY_OUTBOX_DIR=str(OUTBOX), CRM_SURVEY_FILE_DELAY_MS="0",
                      CRM_LOG_LEVEL="WARNING")
    load_before = load()
    started = time.monotonic()
    procs = start_workers(worker_env, workers)
    first_seen = last_seen = None
    sent_seen = 0
    try:
        while time.monotonic() - started < timeout:
            state = progress(tenant)
            done = state["by_status"].get("sent", 0) + state["by_status"].get("failed", 0)
            now = time.monotonic()
            if state["by_status"].get("sent", 0) and first_seen is None:
                first_seen = now
            if done != sent_seen:
                sent_seen, last_seen = done, now
            if done >= count:
                break
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a worker exited; see {WORKER_LOG}")
            time.sleep(0.2)
    finally:
        stop_workers(procs)
    state = progress(tenant)
    sent = state["by_status"].get("sent", 0)
    db_seconds = (state["last"] - state["first"]).total_seconds() if sent > 1 else None
    result = {
        "surveys": count, "queued": queued, "workers": workers, "by_status": state["by_status"],
        "first_sent_at": state["first"].astimezone(UTC).isoformat() if state["first"] else None,
        "last_sent_at": state["last"].astimezone(UTC).isoformat() if state["last"] else None,
        "db_seconds_first_to_last": db_seconds,
        "per_second_db": round((sent - 1) / db_seconds, 1) if db_seconds else None,
        "wall_seconds_from_worker_start": round(last_seen - started, 2) if last_seen else None,
        "per_second_wall_incl_startup": round(sent / (last_seen - started), 1) if last_seen else None,
        "wall_seconds_first_to_last_seen": round(last_seen - first_seen, 2) if first_seen and last_seen else None,
        "outbox_files": sum(1 for _ in OUTBOX.glob("*.json")),
        "outbox_leftover_temporaries": sum(1 for _ in OUTBOX.glob(".sending-*")),
        "load_before": load_before, "load_after": load(),
    }
    result["target_per_second"] = TARGET_PER_SECOND
    result["verdict"] = "MET" if (result["per_second_db"] or 0) >= TARGET_PER_SECOND else "MISSED"
    return result


def profile_batch(tenant, size: int = 100) -> dict:
    """One batch sent in this process under cProfile, against the file gateway."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.services.surveys import surveys_send

    settings.CRM_SURVEY_GATEWAY = "file"
    settings.CRM_SURVEY_OUTBOX_DIR = str(OUTBOX / "profile")
    settings.CRM_SURVEY_FILE_DELAY_MS = 0
    ids = prepare(tenant, size)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        profiler.enable()
        surveys_send(tenant_id=tenant.pk, survey_ids=ids)  # what one batch task runs
        profiler.disable()
    seconds = time.perf_counter() - started
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
    sql: dict[str, int] = {}
    for query in queries.captured_queries:
        head = " ".join(query["sql"].split()[:6])
        sql[head] = sql.get(head, 0) + 1
    (_env.OUT / "bench_surveys.profile.txt").write_text(
        f"{len(ids)} surveys in {seconds:.3f} s; {len(queries)} SQL statements\n\n"
        + "\n".join(f"{n:6d}  {head}" for head, n in sorted(sql.items(), key=lambda kv: -kv[1]))
        + "\n\n" + text.getvalue())
    return {"surveys": len(ids), "seconds": round(seconds, 3), "per_second_one_process": round(len(ids) / seconds, 1),
            "sql_per_survey": round(len(queries) / max(1, len(ids)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--surveys", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--create-db", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-only", action="store_true", help="only the in-process profile of one batch")
    parser.add_argument("--wait-idle", type=float, default=0)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    _env.OUT.mkdir(parents=True, exist_ok=True)
    if args.create_db:
        create_database(args.db)
    env = setup_django(args.db)
    print(f"machine: {_env.machine()}\ndatabase: {with_database(env['DATABASE_URL'], args.db).rsplit('@', 1)[-1]}")
    with _env.tenant_with_data(TENANT_CODE, scope=False) as tenant:
        if args.profile_only:
            print("profile:", json.dumps(profile_batch(tenant)), f"(details: {_env.OUT / 'bench_surveys.profile.txt'})")
            return
        started = time.monotonic()
        ids = prepare(tenant, args.surveys)
        print(f"{len(ids)} pending surveys ready in {time.monotonic() - started:.1f} s")
        if args.wait_idle:
            print(f"load after waiting for quiet: {_env.wait_for_quiet(args.wait_idle)}")
        result = measure(tenant, env, len(ids), args.workers, args.timeout)
        print(json.dumps(result, indent=2, ensure_ascii=False))
        if args.profile:
            result["profile"] = profile_batch(tenant)
            print("profile:", json.dumps(result["profile"]), f"(details: {_env.OUT / 'bench_surveys.profile.txt'})")
    result["machine"] = _env.machine()
    result["date"] = dt.datetime.now(UTC).isoformat(timespec="seconds")
    (_env.OUT / "bench_surveys.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
