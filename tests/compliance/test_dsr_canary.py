"""The promises of data-subject requests, checked against the whole database:

- an access export holds every record that a search of all the tenant's tables (decrypted) finds
  holding the person's values;
- a deletion leaves no plaintext and no blind index of the person anywhere — searched in a pg_dump
  of the test database — while money, statistics and the fine ledger stay whole;
- another company's person with the same phone number is untouched."""
from __future__ import annotations

import json
import os
import subprocess
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from compliance.models import DsrKind, DsrStatus, JobStatus
from compliance.services.requests import (
    dsr_close,
    dsr_erase,
    dsr_export_build,
    dsr_export_download,
    dsr_export_request,
    dsr_register,
    dsr_verify_identity,
    subject_collect,
)
from compliance.subject import live_blind_indexes
from penalties import services as penalties_services
from shipments.models import Waybill
from tenancy.scoping import tenant_scope
from tests.compliance.canary import CANARY, build_person, export_records, rows_holding
from tests.penalties.fines_world import confirmed, seed_catalogue
from tests.tickets.races import _empty_tables_as_the_owner  # noqa: F401 — the fixture is used by pytest
from tickets.models import Claim, ClaimPayout, Ticket


def _register(tw, kind: str):
    with tenant_scope(tw.tenant, user=tw.user("agent")):
        return dsr_register(actor=tw.user("agent"), kind=kind, subject_name=CANARY.name,
                            subject_phone=CANARY.phone_local, channel="hotline")


def _verified(tw, dsr):
    admin = tw.user("tenant_admin")
    with tenant_scope(tw.tenant, user=admin):
        return dsr_verify_identity(actor=admin, dsr=dsr, method="id_document", note="checked at the counter")


def test_access_export_holds_every_record_a_full_search_finds(world):
    build_person(world.a)
    build_person(world.b)  # the same person's values at another company: never in A's export
    dsr = _verified(world.a, _register(world.a, DsrKind.ACCESS))
    admin = world.a.user("tenant_admin")
    with tenant_scope(world.a.tenant, user=admin):
        export = dsr_export_request(actor=admin, dsr=dsr)
        export = dsr_export_build(export=export)
        assert export.status == JobStatus.DONE and export.record_count > 0
        document = json.loads(export.content)
    # (The export itself holds everything, being the answer: it is not part of the question.)
    held = rows_holding(world.a.tenant, CANARY.strings()) - {("compliance.dsrexport", export.pk)}
    exported = export_records(document)
    # The request itself holds the person's details too, and is part of their data.
    assert held, "the search found nothing: the canary person was not built"
    missing = held - exported
    assert not missing, f"records holding the person's data but missing from the export: {sorted(missing)}"
    # The deletion preview counts the same records in the database, without reading them.
    with tenant_scope(world.a.tenant, user=admin):
        from compliance.services.requests import dsr_preview

        preview = dsr_preview(dsr)
    assert preview == {name: len(rows) for name, rows in document["sections"].items() if rows}
    # Every section carries plain values the person can read.
    text = export.content
    for value in (CANARY.name, CANARY.email, CANARY.id_number, CANARY.street, CANARY.account):
        assert value in text, value
    with tenant_scope(world.b.tenant):
        b_records = rows_holding(world.b.tenant, CANARY.strings())
    assert not (b_records & exported) or all(pk not in {p for _, p in b_records} for _, pk in exported)


def test_export_downloads_once_to_the_handler_and_is_logged(world):
    from compliance.models import AccessLog

    build_person(world.a)
    dsr = _verified(world.a, _register(world.a, DsrKind.ACCESS))
    admin = world.a.user("tenant_admin")
    with tenant_scope(world.a.tenant, user=admin):
        export = dsr_export_build(export=dsr_export_request(actor=admin, dsr=dsr))
        name, body = dsr_export_download(actor=admin, membership=world.a.members["tenant_admin"], export=export)
        assert name == f"{dsr.number}.json" and CANARY.email in body.decode()
        row = AccessLog.objects.get(target_type="compliance.datasubjectrequest", target_id=dsr.pk)
        assert row.action == "export" and row.export_file_sha256 == export.sha256
        export.refresh_from_db()
        assert export.content is None and export.downloaded_at is not None
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError):
            dsr_export_download(actor=admin, membership=world.a.members["tenant_admin"], export=export)
        dsr = dsr_close(actor=admin, dsr=dsr, status=DsrStatus.COMPLETED, resolution="sent by email")
        assert dsr.status == DsrStatus.COMPLETED


def _pg_dump() -> str:
    dsn = os.environ.get("CRM_DB_ADMIN_URL", "")
    if not dsn:
        pytest.skip("the pg_dump check needs the admin connection (CRM_DB_ADMIN_URL)")
    dsn = dsn.replace("postgres://", "postgresql://", 1).rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    result = subprocess.run(["pg_dump", "--data-only", "--no-owner", dsn], capture_output=True, check=True)
    return result.stdout.decode("utf-8", errors="replace")


def _dump_rows_of(dump: str, tenant_id: int) -> list[str]:
    """The data lines of a pg_dump that belong to one tenant (tables without a tenant column:
    every line, to be safe)."""
    rows, tenant_at = [], None
    in_copy = False
    for line in dump.splitlines():
        if line.startswith("COPY "):
            columns = [c.strip().strip('"') for c in line[line.index("(") + 1:line.index(")")].split(",")]
            tenant_at = columns.index("tenant_id") if "tenant_id" in columns else None
            in_copy = True
            continue
        if in_copy and line == "\\.":
            in_copy = False
            continue
        if in_copy and (tenant_at is None or line.split("\t")[tenant_at] == str(tenant_id)):
            rows.append(line)
    return rows


@pytest.mark.django_db(transaction=True)
def test_deletion_leaves_no_plaintext_or_blind_index_and_keeps_money_and_ledger(world):
    seed_catalogue(world)
    person = build_person(world.a)
    build_person(world.b)
    with tenant_scope(world.a.tenant):
        bidxs = (live_blind_indexes("phone", CANARY.phone) | live_blind_indexes("phone", CANARY.second_phone)
                 | live_blind_indexes("email", CANARY.email) | live_blind_indexes("id_number", CANARY.id_number))
    with tenant_scope(world.b.tenant):
        b_bidxs = live_blind_indexes("phone", CANARY.phone)
    assert bidxs and b_bidxs and not (bidxs & b_bidxs)  # index keys differ per company
    # A fine on the ledger that points at the person's ticket and waybill.
    confirmed(world.a, ticket=person["ticket"], waybill=person["waybills"][1])
    before = _pg_dump()
    assert CANARY.name in before and any(b in before for b in bidxs)  # the dump does see them

    dsr = _verified(world.a, _register(world.a, DsrKind.DELETION))
    admin = world.a.user("tenant_admin")
    with tenant_scope(world.a.tenant, user=admin):
        counts = dsr_erase(actor=admin, dsr=dsr, confirm_number=dsr.number)
        assert counts["customers.customers"] == 2 and counts["tickets.tickets"] == 1
        dsr = dsr_close(actor=admin, dsr=dsr, status=DsrStatus.COMPLETED, resolution="erased")

    after = _pg_dump()
    leftovers = [line for line in _dump_rows_of(after, world.a.tenant.pk) if any(s in line for s in CANARY.strings())]
    assert not leftovers, "plaintext of the person left in tenant A:\n" + "\n".join(leftovers[:10])
    assert not [b for b in bidxs if b in after], "a blind index of the person is left"
    assert any(b in after for b in b_bidxs), "tenant B's customer must be untouched"
    assert not rows_holding(world.a.tenant, CANARY.strings())
    assert rows_holding(world.b.tenant, CANARY.strings())

    with tenant_scope(world.a.tenant):
        # Money and statistics stay: the payout, the claim's amounts, the waybills' fees.
        payout = ClaimPayout.objects.get(claim=person["claim"])
        assert payout.amount == Decimal("30.00") and payout.payee_name == "" and payout.payee_account is None
        claim = Claim.objects.get(pk=person["claim"].pk)
        assert claim.approved_amount == Decimal("30.00") and claim.status == "approved"
        fees = sorted(Waybill.objects.filter(pk__in=[w.pk for w in person["waybills"]])
                      .values_list("service_fee", flat=True))
        assert fees == [Decimal("8.00"), Decimal("12.00")]
        ticket = Ticket.objects.get(pk=person["ticket"].pk)
        assert ticket.personal_data_erased_at is not None and ticket.category == "delay"
        # The fine ledger is whole and still verifies.
        report = penalties_services.ledger_verify()
        assert report.ok and report.head_sequence >= 1
        # The request keeps its number and outcome, without the person's details.
        dsr.refresh_from_db()
        assert dsr.subject_phone is None and dsr.subject_phone_bidx is None and dsr.subject_erased_at
        assert subject_collect(dsr)["record_count"] >= 0


def test_erase_needs_verified_identity_and_the_typed_number(world):
    from django.core.exceptions import ValidationError

    build_person(world.a)
    dsr = _register(world.a, DsrKind.DELETION)
    admin = world.a.user("tenant_admin")
    with tenant_scope(world.a.tenant, user=admin):
        with pytest.raises(ValidationError) as not_verified:
            dsr_erase(actor=admin, dsr=dsr, confirm_number=dsr.number)
        assert "identity_method" in not_verified.value.message_dict
    dsr = _verified(world.a, dsr)
    with tenant_scope(world.a.tenant, user=admin):
        with pytest.raises(ValidationError) as wrong:
            dsr_erase(actor=admin, dsr=dsr, confirm_number="DSR-0000")
        assert "confirm_number" in wrong.value.message_dict
        assert rows_holding(world.a.tenant, [CANARY.email])


def test_clock_pipl_counts_working_days_and_gdpr_a_month(world):
    import datetime as dt

    from django.utils import timezone

    from compliance.services.requests import dsr_due

    with tenant_scope(world.a.tenant):
        monday = timezone.make_aware(dt.datetime(2026, 3, 2, 10, 0))
        due = timezone.localtime(dsr_due("pipl", monday))
        assert due.date() == dt.date(2026, 3, 23)  # 15 working days: three weeks of weekdays
        jan31 = timezone.make_aware(dt.datetime(2026, 1, 31, 9, 0))
        assert timezone.localtime(dsr_due("gdpr", jan31)).date() == dt.date(2026, 2, 28)


def test_register_needs_an_identifier_and_names_the_field(world):
    from django.core.exceptions import ValidationError

    agent = world.a.user("agent")
    with tenant_scope(world.a.tenant, user=agent):
        with pytest.raises(ValidationError) as missing:
            dsr_register(actor=agent, kind=DsrKind.ACCESS, subject_name="某人")
        assert "subject_phone" in missing.value.message_dict
        with pytest.raises(ValidationError) as bad_phone:
            dsr_register(actor=agent, kind=DsrKind.ACCESS, subject_phone="12")
        assert "subject_phone" in bad_phone.value.message_dict
    auditor = world.a.user("auditor")
    with tenant_scope(world.a.tenant, user=auditor):
        from django.core.exceptions import PermissionDenied

        with pytest.raises(PermissionDenied):
            dsr_register(actor=auditor, kind=DsrKind.ACCESS, subject_phone=CANARY.phone_local)
    assert reverse("compliance:dsr_page", args=[1])


def test_reminders_reach_the_owner_or_every_tenant_admin_once_a_day(world):
    import datetime as dt

    from django.utils import timezone

    from compliance.services.requests import dsr_assign, dsr_remind_at_risk
    from tenancy.models import Notification

    agent, admin = world.a.user("agent"), world.a.user("tenant_admin")
    with tenant_scope(world.a.tenant, user=agent):
        late = dsr_register(actor=agent, kind=DsrKind.ACCESS, subject_phone=CANARY.phone_local,
                            received_at=timezone.now() - dt.timedelta(days=40))
        owned = dsr_register(actor=agent, kind=DsrKind.ACCESS, subject_phone="13912340000",
                             received_at=timezone.now() - dt.timedelta(days=40))
        dsr_register(actor=agent, kind=DsrKind.ACCESS, subject_phone="13912340001")  # on track: no reminder
    with tenant_scope(world.a.tenant, user=admin):
        dsr_assign(actor=admin, dsr=owned, owner=world.a.members["tenant_admin"])
        Notification.objects.all().delete()
        assert dsr_remind_at_risk() == 2  # one tenant admin: the unowned request and the owned one
        assert dsr_remind_at_risk() == 0  # once a day
        titles = set(Notification.objects.values_list("title", flat=True))
        assert any(late.number in t for t in titles) and any(owned.number in t for t in titles)
    with tenant_scope(world.b.tenant):
        assert not Notification.objects.exists()
