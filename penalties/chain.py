"""The ledger's hash chain: its canonical form, the database trigger that extends it, and the
verifier that recomputes it (docs/ledger.md describes the format for auditors' own tools).

Canonical form of an entry (version 1), UTF-8, fields joined by "|":

    v1 | tenant id | sequence | kind | case id | employee membership id or "" | branch id |
    violation type id | tier | amount ("-123.40") | currency | effective on (YYYY-MM-DD) |
    recorded at (microseconds since the Unix epoch, UTC) | recorded by user id or "" |
    SHA-256 of the memo (hex)

entry hash = SHA-256(previous entry's hash ‖ canonical form); the first entry's previous hash is
32 zero bytes. Every field is a number, a code or a hex digest, so no escaping is needed; the memo
(free text) enters through its digest.

The same form is written three times — in Python (`canonical_text`, for exports and tests), in the
trigger's SQL (migration 0002, frozen there as migrations must be) and in the verifier's query
(`CANONICAL_SQL`) — and tests hold the three equal."""
from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import queue
import threading
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter

from django.db import connection, transaction
from psycopg.types.string import ByteaBinaryLoader

from tenancy.scoping import current_tenant_id

from .models import GENESIS_HASH

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
CENTS = Decimal("0.01")


def _canonical_sql(row: str) -> str:
    p = f"{row}." if row else ""
    return (
        f"concat_ws('|', 'v1', {p}tenant_id, {p}sequence, {p}kind, {p}case_id, "
        f"coalesce({p}subject_membership_id::text, ''), {p}branch_id, {p}violation_type_id, {p}tier, "
        f"{p}amount::text, {p}currency, to_char({p}effective_on, 'YYYY-MM-DD'), "
        f"(extract(epoch from {p}recorded_at) * 1000000)::bigint, coalesce({p}recorded_by_id::text, ''), "
        f"encode(sha256(convert_to({p}memo, 'UTF8')), 'hex'))"
    )


CANONICAL_SQL = _canonical_sql("")
VERIFY_SQL = (f"SELECT sequence, prev_hash, entry_hash, convert_to({CANONICAL_SQL}, 'UTF8') "  # noqa: S608 — constant
              "FROM penalties_ledgerentry WHERE tenant_id = %s ORDER BY sequence, id")


def canonical_text(entry) -> str:
    """The canonical form of a LedgerEntry (or any object with its fields)."""
    micros = (entry.recorded_at - EPOCH) // dt.timedelta(microseconds=1)
    return "|".join([
        "v1", str(entry.tenant_id), str(entry.sequence), entry.kind, str(entry.case_id),
        str(entry.subject_membership_id or ""), str(entry.branch_id), str(entry.violation_type_id), entry.tier,
        format(Decimal(entry.amount).quantize(CENTS), "f"), entry.currency, entry.effective_on.isoformat(),
        str(micros), str(entry.recorded_by_id or ""), hashlib.sha256((entry.memo or "").encode()).hexdigest(),
    ])


def entry_hash(prev_hash: bytes, canonical: str | bytes) -> bytes:
    data = canonical.encode() if isinstance(canonical, str) else canonical
    return hashlib.sha256(bytes(prev_hash) + data).digest()


# --- verification ----------------------------------------------------------------------------------

@dataclass
class ChainReport:
    ok: bool = True
    entries_checked: int = 0
    checkpoints_checked: int = 0
    head_sequence: int | None = None
    head_hash: bytes = GENESIS_HASH
    first_bad_sequence: int | None = None
    problem: str = ""
    problem_code: str = ""
    checkpoint_problems: list[str] = field(default_factory=list)

    def fail(self, sequence: int, code: str, problem: str) -> ChainReport:
        self.ok = False
        self.first_bad_sequence = sequence
        self.problem_code = code
        self.problem = problem
        return self


FETCH_ROWS = 2_000  # rows per FETCH: small batches keep both sides in cache (20,000 was ~15 % slower)

# The verifier's own query, VERIFY_SQL's rows in a cheaper shape (the bytes hashed are exactly the same):
# - the canonical form without its last field, the memo's digest, plus the memo itself: chain_walk
#   appends "|" + SHA-256(memo) in Python (concat_ws leaves out a NULL, and so does chain_walk).
#   PostgreSQL's sha256() costs more per call than the rest of the row (OpenSSL's per-call set-up);
# - text comes back as its raw bytes (binary format, UTF-8 client encoding): the bytes convert_to(…,
#   'UTF8') gives, without two conversions per row on the server;
# - ORDER BY sequence alone, read in index order, and the id: rows sharing a sequence number (possible
#   only if the unique constraint was dropped) are put in id order by _chain_order, so chain_walk sees
#   VERIFY_SQL's order (sequence, id) without the server sorting every row.
_MEMO_DIGEST_SQL = "encode(sha256(convert_to(memo, 'UTF8')), 'hex')"
_PREFIX_SQL = CANONICAL_SQL.removesuffix(f", {_MEMO_DIGEST_SQL})") + ")"
if _PREFIX_SQL == CANONICAL_SQL + ")":
    raise ImportError("penalties.chain: CANONICAL_SQL no longer ends with the memo's digest")
_WALK_SQL = ("SELECT sequence, id, prev_hash, entry_hash, {prefix}, {memo} FROM penalties_ledgerentry "
             "WHERE tenant_id = %s ORDER BY sequence")
_WALK_SQL_TEXT = _WALK_SQL.format(prefix=_PREFIX_SQL, memo="memo")
_WALK_SQL_BYTEA = _WALK_SQL.format(prefix=f"convert_to({_PREFIX_SQL}, 'UTF8')", memo="convert_to(memo, 'UTF8')")


def _sequence_then_id(row: tuple) -> tuple:
    return (row[0] is None, row[0] or 0, row[1])  # PostgreSQL's ORDER BY sequence, id (NULLS LAST)


def _chain_order(batches: Iterator[list[tuple]]) -> Iterator[list[tuple]]:
    """Batches of rows (sequence, id, …) in sequence order → the same rows in (sequence, id) order.
    The rows sharing the last sequence number of a batch are held back for the next one (more rows
    with that number may follow); a batch in which two rows share a number (a tampered chain) is
    sorted by (sequence, id)."""
    held: list[tuple] = []
    for rows in batches:
        if held:
            rows = held + rows
        last = rows[-1][0]
        cut = len(rows) - 1
        while cut and rows[cut - 1][0] == last:
            cut -= 1
        held = rows[cut:]
        if cut:
            yield _in_order(rows[:cut])
    if held:
        yield _in_order(held)


def _in_order(rows: list[tuple]) -> list[tuple]:
    if len(set(map(itemgetter(0), rows))) != len(rows):
        rows.sort(key=_sequence_then_id)
    return rows


def _batches(cursor, fetch_rows: int) -> Iterator[list[tuple]]:
    """The cursor's rows, `fetch_rows` at a time. The next batch is fetched in a helper thread while
    the caller hashes the current one, so PostgreSQL computes rows and Python hashes them at the same
    time (psycopg releases the GIL while it waits for the server). The thread is stopped and joined
    when the generator is closed — also when the caller stops early — so the cursor can be closed."""
    handoff: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def fetch() -> None:
        try:
            while not stop.is_set():
                rows = cursor.fetchmany(fetch_rows)
                handoff.put(rows)
                if not rows:
                    return
        except BaseException as exc:  # noqa: BLE001 — handed to the caller's thread and raised there
            handoff.put(exc)

    worker = threading.Thread(target=fetch, name="ledger-verify-fetch", daemon=True)
    worker.start()
    try:
        while True:
            rows = handoff.get()
            if isinstance(rows, BaseException):
                raise rows
            if not rows:
                return
            yield rows
    finally:
        stop.set()
        while worker.is_alive():  # unblock a fetcher waiting to hand over a batch nobody wants
            try:
                handoff.get(timeout=0.05)
            except queue.Empty:
                pass
        worker.join()


def chain_walk(*, checkpoints: dict[int, bytes] | None = None, fetch_rows: int = FETCH_ROWS) -> ChainReport:
    """Recompute the current company's chain from PostgreSQL (a server-side cursor, so a chain of
    any length runs in constant memory) and compare every link, every hash and every checkpoint's
    head hash. Stops at the first bad sequence number.

    Problem codes: missing (a sequence number is absent: a row was deleted), duplicate (a sequence
    number appears twice, or rows are out of order), link (the stored previous hash is not the
    previous entry's hash: a row was inserted or reordered), hash (the row's content no longer gives
    its hash: a row was changed), checkpoint (a signed checkpoint's head hash differs from the
    recomputed chain), truncated (a checkpoint names a sequence past the last entry)."""
    tenant_id = current_tenant_id()
    checkpoints = dict(checkpoints or {})
    report = ChainReport()
    sha256 = hashlib.sha256
    with transaction.atomic():
        raw = connection.connection  # psycopg connection inside the scope's transaction
        with raw.cursor(name="ledger_verify", binary=True) as cursor, \
                closing(_batches(cursor, fetch_rows)) as batches:  # starts fetching at the first batch
            cursor.itersize = fetch_rows
            if codecs.lookup(raw.info.encoding).name == "utf-8":
                for text_type in ("text", "varchar"):  # text as its UTF-8 bytes (psycopg's C bytea loader)
                    cursor.adapters.register_loader(text_type, ByteaBinaryLoader)
                cursor.execute(_WALK_SQL_TEXT, [tenant_id])
            else:
                cursor.execute(_WALK_SQL_BYTEA, [tenant_id])
            prev = GENESIS_HASH
            expected = 1
            checked = 0
            for rows in _chain_order(batches):
                for sequence, _id, stored_prev, stored_hash, prefix, memo in rows:
                    if sequence != expected:
                        report.entries_checked = checked
                        if sequence > expected:
                            return report.fail(expected, "missing", f"entry {expected} is missing")
                        return report.fail(sequence, "duplicate", f"entry {sequence} appears out of order or twice")
                    if stored_prev != prev:
                        report.entries_checked = checked
                        return report.fail(sequence, "link", f"entry {sequence} does not follow entry {sequence - 1}")
                    if memo is None:  # concat_ws leaves a NULL out
                        computed = sha256(prev + prefix).digest()
                    else:
                        computed = sha256(prev + prefix + b"|" + sha256(memo).hexdigest().encode()).digest()
                    if computed != stored_hash:
                        report.entries_checked = checked
                        return report.fail(sequence, "hash", f"entry {sequence} was changed after it was written")
                    if sequence in checkpoints:
                        report.checkpoints_checked += 1
                        if checkpoints.pop(sequence) != computed:
                            report.entries_checked = checked
                            return report.fail(sequence, "checkpoint",
                                               f"the signed checkpoint at entry {sequence} does not match the chain")
                    prev = computed
                    expected += 1
                    checked += 1
    report.entries_checked = checked
    report.head_sequence = expected - 1 if checked else None
    report.head_hash = prev
    if checkpoints:
        first = min(checkpoints)
        return report.fail(expected, "truncated",
                           f"a signed checkpoint names entry {first}, but the chain ends at entry {expected - 1}")
    return report
