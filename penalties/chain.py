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

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction

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


FETCH_ROWS = 20_000


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
        with raw.cursor(name="ledger_verify", binary=True) as cursor:
            cursor.itersize = fetch_rows
            cursor.execute(VERIFY_SQL, [tenant_id])
            prev = GENESIS_HASH
            expected = 1
            checked = 0
            while True:
                rows = cursor.fetchmany(fetch_rows)
                if not rows:
                    break
                for sequence, stored_prev, stored_hash, canonical in rows:
                    if sequence != expected:
                        report.entries_checked = checked
                        if sequence > expected:
                            return report.fail(expected, "missing", f"entry {expected} is missing")
                        return report.fail(sequence, "duplicate", f"entry {sequence} appears out of order or twice")
                    if stored_prev != prev:
                        report.entries_checked = checked
                        return report.fail(sequence, "link", f"entry {sequence} does not follow entry {sequence - 1}")
                    computed = sha256(prev + canonical).digest()
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
