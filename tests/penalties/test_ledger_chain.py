"""The fine ledger's hash chain (DOMAIN.md §5, penalties.chain, migration 0002):

1. the Python canonical form hashes to what the database trigger wrote (any memo);
2. sequence numbers are gapless per company, each company's chain its own;
3. the application role cannot change, delete or truncate entries, nor write the head;
4. tampering by someone who can (a superuser with the triggers off) is found, at the right
   sequence number — a changed, deleted, inserted or reordered row, a changed last row, a
   checkpoint whose hash or signature was changed, and a consistent rewrite of the tail;
5. eight writers appending at once leave a gapless, valid chain;
6. checkpoints are signed only when there is something new, and verification runs are recorded.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row

from penalties import chain, services, signing
from penalties.models import (
    GENESIS_HASH,
    EntryKind,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerHead,
    LedgerVerification,
    Tier,
    VerificationStatus,
    ViolationCase,
)
from penalties.services.ledger import checkpoint_signature_valid
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.tickets.races import _empty_tables_as_the_owner  # noqa: F401 — the fixture is used by pytest

from .fines_world import act, confirmed, proposed, seed_catalogue

TABLE = LedgerEntry._meta.db_table
HEAD_TABLE = LedgerHead._meta.db_table
CHECKPOINT_TABLE = LedgerCheckpoint._meta.db_table


def _fetch(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall() if cursor.description else []


def _sequences(tw) -> list[int]:
    with tenant_scope(tw.tenant):
        return list(LedgerEntry.objects.order_by("sequence").values_list("sequence", flat=True))


def _append(case: ViolationCase, amount="10.00", *, kind=EntryKind.FINE_ISSUED, memo="", now=None,
            effective_on=None, actor=None) -> LedgerEntry:
    return services.ledger_append(kind=kind, case=case, amount=Decimal(amount), actor=actor,
                                  effective_on=effective_on or timezone.localdate(), memo=memo, now=now)


# --- 1. the canonical form ---------------------------------------------------------------------------------

# Text as it can be stored: no NUL, no lone surrogates (the services refuse both).
TEXT = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))
memos = st.text(alphabet=TEXT, max_size=600) | st.sampled_from([
    "", "|", "a|b|c", "\n", "line one\nline two|", "罚款|扣款\r\n备注", "😀|\u200b|\u2028", "|" * 500, "\\|\\n",
])


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(memo=memos,
       amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2),
       kind=st.sampled_from(list(EntryKind.values)),
       recorded_at=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1),
                                timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8))])),
       effective_on=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)),
       by_someone=st.booleans())
def test_the_python_canonical_form_gives_the_hash_the_trigger_wrote(world, memo, amount, kind, recorded_at,
                                                                     effective_on, by_someone):
    tw = world.a
    if not hasattr(world, "_case"):
        seed_catalogue(world)
        world._case = proposed(tw)
    actor = tw.user(Role.EXECUTIVE) if by_someone else None
    with tenant_scope(tw.tenant):
        case = ViolationCase.objects.get(pk=world._case.pk)
        _, prev = services.ledger_head()
        created = _append(case, str(amount), kind=kind, memo=memo, now=recorded_at, effective_on=effective_on,
                          actor=actor)
        stored = LedgerEntry.objects.get(pk=created.pk)
        assert stored.memo == memo[:500]
        assert bytes(stored.prev_hash) == prev
        for entry in (created, stored):  # as created (values given) and as read back
            text = chain.canonical_text(entry)
            assert text.count("|") == 14, text  # the memo enters as its digest: no stray separators
            assert chain.entry_hash(prev, text) == bytes(stored.entry_hash)
        # The verifier's SQL writes the same bytes.
        ((sql_text,),) = _fetch(f"SELECT convert_to({chain.CANONICAL_SQL}, 'UTF8') FROM {TABLE} "  # noqa: S608
                                "WHERE id = %s", [created.pk])
        assert bytes(sql_text) == chain.canonical_text(stored).encode()
        assert hashlib.sha256(prev + bytes(sql_text)).digest() == bytes(stored.entry_hash)
        assert services.ledger_head() == (stored.sequence, bytes(stored.entry_hash))


@pytest.mark.django_db
def test_the_canonical_form_is_the_documented_one(world):
    seed_catalogue(world)
    tw = world.a
    case = confirmed(tw, amount="1234.5")
    with tenant_scope(tw.tenant):
        entry = LedgerEntry.objects.get(case_id=case.pk)
        micros = int(entry.recorded_at.timestamp()) * 1_000_000 + entry.recorded_at.microsecond
        assert chain.canonical_text(entry) == "|".join([
            "v1", str(tw.tenant.pk), "1", "fine_issued", str(case.pk), str(tw.members[Role.AGENT].pk),
            str(tw.branch.pk), str(case.violation_type_id), "general", "1234.50", "CNY",
            entry.effective_on.isoformat(), str(micros), str(tw.user(Role.EXECUTIVE).pk),
            hashlib.sha256(b"").hexdigest()])
        assert bytes(entry.prev_hash) == GENESIS_HASH
        assert bytes(entry.entry_hash) == hashlib.sha256(GENESIS_HASH + chain.canonical_text(entry).encode()).digest()


# --- 2. gapless per company -------------------------------------------------------------------------------

@pytest.mark.django_db
def test_sequences_are_gapless_per_company_and_the_chains_independent(world):
    seed_catalogue(world)
    a, b = world.a, world.b
    confirmed(a)
    confirmed(b)
    second = confirmed(a, amount="500")
    act(a, a.user(Role.AGENT), services.case_appeal, case=second, grounds="申诉")
    act(a, a.user(Role.TENANT_ADMIN), services.appeal_decide, case=second, outcome="overturned", reason="撤销")
    confirmed(b, amount="700")
    third = confirmed(a, amount="900")
    act(a, a.user(Role.BRANCH_MANAGER), services.case_payment_record, case=third, amount="100", method="cash")
    assert _sequences(a) == [1, 2, 3, 4, 5]
    assert _sequences(b) == [1, 2]
    for tw in (a, b):
        with tenant_scope(tw.tenant):
            entries = list(LedgerEntry.objects.order_by("sequence"))
            assert bytes(entries[0].prev_hash) == GENESIS_HASH
            for before, after in zip(entries, entries[1:], strict=False):
                assert bytes(after.prev_hash) == bytes(before.entry_hash)
            report = chain.chain_walk()
            assert report.ok and report.entries_checked == len(entries)
            assert report.head_sequence == entries[-1].sequence
            assert report.head_hash == bytes(entries[-1].entry_hash)
            assert services.ledger_head() == (entries[-1].sequence, bytes(entries[-1].entry_hash))
            assert LedgerHead.objects.count() == 1
    # B's first entry does not follow A's chain.
    with tenant_scope(a.tenant):
        a_hashes = {bytes(h) for h in LedgerEntry.objects.values_list("entry_hash", flat=True)}
    with tenant_scope(b.tenant):
        assert not a_hashes & {bytes(h) for h in LedgerEntry.objects.values_list("prev_hash", flat=True)}


@pytest.mark.django_db
def test_the_trigger_overwrites_whatever_the_application_sends(world):
    seed_catalogue(world)
    tw = world.a
    case = confirmed(tw)
    with tenant_scope(tw.tenant):
        case = ViolationCase.objects.get(pk=case.pk)
        forged = LedgerEntry.objects.create(
            sequence=77, prev_hash=b"\x01" * 32, entry_hash=b"\x02" * 32, kind=EntryKind.FINE_ISSUED, case=case,
            subject_kind=case.subject_kind, subject_membership=case.subject_membership, branch=case.branch,
            violation_type=case.violation_type, tier=case.tier, amount=Decimal("5.00"),
            effective_on=timezone.localdate())
        forged.refresh_from_db()
        assert forged.sequence == 2
        first = LedgerEntry.objects.get(sequence=1)
        assert bytes(forged.prev_hash) == bytes(first.entry_hash)
        assert bytes(forged.entry_hash) == chain.entry_hash(bytes(first.entry_hash), chain.canonical_text(forged))
        assert chain.chain_walk().ok


@pytest.mark.django_db
def test_raw_sql_sequence_and_hash_are_overwritten_too(world):
    seed_catalogue(world)
    tw = world.a
    case = proposed(tw)
    with tenant_scope(tw.tenant):
        _raw_insert(tw, case, count=3, sequence=5, forged_hash=True)
        assert list(LedgerEntry.objects.order_by("sequence").values_list("sequence", flat=True)) == [1, 2, 3]
        assert chain.chain_walk().ok


# --- 3. the application role cannot change the ledger ------------------------------------------------------

@pytest.mark.django_db
def test_the_application_role_cannot_update_delete_or_truncate_entries(world):
    seed_catalogue(world)
    tw = world.a
    case = confirmed(tw, amount="1000")
    with tenant_scope(tw.tenant):
        entry = LedgerEntry.objects.get(case_id=case.pk)
        snapshot = _fetch(f"SELECT * FROM {TABLE} WHERE id = %s", [entry.pk])  # noqa: S608
        for sql in (f"UPDATE {TABLE} SET amount = 1 WHERE id = %s",  # noqa: S608
                    f"UPDATE {TABLE} SET memo = 'changed' WHERE id = %s",  # noqa: S608
                    f"DELETE FROM {TABLE} WHERE id = %s",  # noqa: S608
                    f"TRUNCATE {TABLE}"):
            with pytest.raises(DatabaseError), transaction.atomic():
                _fetch(sql, [entry.pk] if "%s" in sql else None)
        with pytest.raises(DatabaseError), transaction.atomic():  # through the ORM as well
            LedgerEntry.objects.filter(pk=entry.pk).update(memo="changed")
        with pytest.raises(DatabaseError), transaction.atomic():
            LedgerEntry.objects.filter(pk=entry.pk).delete()
        assert _fetch(f"SELECT * FROM {TABLE} WHERE id = %s", [entry.pk]) == snapshot  # noqa: S608
        assert chain.chain_walk().ok


@pytest.mark.django_db
def test_the_application_role_cannot_write_the_head(world):
    seed_catalogue(world)
    a, b = world.a, world.b
    confirmed(a)
    with tenant_scope(a.tenant):
        head = _fetch(f"SELECT tenant_id, last_sequence, last_hash FROM {HEAD_TABLE}")  # noqa: S608
        assert len(head) == 1 and head[0][1] == 1
        for sql, params in ((f"UPDATE {HEAD_TABLE} SET last_sequence = 0", []),  # noqa: S608
                            (f"UPDATE {HEAD_TABLE} SET last_hash = %s", [b"\x00" * 32]),  # noqa: S608
                            (f"DELETE FROM {HEAD_TABLE}", []),  # noqa: S608
                            (f"INSERT INTO {HEAD_TABLE} (tenant_id, last_sequence, last_hash, updated_at) "  # noqa: S608
                             "VALUES (%s, 0, %s, now())", [a.tenant.pk, b"\x00" * 32])):
            with pytest.raises(DatabaseError), transaction.atomic():
                _fetch(sql, params)
        assert _fetch(f"SELECT tenant_id, last_sequence, last_hash FROM {HEAD_TABLE}") == head  # noqa: S608
    with tenant_scope(b.tenant):  # B has no head yet, and may not make one either
        with pytest.raises(DatabaseError), transaction.atomic():
            _fetch(f"INSERT INTO {HEAD_TABLE} (tenant_id, last_sequence, last_hash, updated_at) "  # noqa: S608
                   "VALUES (%s, 41, %s, now())", [b.tenant.pk, b"\x00" * 32])
        assert _fetch(f"SELECT count(*) FROM {HEAD_TABLE}") == [(0,)]  # noqa: S608


@pytest.mark.django_db
def test_the_application_role_cannot_write_into_another_companys_chain(world):
    seed_catalogue(world)
    a, b = world.a, world.b
    case = confirmed(a)
    with tenant_scope(a.tenant):
        head = services.ledger_head()
    with tenant_scope(b.tenant):
        assert _fetch(f"SELECT count(*) FROM {TABLE}") == [(0,)]  # noqa: S608
        with pytest.raises(DatabaseError), transaction.atomic():  # row-level security's WITH CHECK
            _raw_insert(a, case, count=1, tenant_id=a.tenant.pk)
    assert _sequences(a) == [1]
    assert _sequences(b) == []
    with tenant_scope(a.tenant):
        assert services.ledger_head() == head


# --- helpers for raw chains and the superuser -------------------------------------------------------------

def _raw_insert(tw, case, *, count: int, sequence: int = 0, forged_hash: bool = False,
                tenant_id: int | None = None, start: int = 1) -> None:
    """`count` fine_issued entries of `case` in one INSERT … SELECT (the trigger fires per row)."""
    membership = case.subject_membership_id
    _fetch(
        f"""INSERT INTO {TABLE} (tenant_id, sequence, prev_hash, entry_hash, kind, case_id, subject_kind,
                subject_membership_id, branch_id, violation_type_id, tier, amount, currency, effective_on,
                payment_method, memo, recorded_by_id, recorded_at)
            SELECT %s, %s, %s, %s, 'fine_issued', %s, %s, %s, %s, %s, %s, (mod(g, 997) + 1) * 1.25, 'CNY',
                   current_date - mod(g, 30), '', 'entry ' || g || ' | 第' || g || '笔' || chr(10) || 'end',
                   NULL, now() - (g * interval '1 millisecond')
            FROM generate_series(%s, %s) AS g""",  # noqa: S608
        [tenant_id or tw.tenant.pk, sequence, b"\x07" * 32 if forged_hash else b"",
         b"\x08" * 32 if forged_hash else b"", case.pk, case.subject_kind, membership, case.branch_id,
         case.violation_type_id, case.tier, start, start + count - 1])


def _superuser_dsn() -> str | None:
    """A superuser's connection string (devserver passes the admin URL it bootstrapped with)."""
    for var in ("CRM_DB_ADMIN_URL", "DATABASE_OWNER_URL"):
        dsn = os.environ.get(var, "")
        if not dsn:
            continue
        dsn = dsn.replace("postgres://", "postgresql://", 1)
        try:
            with psycopg.connect(dsn, dbname=connection.settings_dict["NAME"]) as conn:
                if conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
                    return dsn
        except psycopg.Error:
            continue
    return None


@contextmanager
def superuser() -> Iterator[psycopg.Connection]:
    """A superuser's transaction on the test database with every trigger off (replica mode):
    what an attacker with the database's keys could do. Committed when the block ends."""
    dsn = _superuser_dsn()
    if dsn is None:
        pytest.skip("the tamper tests need a superuser connection (CRM_DB_ADMIN_URL)")
    with psycopg.connect(dsn, dbname=connection.settings_dict["NAME"], row_factory=dict_row) as conn:
        conn.execute("SET session_replication_role = replica")
        yield conn


def _row(su, tenant_id: int, sequence: int) -> dict:
    return su.execute(f"SELECT * FROM {TABLE} WHERE tenant_id = %s AND sequence = %s ORDER BY id",  # noqa: S608
                      [tenant_id, sequence]).fetchone()


def _insert_rows(su, rows: list[dict]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    su.cursor().executemany(
        f"INSERT INTO {TABLE} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",  # noqa: S608
        [[r[c] for c in columns] for r in rows])


def _shift(su, tenant_id: int, from_sequence: int, by: int) -> None:
    """Renumber entries from `from_sequence` on by `by` (through negative numbers: the unique
    constraint is checked row by row)."""
    su.execute(f"UPDATE {TABLE} SET sequence = -sequence WHERE tenant_id = %s AND sequence >= %s",  # noqa: S608
               [tenant_id, from_sequence])
    su.execute(f"UPDATE {TABLE} SET sequence = -sequence + %s WHERE tenant_id = %s AND sequence < 0",  # noqa: S608
               [by, tenant_id])


def _python_hash(row: dict, prev: bytes) -> bytes:
    return chain.entry_hash(prev, chain.canonical_text(_Entry(row)))


class _Entry:
    """A row dict read by the superuser, with the attribute names canonical_text reads."""

    def __init__(self, row: dict):
        self.__dict__.update(row)


# --- 4. the tamper test -----------------------------------------------------------------------------------

CHAIN_LENGTH = 10_000
CHECKPOINT_AT = 9_000


@dataclass
class Tamper:
    name: str
    tamper: Callable
    restore: Callable
    walk: tuple[int, str] | None       # what chain_walk() (no checkpoints) finds
    verify: tuple[int, str] | None     # what ledger_verify() (signatures + checkpoints) finds
    also: tuple = ()                   # other (walk, verify) findings that are right as well


def _tampers(tid: int) -> list[Tamper]:
    saved: dict = {}

    def change(sequence: int, column: str, expression: str) -> Tamper:
        def tamper(su):
            saved[(sequence, column)] = _row(su, tid, sequence)[column]
            su.execute(f"UPDATE {TABLE} SET {column} = {expression} WHERE tenant_id = %s AND sequence = %s",  # noqa: S608
                       [tid, sequence])

        def restore(su):
            su.execute(f"UPDATE {TABLE} SET {column} = %s WHERE tenant_id = %s AND sequence = %s",  # noqa: S608
                       [saved[(sequence, column)], tid, sequence])
        return tamper, restore

    def hash_change(sequence, column, expression, code="hash"):
        tamper, restore = change(sequence, column, expression)
        found = (sequence, code)
        return Tamper(f"{column} of {sequence}", tamper, restore, found, found)

    def delete(sequences: range, walk, verify, name):
        def tamper(su):
            saved[name] = su.execute(
                f"SELECT * FROM {TABLE} WHERE tenant_id = %s AND sequence BETWEEN %s AND %s ORDER BY sequence",  # noqa: S608
                [tid, sequences.start, sequences.stop - 1]).fetchall()
            su.execute(f"DELETE FROM {TABLE} WHERE tenant_id = %s AND sequence BETWEEN %s AND %s",  # noqa: S608
                       [tid, sequences.start, sequences.stop - 1])

        def restore(su):
            _insert_rows(su, saved[name])
        return Tamper(name, tamper, restore, walk, verify)

    def forged_insert(sequence: int, *, well_formed: bool) -> Tamper:
        name = f"forged row inserted at {sequence} ({'well-formed' if well_formed else 'garbage hash'})"

        def tamper(su):
            template = _row(su, tid, sequence)
            prev = bytes(_row(su, tid, sequence - 1)["entry_hash"])
            _shift(su, tid, sequence, 1)
            forged = {k: v for k, v in template.items() if k != "id"}
            forged.update(amount=Decimal("0.01"), memo="forged", prev_hash=prev, sequence=sequence)
            forged["entry_hash"] = _python_hash(forged, prev) if well_formed else b"\x66" * 32
            _insert_rows(su, [forged])

        def restore(su):
            su.execute(f"DELETE FROM {TABLE} WHERE tenant_id = %s AND memo = 'forged'", [tid])  # noqa: S608
            _shift(su, tid, sequence + 1, -1)
        # A well-formed forgery is a valid entry at its place: the chain breaks at the next one.
        found = (sequence + 1, "link") if well_formed else (sequence, "hash")
        return Tamper(name, tamper, restore, found, found)

    def duplicate(sequence: int) -> Tamper:
        def tamper(su):
            su.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT ledgerentry_sequence_per_tenant")
            forged = {k: v for k, v in _row(su, tid, sequence).items() if k != "id"}
            forged.update(amount=Decimal("0.01"), memo="forged")
            _insert_rows(su, [forged])

        def restore(su):
            su.execute(f"DELETE FROM {TABLE} WHERE tenant_id = %s AND memo = 'forged'", [tid])  # noqa: S608
            su.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT ledgerentry_sequence_per_tenant "
                       "UNIQUE (tenant_id, sequence)")
        return Tamper(f"second row numbered {sequence}", tamper, restore, (sequence, "duplicate"),
                      (sequence, "duplicate"))

    def swap(sequence: int) -> Tamper:
        def renumber(su):
            su.execute(f"UPDATE {TABLE} SET sequence = -1 WHERE tenant_id = %s AND sequence = %s",  # noqa: S608
                       [tid, sequence])
            su.execute(f"UPDATE {TABLE} SET sequence = %s WHERE tenant_id = %s AND sequence = %s",  # noqa: S608
                       [sequence, tid, sequence + 1])
            su.execute(f"UPDATE {TABLE} SET sequence = %s WHERE tenant_id = %s AND sequence = -1",  # noqa: S608
                       [sequence + 1, tid])
        return Tamper(f"{sequence} and {sequence + 1} swapped", renumber, renumber, (sequence, "link"),
                      (sequence, "link"))

    def checkpoint_change(column: str) -> Tamper:
        def tamper(su):
            saved[column] = su.execute(
                f"SELECT {column} FROM {CHECKPOINT_TABLE} WHERE tenant_id = %s AND sequence = %s",  # noqa: S608
                [tid, CHECKPOINT_AT]).fetchone()[column]
            changed = bytes(saved[column])[:-1] + bytes([bytes(saved[column])[-1] ^ 1])
            su.execute(f"UPDATE {CHECKPOINT_TABLE} SET {column} = %s WHERE tenant_id = %s AND sequence = %s",  # noqa: S608
                       [changed, tid, CHECKPOINT_AT])

        def restore(su):
            su.execute(f"UPDATE {CHECKPOINT_TABLE} SET {column} = %s WHERE tenant_id = %s AND sequence = %s",  # noqa: S608
                       [saved[column], tid, CHECKPOINT_AT])
        return Tamper(f"checkpoint {column} changed", tamper, restore, None, (CHECKPOINT_AT, "signature"))

    def rewrite(sequence: int) -> Tamper:
        """Change a row and recompute its hash and every later one, and the head: a chain that is
        consistent in itself, which only the signed checkpoint can catch."""
        def tamper(su):
            rows = su.execute(f"SELECT * FROM {TABLE} WHERE tenant_id = %s AND sequence >= %s "  # noqa: S608
                              "ORDER BY sequence", [tid, sequence]).fetchall()
            saved["rewrite"] = [(r["id"], r["amount"], r["prev_hash"], r["entry_hash"]) for r in rows]
            saved["head"] = su.execute(f"SELECT last_hash FROM {HEAD_TABLE} WHERE tenant_id = %s",  # noqa: S608
                                       [tid]).fetchone()["last_hash"]
            prev = bytes(_row(su, tid, sequence - 1)["entry_hash"])
            updates = []
            for r in rows:
                if r["sequence"] == sequence:
                    r["amount"] = r["amount"] + Decimal("1000")
                r["prev_hash"] = prev
                r["entry_hash"] = prev = _python_hash(r, prev)
                updates.append((r["amount"], r["prev_hash"], r["entry_hash"], r["id"]))
            su.cursor().executemany(f"UPDATE {TABLE} SET amount = %s, prev_hash = %s, entry_hash = %s "  # noqa: S608
                                    "WHERE id = %s", updates)
            su.execute(f"UPDATE {HEAD_TABLE} SET last_hash = %s WHERE tenant_id = %s", [prev, tid])  # noqa: S608

        def restore(su):
            su.cursor().executemany(f"UPDATE {TABLE} SET amount = %s, prev_hash = %s, entry_hash = %s "  # noqa: S608
                                    "WHERE id = %s", [(a, p, h, i) for i, a, p, h in saved["rewrite"]])
            su.execute(f"UPDATE {HEAD_TABLE} SET last_hash = %s WHERE tenant_id = %s",  # noqa: S608
                       [saved["head"], tid])
        return Tamper(f"consistent rewrite from {sequence}", tamper, restore, None, (CHECKPOINT_AT, "checkpoint"))

    truncated = delete(range(CHECKPOINT_AT, CHAIN_LENGTH + 1), None, (CHECKPOINT_AT, "truncated"),
                       "every row from the checkpoint on deleted")
    # (A verifier that also compares the chain with the company's head finds the walk short too.)
    truncated.also = tuple(((CHECKPOINT_AT, "missing"), verify) for verify in
                           ((CHECKPOINT_AT, "truncated"), (CHECKPOINT_AT, "missing")))
    return [
        hash_change(4321, "amount", "amount + 1"),
        hash_change(1, "memo", "memo || ' '"),
        hash_change(2500, "recorded_at", "recorded_at + interval '1 microsecond'"),
        hash_change(3333, "effective_on", "effective_on - 1"),
        hash_change(3500, "kind", "'regulator_fine'"),
        hash_change(3600, "tier", "'minor'"),
        hash_change(3700, "recorded_by_id", "(SELECT min(id) FROM tenancy_user)"),
        hash_change(1234, "entry_hash", "sha256(entry_hash)"),
        hash_change(3000, "prev_hash", "sha256(prev_hash)", code="link"),
        hash_change(CHAIN_LENGTH, "amount", "amount + 0.01"),
        delete(range(5000, 5001), (5000, "missing"), (5000, "missing"), "row 5000 deleted"),
        delete(range(1, 2), (1, "missing"), (1, "missing"), "first row deleted"),
        forged_insert(6000, well_formed=False),
        forged_insert(6000, well_formed=True),
        duplicate(6000),
        swap(7000),
        checkpoint_change("head_hash"),
        checkpoint_change("signature"),
        rewrite(8000),
        truncated,
    ]


def _outcome(report) -> tuple[int, str] | None:
    return None if report.ok else (report.first_bad_sequence, report.problem_code)


@pytest.mark.django_db(transaction=True)
def test_tampering_is_found_at_the_right_sequence(world):
    if _superuser_dsn() is None:
        pytest.skip("the tamper tests need a superuser connection (CRM_DB_ADMIN_URL)")
    seed_catalogue(world)
    tw = world.a
    case = proposed(tw)
    tid = tw.tenant.pk
    with tenant_scope(tw.tenant):
        _raw_insert(tw, case, count=CHECKPOINT_AT)
    with tenant_scope(tw.tenant):
        checkpoint = services.ledger_checkpoint_create()
        assert checkpoint is not None and checkpoint.sequence == CHECKPOINT_AT
    with tenant_scope(tw.tenant):
        _raw_insert(tw, case, count=CHAIN_LENGTH - CHECKPOINT_AT, start=CHECKPOINT_AT + 1)
    with tenant_scope(tw.tenant):
        assert services.ledger_head()[0] == CHAIN_LENGTH
        clean = services.ledger_verify()
        assert clean.ok and clean.head_sequence == CHAIN_LENGTH and clean.checkpoints_checked == 1
        assert clean.entries_checked == CHAIN_LENGTH

    results = []
    for item in _tampers(tid):
        with superuser() as su:
            item.tamper(su)
        try:
            with tenant_scope(tw.tenant):
                found = (_outcome(chain.chain_walk()), _outcome(services.ledger_verify()))
                # A broken chain is never signed; the refusal is recorded as a failed verification.
                signed = services.ledger_checkpoint_create() if item.verify[1] != "signature" else None
                recorded = services.ledger_verification_run(source="test")
        finally:
            with superuser() as su:
                item.restore(su)
        results.append((item.name, [(item.walk, item.verify), *item.also], found))
        assert signed is None, item.name
        assert recorded.status == (VerificationStatus.FAILED if item.verify else VerificationStatus.PASSED)
        assert (recorded.first_bad_sequence, bool(recorded.problem)) == (
            (item.verify[0], True) if item.verify else (None, False)), item.name
        with tenant_scope(tw.tenant):  # restored exactly
            after = services.ledger_verify()
            assert after.ok and after.head_sequence == CHAIN_LENGTH, (item.name, after)

    missed = [(name, expected[0], found) for name, expected, found in results if found not in expected]
    assert not missed, "\n".join(f"{name}: expected {expected}, found {found}" for name, expected, found in missed)
    with tenant_scope(tw.tenant):
        assert LedgerCheckpoint.objects.count() == 1  # nothing was signed over a broken chain
        failed = LedgerVerification.objects.filter(status=VerificationStatus.FAILED, source="checkpoint")
        assert failed.count() == sum(1 for item in _tampers(tid) if item.verify[1] != "signature")
        constraint = _fetch("SELECT 1 FROM pg_constraint WHERE conname = 'ledgerentry_sequence_per_tenant'")
        assert constraint == [(1,)]


@pytest.mark.django_db(transaction=True)
def test_deleting_the_newest_entry_is_found(world):
    """The newest entries, deleted: the chain that is left is consistent in itself, but the
    company's head (kept by the trigger) knows how far it went."""
    if _superuser_dsn() is None:
        pytest.skip("the tamper tests need a superuser connection (CRM_DB_ADMIN_URL)")
    seed_catalogue(world)
    tw = world.a
    case = proposed(tw)
    with tenant_scope(tw.tenant):
        _raw_insert(tw, case, count=5)
    with superuser() as su:
        su.execute(f"DELETE FROM {TABLE} WHERE tenant_id = %s AND sequence = 5", [tw.tenant.pk])  # noqa: S608
    with tenant_scope(tw.tenant):
        assert services.ledger_head()[0] == 5
        report = services.ledger_verify()
        assert not report.ok and report.first_bad_sequence == 5, report


# --- 5. concurrent writers ------------------------------------------------------------------------------

WRITERS, EACH = 8, 50


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_leave_a_gapless_valid_chain(world):
    seed_catalogue(world)
    tw = world.a
    case_id = proposed(tw).pk
    barrier = threading.Barrier(WRITERS, timeout=30)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            with tenant_scope(tw.tenant):
                case = ViolationCase.objects.select_related("violation_type", "branch", "subject_membership").get(
                    pk=case_id)
            barrier.wait()
            for i in range(EACH):
                with tenant_scope(tw.tenant):
                    _append(case, f"{writer + 1}.{i:02d}", memo=f"writer {writer} entry {i}")
        except BaseException as exc:  # noqa: BLE001 — reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    assert not errors, errors
    with tenant_scope(tw.tenant):
        assert _sequences(tw) == list(range(1, WRITERS * EACH + 1))
        memos = set(LedgerEntry.objects.values_list("memo", flat=True))
        assert memos == {f"writer {w} entry {i}" for w in range(WRITERS) for i in range(EACH)}
        report = chain.chain_walk()
        assert report.ok and report.entries_checked == WRITERS * EACH
        assert services.ledger_head() == (WRITERS * EACH, report.head_hash)
        # Each writer's own entries are in its order (a writer's next append follows its last).
        for w in range(WRITERS):
            own = list(LedgerEntry.objects.filter(memo__startswith=f"writer {w} ").order_by("sequence")
                       .values_list("memo", flat=True))
            assert own == [f"writer {w} entry {i}" for i in range(EACH)]


# --- 6. checkpoints and verification runs ------------------------------------------------------------------

@pytest.mark.django_db
def test_checkpoints_are_signed_only_when_there_is_something_new(world):
    seed_catalogue(world)
    a, b = world.a, world.b
    with tenant_scope(a.tenant):
        assert services.ledger_checkpoint_create() is None  # an empty ledger
    case = confirmed(a)
    with tenant_scope(a.tenant):
        first = services.ledger_checkpoint_create()
        assert first is not None and first.sequence == 1
        assert bytes(first.head_hash) == services.ledger_head()[1]
        assert first.key_id == signing.current_key_id()
        assert services.ledger_checkpoint_create() is None  # nothing new
        assert LedgerCheckpoint.objects.count() == 1
        # The signature verifies with the public key, over the documented message.
        message = signing.checkpoint_message(tenant_id=a.tenant.pk, sequence=1, head_hash=bytes(first.head_hash),
                                             signed_at=first.signed_at)
        assert message.decode().split("\n")[:4] == [signing.MESSAGE_TAG, str(a.tenant.pk), "1",
                                                    bytes(first.head_hash).hex()]
        assert signing.signature_valid(key_id=first.key_id, message=message, signature=bytes(first.signature))
        signing.public_key().verify(bytes(first.signature), message)  # raises if not
        stored = LedgerCheckpoint.objects.get(pk=first.pk)
        assert checkpoint_signature_valid(stored)
        # Not valid for another company, another sequence or another hash.
        assert not checkpoint_signature_valid(stored, tenant_id=b.tenant.pk)
        for changed in ({"sequence": 2}, {"head_hash": bytes(32)}, {"tenant_id": b.tenant.pk}):
            args = {"tenant_id": a.tenant.pk, "sequence": 1, "head_hash": bytes(first.head_hash),
                    "signed_at": first.signed_at, **changed}
            assert not signing.signature_valid(key_id=first.key_id, message=signing.checkpoint_message(**args),
                                               signature=bytes(first.signature))
        assert not signing.signature_valid(key_id="0" * 16, message=message, signature=bytes(first.signature))
    act(a, a.user(Role.BRANCH_MANAGER), services.case_payment_record, case=case, amount="100", method="cash")
    with tenant_scope(a.tenant):
        second = services.ledger_checkpoint_create()
        assert second is not None and second.sequence == 2
        assert bytes(second.head_hash) == services.ledger_head()[1]
        assert services.ledger_checkpoint_create() is None
        assert list(LedgerCheckpoint.objects.order_by("sequence").values_list("sequence", flat=True)) == [1, 2]
        report = services.ledger_verify()
        assert report.ok and report.checkpoints_checked == 2 and report.head_sequence == 2
    with tenant_scope(b.tenant):  # B's checkpoints are B's own
        assert LedgerCheckpoint.objects.count() == 0
        assert services.ledger_checkpoint_create() is None


@pytest.mark.django_db
def test_a_verification_run_records_what_it_found(world):
    seed_catalogue(world)
    a = world.a
    confirmed(a)
    confirmed(a, amount="300")
    with tenant_scope(a.tenant):
        services.ledger_checkpoint_create()
        run = services.ledger_verification_run(source="schedule")
        run = LedgerVerification.objects.get(pk=run.pk)
        assert run.status == VerificationStatus.PASSED
        assert (run.entries_checked, run.checkpoints_checked, run.head_sequence) == (2, 1, 2)
        assert run.first_bad_sequence is None and run.problem == ""
        assert run.started_at is not None and run.finished_at >= run.started_at
        # A requested run is run once.
        queued = LedgerVerification.objects.create(source="request")
        done = services.ledger_verification_run(verification_id=queued.pk)
        assert done.pk == queued.pk and done.status == VerificationStatus.PASSED
        finished_at = done.finished_at
        again = services.ledger_verification_run(verification_id=queued.pk)
        assert again.finished_at == finished_at
        assert LedgerVerification.objects.count() == 2


@pytest.mark.django_db
def test_a_forged_checkpoint_is_a_verification_failure(world):
    """A checkpoint the application role could write (the table takes inserts) but not sign."""
    seed_catalogue(world)
    a = world.a
    confirmed(a)
    confirmed(a, amount="300")
    with tenant_scope(a.tenant):
        head_sequence, head_hash = services.ledger_head()
        LedgerCheckpoint.objects.create(sequence=1, head_hash=bytes(32), signed_at=timezone.now(),
                                        key_id=signing.current_key_id(), signature=bytes(64))
        report = services.ledger_verify()
        assert not report.ok and (report.first_bad_sequence, report.problem_code) == (1, "signature")
        run = services.ledger_verification_run()
        assert run.status == VerificationStatus.FAILED and run.first_bad_sequence == 1
        # And its wrong hash is what the walk itself reports.
        walked = chain.chain_walk(checkpoints={1: bytes(32)})
        assert (walked.first_bad_sequence, walked.problem_code) == (1, "checkpoint")
        walked = chain.chain_walk(checkpoints={head_sequence + 1: head_hash})
        assert (walked.first_bad_sequence, walked.problem_code) == (head_sequence + 1, "truncated")


@pytest.mark.django_db
def test_ledger_entries_keep_the_sign_rule(world):
    seed_catalogue(world)
    a = world.a
    case = proposed(a)
    with tenant_scope(a.tenant):
        case = ViolationCase.objects.get(pk=case.pk)
        with pytest.raises(ValueError):
            _append(case, "-1")
        with pytest.raises(ValueError):
            _append(case, "1", kind="bonus")
        entry = _append(case, "5", kind=EntryKind.PAYMENT_RECEIVED)
        assert entry.amount == Decimal("-5")
        with pytest.raises(DatabaseError), transaction.atomic():  # the database holds the sign too
            LedgerEntry.objects.create(kind=EntryKind.FINE_ISSUED, case=case, subject_kind=case.subject_kind,
                                       subject_membership=case.subject_membership, branch=case.branch,
                                       violation_type=case.violation_type, tier=Tier.MINOR,
                                       amount=Decimal("-1"), effective_on=timezone.localdate())
        assert _sequences(a) == [1]
