"""Data generator for the shipment benchmarks (issue 5): on the tenant of the customer benchmarks
(benchmarks.generate_customers), a branch network, 2,000,000 waybills over 90 days and ~20,000,000
tracking events in the month partitions, with the waybills' status fields folded from their events.

    .venv/bin/python -m benchmarks.generate_shipments [--waybills 2000000] [--days 90] [--workers 2]
        [--db courier_crm_bench] [--database-url URL] [--seal-share 0.1] [--no-vacuum]

- Django (as the application role crm_app, under row-level security) ensures the branch network of
  tenant `bench` (HQ → `--regions` regional hubs → `--branches` delivery branches, idempotent) and
  reads the senders (the tenant's accounts, weighted by their daily-volume level, and a sample of
  persons) and the tenant's data and index keys.
- Partitions: `SELECT crm_tracking_partition_ensure(month)` for every month the events touch.
- Rows are streamed with psycopg 3 `COPY ... FROM STDIN` by `--workers` forked processes, one
  connection each (default: the owner URL of .data/env with the benchmark database), one transaction
  per chunk of `--chunk` waybills (their waybills and all their events together; the events' foreign
  key to the waybill is deferred to the commit). Unless the role bypasses RLS, each chunk is copied
  into temporary tables and moved with `INSERT ... SELECT` under the policies (PostgreSQL refuses
  `COPY FROM` into a table with row-level security for a role subject to it; the events go through
  the partitioned parent, which routes them to the month partitions).
- Every waybill gets a lifecycle: created → picked up → origin branch → 1–2 regional hubs →
  destination branch → out for delivery (10 % twice) → delivered (12 % to a locker), 9–12 events; 1.5 % are
  refused and returned, 0.7 % damaged (half of them continue), 0.3 % lost, 0.5 % a generic exception
  before delivery, 8 % have one long line-haul delay (24–72 h) and 0.3 % stop being scanned midway.
  Events later than the generation time are not stored, so the recent waybills are still moving.
  The waybill's status, status_at, exception_kind, shipped/delivered/returned_at, last_scan_at,
  responsible branch and folded_event_* are computed with `shipments.status.fold` over the stored
  events (the same fold as ingest), and volume_day / volume_customer / volume_returned mark the
  parcel as counted.
- Afterwards the parcels are added to `shipments_customerdailyvolume` per (sender, local day of the
  created scan) with one `INSERT ... ON CONFLICT DO UPDATE` (what ingest's increments would have
  added on top of the customer generator's history), the waybill sequence continues after the ids,
  `VACUUM (ANALYZE)` (`--no-vacuum`: ANALYZE only) and a check through the ORM: decrypts, and the
  fold of the stored events of sample waybills equals their stored state.
- Personal data: sender phone is left NULL (the sender is a linked customer with its own phones);
  the receiver name, province and city are filled for every waybill, the receiver phone (with its
  blind index) and address are sealed for `--seal-share` of the waybills (default 10 %: 200,000),
  NULL for the rest — sealing is cheap, but every sealed phone adds a random 64-character key to the
  receiver blind index, which the load then maintains.
Prints rows, seconds and CPU per phase; writes benchmarks/out/generate_shipments.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import json
import multiprocessing as mp
import os
import random
import sys
import time
from dataclasses import asdict, dataclass

from . import _env
from .generate_customers import (
    DEFAULT_DB,
    GIVEN_CHARS,
    ROAD_KIND,
    ROADS,
    TENANT_CODE,
    account_level,
    phone_e164,
    region_table,
    reserve_ids,
    role_bypasses_rls,
    setup_django,
    tenant_keys,
    weighted_table,
)

APP_NAME = "generate_shipments"
WAYBILL_PREFIX = "BW"
HOUR = 3600
DAY = 86400
TZ_OFFSET = 8 * HOUR  # Asia/Shanghai, the project's TIME_ZONE (no DST)
MAX_EVENTS = 14  # event ids are reserved per waybill: waybill index × MAX_EVENTS + position
REGION_NAMES = (("华东", "上海市", "浦东新区"), ("华南", "广东省", "广州市"), ("华北", "北京市", "朝阳区"),
                ("华中", "湖北省", "武汉市"), ("西南", "四川省", "成都市"), ("西北", "陕西省", "西安市"),
                ("东北", "辽宁省", "沈阳市"), ("浙江", "浙江省", "杭州市"), ("江苏", "江苏省", "南京市"))
PRODUCTS = weighted_table((("standard", 70), ("next_day", 12), ("economy", 10), ("same_day", 2), ("freight", 3),
                           ("cold_chain", 3)), 1000)
PROMISE_DAYS = {"standard": 3, "next_day": 1, "economy": 5, "same_day": 0, "freight": 5, "cold_chain": 2}
SPEED = {"standard": 1.0, "next_day": 0.6, "economy": 1.4, "same_day": 0.25, "freight": 1.3, "cold_chain": 0.8}
SIGNEES = ('{"signee": "本人"}', '{"signee": "家人代收"}', '{"signee": "前台代收"}', '{"signee": "同事代收"}')
LOCKERS = ('{"locker": "丰巢柜"}', '{"locker": "菜鸟驿站"}', '{"locker": "快递超市"}')
WAYBILL_TABLE = "shipments_waybill"
EVENT_TABLE = "shipments_trackingevent"
VOLUME_TABLE = "shipments_customerdailyvolume"

WAYBILL_STAGE_COLUMNS = (
    ("id", "bigint"), ("number", "text"), ("sender_id", "bigint"), ("sender_name", "text"),
    ("receiver_name", "text"), ("receiver_phone", "bytea"), ("receiver_phone_bidx", "text"),
    ("receiver_address", "bytea"), ("receiver_province", "text"), ("receiver_city", "text"),
    ("origin_branch_id", "bigint"), ("destination_branch_id", "bigint"), ("responsible_branch_id", "bigint"),
    ("product", "text"), ("weight_kg", "numeric"), ("declared_value", "numeric"), ("insured_amount", "numeric"),
    ("service_fee", "numeric"), ("promised_date", "date"), ("status", "text"), ("status_at", "bigint"),
    ("exception_kind", "text"), ("shipped_at", "bigint"), ("delivered_at", "bigint"), ("returned_at", "bigint"),
    ("last_scan_at", "bigint"), ("folded_at", "bigint"), ("folded_rank", "smallint"), ("folded_id", "text"),
    ("volume_day", "date"), ("volume_returned", "boolean"), ("created_at", "bigint"), ("updated_at", "bigint"),
)
WAYBILL_INSERT = f"""
INSERT INTO {WAYBILL_TABLE} (id, tenant_id, number, sender_id, sender_name, sender_phone, sender_phone_bidx,
    receiver_id, receiver_name, receiver_phone, receiver_phone_bidx, receiver_address, receiver_province,
    receiver_city, origin_branch_id, destination_branch_id, responsible_branch_id, product, weight_kg,
    declared_value, insured_amount, service_fee, promised_date, status, status_at, exception_kind, shipped_at,
    delivered_at, returned_at, last_scan_at, folded_event_at, folded_event_rank, folded_event_id, volume_day,
    volume_customer_id, volume_returned, created_at, updated_at)
SELECT id, %(tenant)s, number, sender_id, sender_name, NULL, NULL, NULL, receiver_name, receiver_phone,
    receiver_phone_bidx, receiver_address, receiver_province, receiver_city, origin_branch_id,
    destination_branch_id, responsible_branch_id, product, weight_kg, declared_value, insured_amount, service_fee,
    promised_date, status, to_timestamp(status_at), exception_kind, to_timestamp(shipped_at),
    to_timestamp(delivered_at), to_timestamp(returned_at), to_timestamp(last_scan_at), to_timestamp(folded_at),
    folded_rank, folded_id, volume_day, sender_id, volume_returned, to_timestamp(created_at),
    to_timestamp(updated_at)
FROM {{stage}}"""
EVENT_STAGE_COLUMNS = (
    ("id", "bigint"), ("waybill_id", "bigint"), ("source_event_id", "text"), ("event_type", "text"),
    ("event_time", "bigint"), ("site_branch_id", "bigint"), ("site_code", "text"), ("operator", "text"),
    ("attributes", "text"), ("received_delay", "int"),
)
EVENT_INSERT = f"""
INSERT INTO {EVENT_TABLE} (id, tenant_id, waybill_id, source_event_id, event_type, event_time, site_branch_id,
    site_code, operator, attributes, received_at)
SELECT id, %(tenant)s, waybill_id, source_event_id, event_type, to_timestamp(event_time), site_branch_id,
    site_code, operator, attributes::jsonb, to_timestamp(event_time + received_delay)
FROM {{stage}}"""


# --- the plan handed to the workers ---------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    dsn: str
    direct_copy: bool
    tenant_id: int
    seed: int
    waybills: int
    chunk: int
    start_ts: int            # first created scan (epoch seconds)
    now_ts: int              # events after this are not stored
    waybill_base: int
    event_base: int
    leaves: tuple[tuple[int, str, int], ...]   # (branch id, code, region index)
    hubs: tuple[tuple[int, str], ...]          # (branch id, code) per region
    accounts: tuple[tuple[int, str], ...]      # (customer id, name)
    account_cum: tuple[float, ...]             # cumulative weights of the accounts
    persons: tuple[tuple[int, str], ...]
    person_share: float
    seal_share: float
    data_version: int
    data_key: bytes
    index_key: bytes

    @property
    def span(self) -> int:
        return self.now_ts - 1800 - self.start_ts

    def created_ts(self, i: int) -> int:
        """Created scans in waybill-id order, evenly over the period (ids grow with time)."""
        return self.start_ts + (2 * i + 1) * self.span // (2 * self.waybills)


_W: dict = {}


def _worker_init(plan: Plan) -> None:
    import psycopg
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from shipments.status import WaybillState, fold

    conn = psycopg.connect(plan.dsn, autocommit=True, application_name=APP_NAME)
    conn.execute("SET temp_buffers = '256MB'")  # before the session's first temporary table
    conn.execute("SET synchronous_commit = off")
    conn.execute("SELECT set_config('app.tenant_id', %s, false)", [str(plan.tenant_id)])
    # Staging tables even for a role that could COPY directly: they turn epoch seconds into times.
    for name, columns in (("stage_waybill", WAYBILL_STAGE_COLUMNS), ("stage_event", EVENT_STAGE_COLUMNS)):
        conn.execute(f"CREATE TEMP TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns)}) "
                     "ON COMMIT DELETE ROWS")
    _W.update(plan=plan, conn=conn, aead=AESGCM(plan.data_key), fold=fold, state=WaybillState,
              regions=region_table(),
              header=bytes([1]) + plan.data_version.to_bytes(4, "big"))


def _seal(value: str, column: str, row_id: int) -> str:
    plan = _W["plan"]
    nonce = os.urandom(12)
    body = _W["aead"].encrypt(nonce, value.encode(), f"{plan.tenant_id}|{WAYBILL_TABLE}|{column}|{row_id}".encode())
    return "\\\\x" + (_W["header"] + nonce + body).hex()


def _bidx(value: str, kind: str) -> str:
    return hmac.new(_W["plan"].index_key, f"{kind}|{value}".encode(), hashlib.sha256).hexdigest()


def _n(value) -> str:
    return "\\N" if value is None else str(value)


def lifecycle(rng: random.Random, plan: Plan, t0: int, product: str) -> tuple[list[tuple], int, int]:
    """The scans of one parcel: [(epoch seconds, event type, leaf or hub site, attributes)], the
    origin and destination leaf indexes. Times strictly increase; no gap between scans exceeds
    23.5 h except the deliberate delays (8 % one line haul 24–72 h longer, lost parcels, returns)."""
    leaves, nleaves = plan.leaves, len(plan.leaves)
    origin = int(rng.random() * nleaves)
    dest = int(rng.random() * nleaves)
    if dest == origin:
        dest = (dest + 1) % nleaves
    speed = SPEED[product]
    r = rng.random
    o_site, d_site = ("L", origin), ("L", dest)
    route = [("H", leaves[origin][2])]
    if r() < 0.6:
        second = leaves[dest][2]
        if second == route[0][1]:
            second = (second + 1) % len(plan.hubs)
        route.append(("H", second))
    outcome = r()
    long_gap = r() < 0.08
    stuck_after = 2 + int(r() * 7) if r() < 0.003 else 99

    def gap(low: float, spread: float) -> int:
        return min(int((low + spread * r()) * HOUR * speed), 84_600) + 60

    t = t0
    ev = [(t, "created", o_site, "{}")]
    t += gap(0.5, 4.5)
    ev.append((t, "picked_up", o_site, "{}"))
    t += gap(0.5, 2.5)
    ev.append((t, "arrived_at_site", o_site, "{}"))
    t += gap(2, 8)                                      # waits for the evening line haul
    ev.append((t, "departed_site", o_site, "{}"))
    gap_at = int(r() * (len(route) + 1)) if long_gap else -1
    for n, hub in enumerate(route):
        t += gap(12, 11) + (int((24 + 48 * r()) * HOUR) if n == gap_at else 0)
        ev.append((t, "arrived_at_site", hub, "{}"))
        if n == 0 and 0.015 <= outcome < 0.022:
            t += int((0.2 + r()) * HOUR)
            ev.append((t, "damaged", hub, '{"note": "外包装破损"}'))
            if outcome < 0.0185:
                return _cut(ev, stuck_after), origin, dest
        t += gap(2, 10)
        ev.append((t, "departed_site", hub, "{}"))
        if n == 0 and 0.022 <= outcome < 0.025:
            t += int((24 + 24 * r()) * HOUR)
            ev.append((t, "lost", hub, '{"note": "干线遗失"}'))
            return _cut(ev, stuck_after), origin, dest
    t += gap(12, 11) + (int((24 + 48 * r()) * HOUR) if gap_at == len(route) else 0)
    ev.append((t, "arrived_at_site", d_site, "{}"))
    if 0.025 <= outcome < 0.03:
        t += int((0.5 + 2 * r()) * HOUR)
        ev.append((t, "exception", d_site, '{"note": "地址不详，联系收件人"}'))
    t += gap(8, 15)
    ev.append((t, "out_for_delivery", d_site, "{}"))
    if r() < 0.1:                                       # nobody home: out again the next day
        t += int((18 + 5 * r()) * HOUR)
        ev.append((t, "out_for_delivery", d_site, '{"attempt": 2}'))
    t += gap(0.3, 5)
    if outcome < 0.015:
        ev.append((t, "refused", d_site, '{"reason": "收件人拒收"}'))
        t += int((24 + 48 * r()) * HOUR)
        ev.append((t, "returned", o_site, "{}"))
    elif r() < 0.12:
        ev.append((t, "delivered_to_locker", d_site, LOCKERS[int(r() * len(LOCKERS))]))
    else:
        ev.append((t, "delivered", d_site, SIGNEES[int(r() * len(SIGNEES))]))
    return _cut(ev, stuck_after), origin, dest


def _cut(events: list[tuple], stuck_after: int) -> list[tuple]:
    """A parcel that stops being scanned keeps its first `stuck_after` events."""
    return events[:stuck_after] if stuck_after < len(events) else events


def _day(ts: int) -> str:
    """The local (Asia/Shanghai) date of an epoch time."""
    return (dt.date(1970, 1, 1) + dt.timedelta(days=(ts + TZ_OFFSET) // DAY)).isoformat()


def _chunk(i0: int, i1: int) -> tuple[int, int, dict, float, float, float]:
    """Generate and load waybills [i0, i1) with their events; one transaction."""
    cpu0 = time.process_time()
    start = time.perf_counter()
    plan: Plan = _W["plan"]
    rng = random.Random(plan.seed * 1_000_003 + i0)
    fold, state_cls = _W["fold"], _W["state"]
    regions = _W["regions"]
    leaves, hubs = plan.leaves, plan.hubs
    accounts, cum, persons = plan.accounts, plan.account_cum, plan.persons
    total_w = cum[-1]
    now_ts = plan.now_ts
    from bisect import bisect_right

    waybill_lines, event_lines = [], []
    statuses: dict[str, int] = {}
    for i in range(i0, i1):
        r = rng.random
        wid = plan.waybill_base + i
        number = f"{WAYBILL_PREFIX}{i + 1:010d}"
        t0 = plan.created_ts(i) + int(r() * 60)
        product = PRODUCTS[int(r() * len(PRODUCTS))]
        events, origin, dest = lifecycle(rng, plan, t0, product)
        stored = [e for e in events if e[0] <= now_ts]
        site_ids, folded_events = [], []
        base = plan.event_base + i * MAX_EVENTS
        for k, (ts, kind, (where, idx), attributes) in enumerate(stored):
            branch_id, code = (leaves[idx][0], leaves[idx][1]) if where == "L" else hubs[idx]
            source = f"{number}-{k:02d}"
            site_ids.append(branch_id)
            folded_events.append((ts, kind, source, branch_id))
            event_lines.append(f"{base + k}\t{wid}\t{source}\t{kind}\t{ts}\t{branch_id}\t{code}\t"
                               f"{code}-{int(r() * 40):02d}\t{attributes}\t{5 + int(r() * 300)}")
        state = fold(state_cls(), folded_events)
        statuses[str(state.status)] = statuses.get(str(state.status), 0) + 1
        last_ts, last_rank, last_source = state.folded
        responsible = state.responsible_branch_id or leaves[dest][0]
        if r() < plan.person_share:
            sender_id, sender_name = persons[int(r() * len(persons))]
        else:
            sender_id, sender_name = accounts[min(len(accounts) - 1, bisect_right(cum, r() * total_w))]
        province, city, _code = regions[int(r() * len(regions))]
        receiver = rng.choice("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗") + rng.choice(GIVEN_CHARS) + \
            (rng.choice(GIVEN_CHARS) if r() < 0.6 else "")
        if r() < plan.seal_share:
            phone = phone_e164(500_000_000 + i, plan.seed)
            receiver_phone, receiver_bidx = _seal(phone, "receiver_phone", wid), _bidx(phone, "phone")
            street = f"{rng.choice(ROADS)}{rng.choice(ROAD_KIND)}{1 + int(r() * 999)}号{1 + int(r() * 30)}栋"
            receiver_address = _seal(street, "receiver_address", wid)
        else:
            receiver_phone = receiver_bidx = receiver_address = None
        weight = round(0.1 + (r() ** 2) * (60 if product == "freight" else 15), 3)
        declared = round(100 + r() * 4900, 2) if r() < 0.2 else 0
        insured = declared if declared and r() < 0.3 else 0
        fee = round(6 + weight * (1.5 + r()) * (1.6 if product in ("same_day", "cold_chain") else 1), 2)
        promised = _day(t0 + PROMISE_DAYS[product] * DAY)
        volume_day = _day(state.shipped_at)
        waybill_lines.append("\t".join((
            str(wid), number, str(sender_id), sender_name, receiver, _n(receiver_phone), _n(receiver_bidx),
            _n(receiver_address), province, city, str(leaves[origin][0]), str(leaves[dest][0]), str(responsible),
            product, f"{weight:.3f}", f"{declared:.2f}", f"{insured:.2f}", f"{fee:.2f}", promised,
            state.status, _n(state.status_at), state.exception_kind, _n(state.shipped_at), _n(state.delivered_at),
            _n(state.returned_at), _n(state.last_scan_at), str(last_ts), str(last_rank), last_source,
            volume_day, "t" if state.returned_at is not None else "f", str(t0), str(last_ts),
        )))
    built = time.perf_counter() - start
    db = _load(waybill_lines, event_lines)
    return i1 - i0, len(event_lines), statuses, built, db, time.process_time() - cpu0


def _load(waybill_lines: list[str], event_lines: list[str]) -> float:
    plan: Plan = _W["plan"]
    conn = _W["conn"]
    start = time.perf_counter()
    with conn.transaction(), conn.cursor() as cur:
        for stage, columns, insert, lines in (("stage_waybill", WAYBILL_STAGE_COLUMNS, WAYBILL_INSERT, waybill_lines),
                                              ("stage_event", EVENT_STAGE_COLUMNS, EVENT_INSERT, event_lines)):
            with cur.copy(f"COPY {stage} ({', '.join(c for c, _t in columns)}) FROM STDIN") as copy:
                copy.write("\n".join(lines) + "\n")
            cur.execute(insert.format(stage=stage), {"tenant": plan.tenant_id})
    return time.perf_counter() - start


# --- coordinator ----------------------------------------------------------------------------------

def ensure_branches(tenant, regions: int, leaves_count: int) -> tuple[list, list]:
    """HQ → regional hubs (R01…) → delivery branches (S0001…), created once (ORM, tenant scope)."""
    from tenancy.fields import allocate_ids
    from tenancy.models import Branch, BranchKind
    from tenancy.scoping import tenant_scope

    with tenant_scope(tenant):
        hq = Branch.objects.get(kind=BranchKind.HQ)
        existing = {b.code: b for b in Branch.objects.filter(code__regex=r"^(R\d\d|S\d{4})$")}
        hub_objs = []
        missing = [n for n in range(regions) if f"R{n + 1:02d}" not in existing]
        ids = iter(allocate_ids(Branch, len(missing)))
        new = []
        for n in range(regions):
            code = f"R{n + 1:02d}"
            if code in existing:
                hub_objs.append(existing[code])
                continue
            name, province, city = REGION_NAMES[n % len(REGION_NAMES)]
            pk = next(ids)
            branch = Branch(pk=pk, code=code, name=f"{name}{'' if n < len(REGION_NAMES) else n + 1}大区转运中心",
                            kind=BranchKind.REGION, parent=hq, path=f"{hq.path}{pk}/", province=province, city=city)
            new.append(branch)
            hub_objs.append(branch)
        Branch.objects.bulk_create(new)
        table = region_table()
        missing = [n for n in range(leaves_count) if f"S{n + 1:04d}" not in existing]
        ids = iter(allocate_ids(Branch, len(missing)))
        new, leaf_objs = [], []
        for n in range(leaves_count):
            code = f"S{n + 1:04d}"
            if code in existing:
                leaf_objs.append(existing[code])
                continue
            hub = hub_objs[n % regions]
            province, city, _c = table[(n * 7919) % len(table)]
            pk = next(ids)
            branch = Branch(pk=pk, code=code, name=f"{city}第{n + 1}网点", kind=BranchKind.BRANCH, parent=hub,
                            path=f"{hub.path}{pk}/", province=province, city=city)
            new.append(branch)
            leaf_objs.append(branch)
        Branch.objects.bulk_create(new)
        hubs = [(b.pk, b.code) for b in hub_objs]
        leaves = [(b.pk, b.code, n % regions) for n, b in enumerate(leaf_objs)]
    return hubs, leaves


def senders(tenant, persons_sample: int, seed: int) -> tuple[list, list[float], list]:
    """Accounts (id, name) with cumulative weights (their generator's daily level) and a sample of
    persons."""
    from django.db import connection

    from tenancy.scoping import tenant_scope

    with tenant_scope(tenant), connection.cursor() as cursor:
        cursor.execute("SELECT id, name FROM customers_customer WHERE tenant_id = %s AND kind = 'account' "
                       "ORDER BY id", [tenant.pk])
        accounts = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM customers_customer WHERE tenant_id = %s AND kind = 'person'",
                       [tenant.pk])
        count = cursor.fetchone()[0]
        step = max(1, count // max(1, persons_sample))
        cursor.execute("SELECT id, name FROM customers_customer WHERE tenant_id = %s AND kind = 'person' "
                       "AND id %% %s = %s LIMIT %s", [tenant.pk, step, seed % step, persons_sample])
        persons = cursor.fetchall()
    cum, acc = [], 0.0
    for j in range(len(accounts)):
        acc += account_level(j)
        cum.append(acc)
    return accounts, cum, persons


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def verify(tenant, plan: Plan, samples: int = 300) -> list[str]:
    """Through the ORM as the application role: the fold of each sample waybill's stored events
    equals its stored state; sealed receiver values decrypt and the blind index finds them."""
    from shipments.models import TrackingEvent, Waybill
    from shipments.status import fold_all
    from tenancy.crypto import blind_index
    from tenancy.scoping import tenant_scope

    rng = random.Random(plan.seed + 7)
    checked = sealed = 0
    with tenant_scope(tenant):
        for i in rng.sample(range(plan.waybills), min(samples, plan.waybills)) + [plan.waybills - 1]:
            w = Waybill.objects.get(pk=plan.waybill_base + i)
            events = [(e.event_time, e.event_type, e.source_event_id, e.site_branch_id)
                      for e in TrackingEvent.objects.filter(waybill_id=w.pk)]
            s = fold_all(events)
            stored = (w.status, w.status_at, w.exception_kind, w.shipped_at, w.delivered_at, w.returned_at,
                      w.last_scan_at, w.responsible_branch_id,
                      (w.folded_event_at, w.folded_event_rank, w.folded_event_id))
            assert s.comparable() == stored, (w.number, s.comparable(), stored)
            checked += 1
            if w.receiver_phone:
                sealed += 1
                assert w.receiver_phone_bidx == blind_index(w.receiver_phone, tenant_id=tenant.pk, kind="phone")
                assert w.receiver_address
                assert Waybill.objects.filter(receiver_phone_bidx=w.receiver_phone_bidx).exists()
    return [f"{checked} waybills: the fold of their stored events equals their stored state; "
            f"{sealed} of them with sealed receiver phone/address decrypt and are found by blind index"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waybills", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=90, help="created scans spread over the last DAYS days")
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--database-url", default="",
                        help="connection for the COPY workers (default: DATABASE_OWNER_URL of .data/env, --db)")
    parser.add_argument("--tenant", default=TENANT_CODE)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=10_000, help="waybills (with their events) per transaction")
    parser.add_argument("--regions", type=int, default=9, help="regional hubs")
    parser.add_argument("--branches", type=int, default=300, help="delivery branches (sites)")
    parser.add_argument("--person-share", type=float, default=0.15, help="share of waybills sent by persons")
    parser.add_argument("--seal-share", type=float, default=0.10,
                        help="share of waybills with a sealed receiver phone and address")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-vacuum", action="store_true", help="ANALYZE only (no VACUUM) after loading")
    args = parser.parse_args()
    if not (1 <= args.waybills <= 20_000_000 and 1 <= args.days <= 365 and args.workers >= 1
            and args.chunk >= 100 and 0 <= args.seal_share <= 1 and 0 <= args.person_share <= 1
            and 1 <= args.regions <= 99 and 2 <= args.branches <= 9999):
        parser.error("--waybills in [1, 2e7], --days in [1, 365], --chunk ≥ 100, shares in [0, 1]")

    import psycopg

    env = setup_django(args.db)
    dsn = args.database_url or env["DATABASE_OWNER_URL"]
    from django.db import connections

    from tenancy.models import Tenant

    from .bench_api_list import cpu_seconds

    tenant = Tenant.objects.filter(code=args.tenant).first()
    if tenant is None:
        sys.exit(f"no tenant {args.tenant}: run python -m benchmarks.generate_customers first")
    t_setup = time.perf_counter()
    hubs, leaves = ensure_branches(tenant, args.regions, args.branches)
    accounts, cum, persons = senders(tenant, 50_000, args.seed)
    if not accounts:
        sys.exit(f"tenant {args.tenant} has no accounts: run python -m benchmarks.generate_customers first")
    from tenancy.scoping import tenant_scope

    with tenant_scope(tenant):
        data_version, data_key, index_key = tenant_keys(tenant.pk)
    setup_s = time.perf_counter() - t_setup

    conn = psycopg.connect(dsn, autocommit=True, application_name=APP_NAME + "-main")
    conn.execute("SELECT set_config('app.tenant_id', %s, false)", [str(tenant.pk)])
    existing = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {WAYBILL_TABLE} WHERE tenant_id = %s "
                            f"AND number LIKE %s LIMIT 1) x", [tenant.pk, WAYBILL_PREFIX + "%"]).fetchone()[0]
    if existing:
        sys.exit(f"tenant {args.tenant} already has generated waybills ({WAYBILL_PREFIX}…): recreate the database "
                 "(benchmarks/README.md) to generate again")
    direct = role_bypasses_rls(conn)
    role = conn.execute("SELECT current_user").fetchone()[0]
    now_ts = int(time.time())
    start_ts = now_ts - args.days * DAY
    load_start = os.getloadavg()
    t_load = time.perf_counter()
    months = months_between(dt.datetime.fromtimestamp(start_ts - DAY, dt.UTC).date(),
                            dt.datetime.fromtimestamp(now_ts + DAY, dt.UTC).date())
    for month in months:
        conn.execute("SELECT crm_tracking_partition_ensure(%s)", [month])
    reserve = time.perf_counter()
    plan = Plan(
        dsn=dsn, direct_copy=direct, tenant_id=tenant.pk, seed=args.seed, waybills=args.waybills, chunk=args.chunk,
        start_ts=start_ts, now_ts=now_ts, waybill_base=reserve_ids(conn, WAYBILL_TABLE, args.waybills),
        event_base=reserve_ids(conn, EVENT_TABLE, args.waybills * MAX_EVENTS), leaves=tuple(leaves),
        hubs=tuple(hubs), accounts=tuple(accounts), account_cum=tuple(cum), persons=tuple(persons),
        person_share=args.person_share, seal_share=args.seal_share, data_version=data_version, data_key=data_key,
        index_key=index_key,
    )
    reserve_s = time.perf_counter() - reserve
    print(f"generate_shipments  {dt.datetime.now().isoformat(timespec='seconds')}  {_env.machine()}")
    print(f"tenant {args.tenant} (id {tenant.pk}): {len(hubs)} hubs, {len(leaves)} branches, "
          f"{len(accounts):,} accounts + {len(persons):,} persons as senders; {args.waybills:,} waybills over "
          f"{args.days} days; "
          f"{args.workers} workers, {args.chunk:,} waybills per chunk; loading as {role} "
          f"({'direct' if direct else 'COPY into temp tables + INSERT ... SELECT, RLS applies'}); "
          f"partitions {', '.join(m.strftime('%Y-%m') for m in months)}", flush=True)

    connections.close_all()  # the forked workers must not share the parent's connection
    tasks = [(a, min(a + args.chunk, args.waybills)) for a in range(0, args.waybills, args.chunk)]
    waybills = events = 0
    statuses: dict[str, int] = {}
    gen_s = db_s = worker_cpu = 0.0
    db_cpu0 = _backend_cpu(conn)
    report_every = max(1, len(tasks) // 20)
    ctx = mp.get_context("fork")
    with ctx.Pool(args.workers, initializer=_worker_init, initargs=(plan,)) as pool:
        for n, (w, e, st, built, db, cpu) in enumerate(pool.imap_unordered(_chunk_task, tasks), 1):
            waybills += w
            events += e
            gen_s += built
            db_s += db
            worker_cpu += cpu
            for k, v in st.items():
                statuses[k] = statuses.get(k, 0) + v
            if n % report_every == 0 or n == len(tasks):
                elapsed = time.perf_counter() - t_load
                print(f"  {waybills:>11,} waybills {events:>12,} events  {elapsed:7.1f} s  "
                      f"{events / elapsed:9,.0f} events/s  load {os.getloadavg()[0]:.1f}", flush=True)
        db_cpu = _backend_cpu(conn) - db_cpu0  # before the pool ends its workers (and their backends)
    load_s = time.perf_counter() - t_load

    own = [conn.info.backend_pid]
    post_cpu0 = cpu_seconds(own)
    t_volume = time.perf_counter()
    with conn.transaction():
        cur = conn.execute(
            f"""INSERT INTO {VOLUME_TABLE} AS d (tenant_id, customer_id, day, parcels, revenue, returned, updated_at)
                SELECT %(t)s, volume_customer_id, volume_day, count(*), sum(service_fee),
                       count(*) FILTER (WHERE volume_returned), now()
                FROM {WAYBILL_TABLE} WHERE tenant_id = %(t)s AND id BETWEEN %(lo)s AND %(hi)s
                  AND volume_customer_id IS NOT NULL
                GROUP BY volume_customer_id, volume_day
                ON CONFLICT (tenant_id, customer_id, day) DO UPDATE SET parcels = d.parcels + EXCLUDED.parcels,
                  revenue = d.revenue + EXCLUDED.revenue, returned = d.returned + EXCLUDED.returned,
                  updated_at = now()""",
            {"t": tenant.pk, "lo": plan.waybill_base, "hi": plan.waybill_base + args.waybills - 1})
        volume_rows = cur.rowcount
    volume_s = time.perf_counter() - t_volume
    # Ingest numbers new waybills from the sequence; reserve_ids() already moved it past the ids.
    t_analyze = time.perf_counter()
    statement = "ANALYZE" if args.no_vacuum else "VACUUM (ANALYZE)"
    for table in (WAYBILL_TABLE, EVENT_TABLE, VOLUME_TABLE, "tenancy_branch"):
        conn.execute(f"{statement} {table}")
    analyze_s = time.perf_counter() - t_analyze
    post_cpu = cpu_seconds(own) - post_cpu0
    total_s = time.perf_counter() - t_load

    sizes = dict(conn.execute(
        """SELECT 'shipments_waybill', pg_total_relation_size('shipments_waybill')
           UNION ALL SELECT 'shipments_trackingevent (all partitions)', sum(pg_total_relation_size(c.oid))
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'shipments_trackingevent'::regclass""").fetchall())
    partitions = conn.execute(
        """SELECT c.relname, c.reltuples::bigint FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'shipments_trackingevent'::regclass ORDER BY 1""").fetchall()
    moving = conn.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE last_scan_at < now() - interval '24 hours')
            FROM {WAYBILL_TABLE} WHERE tenant_id = %s AND status IN ('picked_up', 'in_transit', 'out_for_delivery')""",
        [tenant.pk]).fetchone()
    conn.close()

    print(f"  {'waybills':<24}{waybills:>12,}")
    print(f"  {'tracking events':<24}{events:>12,}   ({events / max(1, waybills):.2f} per waybill)")
    print(f"  load (generate + COPY + INSERT ... SELECT): {load_s:.1f} s wall, {events / load_s:,.0f} events/s; "
          f"in the workers {gen_s:.1f} s generating, {db_s:.1f} s in the database; CPU: workers {worker_cpu:.0f} s, "
          f"their backends {db_cpu:.0f} s")
    print(f"  daily volume upsert: {volume_rows:,} (customer, day) rows in {volume_s:.1f} s")
    print(f"  {statement}: {analyze_s:.1f} s   (main backend CPU for both: {post_cpu:.0f} s)")
    print(f"  total: {total_s:.1f} s ({total_s / 60:.1f} min), plus {setup_s:.1f} s set-up (branches, senders, keys) "
          "and {0:.2f} s id reservation".format(reserve_s))
    print("  statuses: " + ", ".join(f"{k} {v:,} ({v / waybills:.1%})" for k, v in sorted(statuses.items())))
    print(f"  moving: {moving[0]:,} ({moving[0] / waybills:.1%}), of which last scan > 24 h ago: {moving[1]:,}")
    print("  partitions: " + ", ".join(f"{name} ~{rows:,}" for name, rows in partitions))
    print("  sizes: " + ", ".join(f"{k} {v / 2**20:,.0f} MiB" for k, v in sizes.items()))
    print(f"load average at start {load_start[0]:.2f}, at end {os.getloadavg()[0]:.2f}", flush=True)
    notes = verify(tenant, plan)
    for note in notes:
        print(f"check: {note}")
    report = {
        "date": dt.datetime.now().isoformat(timespec="seconds"), "machine": _env.machine(), "database": args.db,
        "role": role, "direct_copy": direct, "tenant": args.tenant, "tenant_id": tenant.pk,
        "args": {k: v for k, v in vars(args).items() if k != "database_url"},
        "waybills": waybills, "events": events, "statuses": statuses, "moving": moving[0], "stalled_24h": moving[1],
        "load_s": load_s, "generate_s": gen_s, "db_s": db_s, "worker_cpu_s": worker_cpu, "db_cpu_s": db_cpu,
        "volume_rows": volume_rows, "volume_s": volume_s, "analyze_statement": statement, "analyze_s": analyze_s,
        "total_s": total_s, "setup_s": setup_s, "reserve_s": reserve_s, "sizes": sizes,
        "partitions": partitions, "loadavg_start": load_start, "loadavg_end": os.getloadavg(), "checks": notes,
        "plan": {k: v for k, v in asdict(plan).items()
                 if k in ("tenant_id", "seed", "waybills", "chunk", "start_ts", "now_ts", "waybill_base",
                          "event_base", "person_share", "seal_share")},
        "hubs": hubs, "branches": len(leaves),
    }
    _env.OUT.mkdir(parents=True, exist_ok=True)
    out = _env.OUT / "generate_shipments.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    print(f"written {out.relative_to(_env.BASE_DIR)}")


def _chunk_task(task: tuple[int, int]):
    return _chunk(*task)


def _backend_cpu(conn) -> float:
    from .bench_api_list import cpu_seconds

    pids = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s "
                                       "AND datname = current_database()", [APP_NAME]).fetchall()]
    return cpu_seconds(pids)


if __name__ == "__main__":
    main()
