"""Retention: each data class's policy applied past its cut-off in batches, recorded per class, safe
to run twice, one run at a time per company; the page and the API."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import psycopg
import pytest
import redis
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from compliance import rules
from compliance.models import AccessLog, DataSubjectRequest, DsrExport, JobStatus, RetentionRun
from compliance.selectors.retention import months_before, retention_policies, retention_summary
from compliance.services import retention as service
from compliance.tasks.retention import platform_retention_sweep
from compliance.tasks.retention import retention_run as retention_task
from customers.models import CustomerImport
from shipments.models import Waybill
from tenancy.models import Role
from tenancy.privileged import purge_rows
from tenancy.scoping import tenant_scope
from tenancy.services import rule_set
from tests.factories.shipments import ingest, recent, waybill_events
from tickets.models import Ticket
from tickets.services import intake
from tickets.services.claims import claim_file

MINUTE = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)


# --- building the rows --------------------------------------------------------------------------

def _waybill(tw, number: str, *, delivered_at: dt.datetime | None) -> Waybill:
    ingest(tw, waybill_events(number, start=recent(), site=tw.branch.code, final=None, label=number,
                              sender_phone="13912345678", receiver_phone="13787654321"))
    with tenant_scope(tw.tenant):
        if delivered_at is not None:
            Waybill.objects.filter(number=number).update(status="delivered", delivered_at=delivered_at)
        return Waybill.objects.get(number=number)


def _ticket(tw, subject: str, *, closed_at: dt.datetime | None, waybill: Waybill | None = None) -> Ticket:
    admin = tw.user(Role.TENANT_ADMIN)
    with tenant_scope(tw.tenant, user=admin):
        ticket = intake.ticket_create(actor=admin, draft=intake.TicketDraft(
            channel="phone", category="complaint", subject=subject, description=f"{subject}：快递员态度差，住址三号楼",
            caller_name=f"{subject}赵六", caller_phone="13611112222", caller_email="zhao@example.com",
            waybill_id=waybill.pk if waybill else None))
        if closed_at is not None:
            Ticket.objects.filter(pk=ticket.pk).update(status="closed", closed_at=closed_at, resolved_at=closed_at)
        return Ticket.objects.get(pk=ticket.pk)


def _access(tw, created_at: dt.datetime) -> AccessLog:
    with tenant_scope(tw.tenant):
        return AccessLog.objects.create(action="reveal", actor=tw.user(Role.AGENT), actor_role="agent",
                                        target_type="tenancy.membership", target_id=1, reason="核实",
                                        created_at=created_at)


def _import(tw, finished_at: dt.datetime | None, *, status="done") -> CustomerImport:
    with tenant_scope(tw.tenant):
        imp = CustomerImport(kind="persons", filename="客户.csv", file_format="csv", status=status,
                             errors=[{"row": 2, "message": "手机号 13800001111 重复"}], error_count=1,
                             created_by=tw.user(Role.TENANT_ADMIN), finished_at=finished_at)
        imp.payload = "bmFtZSxwaG9uZQrlvKDkuIksMTM4MDAwMDExMTE="
        imp.save()
        return imp


def _export(tw, created_at: dt.datetime) -> DsrExport:
    with tenant_scope(tw.tenant):
        admin = tw.user(Role.TENANT_ADMIN)
        request = DataSubjectRequest.objects.create(number=f"DSR-{DataSubjectRequest.objects.count() + 1}",
                                                    kind="access", due_at=created_at + 20 * DAY, created_by=admin)
        export = DsrExport(request=request, status="done", content='{"name": "王小明"}', sha256="ab" * 32,
                           record_count=7, requested_by=admin, created_at=created_at)
        export.save()
        return export


def _run(tw, **kwargs) -> RetentionRun:
    with tenant_scope(tw.tenant):
        return service.retention_run(**kwargs)


def _reload(tw, obj):
    with tenant_scope(tw.tenant):
        return type(obj).objects.get(pk=obj.pk)


def _exists(tw, obj) -> bool:
    with tenant_scope(tw.tenant):
        return type(obj).objects.filter(pk=obj.pk).exists()


def _set_rule(tw, rule, value):
    admin = tw.user(Role.TENANT_ADMIN)
    with tenant_scope(tw.tenant, user=admin):
        rule_set(actor=admin, key=rule.key, value=value, effective_from=timezone.localdate() - 10 * DAY)


@pytest.fixture
def now():
    return timezone.now()


# --- what each class does -----------------------------------------------------------------------

def test_each_class_changes_exactly_the_rows_past_its_cutoff_and_a_second_run_nothing(world, now):
    a, b = world.a, world.b
    waybill_cut = months_before(now, 6)
    old_waybill = _waybill(a, "WB-OLD", delivered_at=waybill_cut - MINUTE)
    new_waybill = _waybill(a, "WB-NEW", delivered_at=waybill_cut + MINUTE)
    moving_waybill = _waybill(a, "WB-MOVING", delivered_at=None)
    b_waybill = _waybill(b, "WB-B-OLD", delivered_at=waybill_cut - DAY)

    ticket_cut = months_before(now, 36)
    old_ticket = _ticket(a, "旧投诉", closed_at=ticket_cut - MINUTE, waybill=old_waybill)
    admin = a.user(Role.TENANT_ADMIN)
    with tenant_scope(a.tenant, user=admin):
        claim = claim_file(actor=admin, ticket=old_ticket, claim_type="damage", claimant_role="receiver",
                           claimed_amount="150.00", description="外包装破损，收件人李四")
    new_ticket = _ticket(a, "新投诉", closed_at=ticket_cut + MINUTE)
    open_ticket = _ticket(a, "未结投诉", closed_at=None)
    b_ticket = _ticket(b, "乙旧投诉", closed_at=ticket_cut - DAY)

    log_cut = months_before(now, 36)
    old_log, new_log = _access(a, log_cut - MINUTE), _access(a, log_cut + MINUTE)
    b_log = _access(b, log_cut - DAY)

    old_import, new_import = _import(a, now - 30 * DAY - MINUTE), _import(a, now - 30 * DAY + MINUTE)
    running_import = _import(a, None, status="importing")
    b_import = _import(b, now - 40 * DAY)

    old_export, new_export = _export(a, now - 30 * DAY - MINUTE), _export(a, now - 30 * DAY + MINUTE)
    b_export = _export(b, now - 40 * DAY)

    run = _run(a, now=now)
    assert run.status == JobStatus.DONE and run.error == "" and run.trigger == "schedule"
    assert {key: (entry["rows"], entry["batches"], entry["status"]) for key, entry in run.results.items()} == {
        "waybills": (1, 1, "done"), "tickets": (1, 1, "done"), "access_log": (1, 1, "done"),
        "import_files": (1, 1, "done"), "dsr_exports": (1, 1, "done")}
    assert run.rows_affected == 5
    assert run.results["waybills"]["cutoff"] == waybill_cut.isoformat()
    assert run.results["import_files"]["cutoff"] == (now - 30 * DAY).isoformat()

    # waybills: the parties' personal values are gone, the parcel's figures stay
    erased = _reload(a, old_waybill)
    assert (erased.sender_name, erased.receiver_name) == ("", "")
    assert erased.sender_phone is None and erased.receiver_phone is None and erased.receiver_address is None
    assert erased.sender_phone_bidx is None and erased.receiver_phone_bidx is None
    assert erased.personal_data_erased_at == now
    for money in ("declared_value", "insured_amount", "service_fee", "weight_kg", "delivered_at", "status",
                  "receiver_city"):
        assert getattr(erased, money) == getattr(old_waybill, money), money
    assert erased.service_fee == Decimal("12.50")
    for kept in (new_waybill, moving_waybill):
        again = _reload(a, kept)
        assert again.receiver_phone == "+8613787654321" and again.receiver_name == kept.receiver_name != ""
        assert again.receiver_address == kept.receiver_address and again.personal_data_erased_at is None
    assert _reload(b, b_waybill).receiver_phone == "+8613787654321"

    # tickets: who called and what they wrote is gone; the claim keeps its money
    erased = _reload(a, old_ticket)
    assert erased.caller_name == "" and erased.caller_phone is None and erased.caller_email is None
    assert erased.caller_phone_bidx is None and erased.description == ""
    assert erased.personal_data_erased_at == now
    assert (erased.category, erased.priority, erased.created_at, erased.closed_at) == (
        old_ticket.category, old_ticket.priority, old_ticket.created_at, old_ticket.closed_at)
    erased_claim = _reload(a, claim)
    assert erased_claim.claimant_name == "" and erased_claim.description == ""
    assert erased_claim.claimed_amount == Decimal("150.00") and erased_claim.declared_value == claim.declared_value
    for kept in (new_ticket, open_ticket):
        again = _reload(a, kept)
        assert again.caller_phone == "+8613611112222" and again.description == kept.description != ""
    assert _reload(b, b_ticket).caller_name == b_ticket.caller_name != ""

    # access log: the old row is deleted, the young one and the other company's stay
    assert not _exists(a, old_log) and _exists(a, new_log) and _exists(b, b_log)

    # import files and row errors
    wiped = _reload(a, old_import)
    assert wiped.payload is None and wiped.errors == [] and wiped.error_count == 1 and wiped.status == "done"
    for kept in (new_import, running_import):
        again = _reload(a, kept)
        assert again.payload == kept.payload and again.errors == kept.errors
    assert _reload(b, b_import).payload is not None

    # access exports: the file goes, its hash and count stay
    wiped = _reload(a, old_export)
    assert wiped.content is None and wiped.sha256 == "ab" * 32 and wiped.record_count == 7
    assert _reload(a, new_export).content == '{"name": "王小明"}'
    assert _reload(b, b_export).content is not None

    # the second run right after changes nothing
    second = _run(a, now=now + MINUTE)
    assert second.status == JobStatus.DONE and second.rows_affected == 0
    assert all(entry["rows"] == 0 and entry["batches"] == 0 for entry in second.results.values())
    # tenant B was never touched: its own run finds its rows
    assert _run(b, now=now).rows_affected == 5


def test_batches_follow_the_batch_size_and_the_counts_add_up(world, now, monkeypatch):
    monkeypatch.setattr(rules, "RETENTION_BATCH_SIZE", 2)
    exports = [_export(world.a, now - 31 * DAY - i * MINUTE) for i in range(5)]
    logs = [_access(world.a, now - 1200 * DAY - i * MINUTE) for i in range(4)]
    run = _run(world.a, now=now)
    assert (run.results["dsr_exports"]["rows"], run.results["dsr_exports"]["batches"]) == (5, 3)
    assert (run.results["access_log"]["rows"], run.results["access_log"]["batches"]) == (4, 2)
    assert run.rows_affected == 9
    assert all(_reload(world.a, e).content is None for e in exports)
    assert not any(_exists(world.a, log) for log in logs)
    # a parameter overrides the constant
    _export(world.a, now - 40 * DAY)
    run = _run(world.a, now=now, batch_size=1000)
    assert (run.results["dsr_exports"]["rows"], run.results["dsr_exports"]["batches"]) == (1, 1)


def test_a_crash_loses_at_most_one_batch_and_the_next_run_carries_on(world, now, monkeypatch):
    monkeypatch.setattr(rules, "RETENTION_BATCH_SIZE", 2)
    exports = [_export(world.a, now - 31 * DAY - i * MINUTE) for i in range(5)]
    due, wipe = service.ROW_CLASSES["dsr_exports"]
    calls = []

    def wipe_then_crash(ids, when):
        calls.append(ids)
        changed = wipe(ids, when)
        if len(calls) == 2:
            raise DatabaseError("connection lost")
        return changed

    monkeypatch.setitem(service.ROW_CLASSES, "dsr_exports", (due, wipe_then_crash))
    crashed = _run(world.a, now=now)
    assert crashed.status == JobStatus.FAILED and crashed.results["dsr_exports"]["rows"] == 2
    assert [_reload(world.a, e).content is None for e in exports] == [True, True, False, False, False]
    monkeypatch.setitem(service.ROW_CLASSES, "dsr_exports", (due, wipe))
    resumed = _run(world.a, now=now)
    assert resumed.status == JobStatus.DONE and resumed.results["dsr_exports"]["rows"] == 3
    assert all(_reload(world.a, e).content is None for e in exports)


def test_a_redelivered_message_resumes_its_running_run(world, now):
    export = _export(world.a, now - 40 * DAY)
    with tenant_scope(world.a.tenant):
        run = RetentionRun.objects.create(status=JobStatus.RUNNING, trigger="manual",
                                          results={"dsr_exports": {"rows": 4, "batches": 1, "status": "running"}},
                                          rows_affected=4, started_at=timezone.now() - dt.timedelta(minutes=10))
    assert retention_task(tenant_id=world.a.tenant.pk, run_id=run.pk) == run.pk
    run = _reload(world.a, run)
    assert run.status == JobStatus.DONE and run.rows_affected == 5
    assert (run.results["dsr_exports"]["rows"], run.results["dsr_exports"]["batches"]) == (5, 2)
    assert _reload(world.a, export).content is None


def test_a_period_of_zero_switches_the_class_off(world, now):
    _set_rule(world.a, rules.RETAIN_WAYBILL_RECEIVER_MONTHS, 0)
    waybill = _waybill(world.a, "WB-OFF", delivered_at=now - 400 * DAY)
    run = _run(world.a, now=now)
    assert run.status == JobStatus.DONE
    assert run.results["waybills"]["status"] == "off" and run.results["waybills"]["cutoff"] is None
    assert _reload(world.a, waybill).receiver_phone == "+8613787654321"
    with tenant_scope(world.a.tenant):
        policy = {p.key: p for p in retention_policies()}["waybills"]
    assert policy.is_off and policy.period == 0 and policy.since == timezone.localdate() - 10 * DAY
    # tenant B's policy is still the default
    with tenant_scope(world.b.tenant):
        policy = {p.key: p for p in retention_policies()}["waybills"]
    assert policy.period == 6 and policy.version == "default"


def test_access_log_keeps_rows_younger_than_the_legal_floor(world, now):
    _set_rule(world.a, rules.RETAIN_ACCESS_LOG_MONTHS, 1)
    young, inside, outside = _access(world.a, now - 40 * DAY), _access(world.a, now - 182 * DAY), \
        _access(world.a, now - 184 * DAY)
    run = _run(world.a, now=now)
    entry = run.results["access_log"]
    assert entry["period"] == 1 and entry["applied_period"] == 6 and entry["floored"] is True
    assert entry["rows"] == 1 and entry["status"] == "done"
    assert _exists(world.a, young) and _exists(world.a, inside) and not _exists(world.a, outside)
    # the database itself refuses a purge younger than its floor
    with tenant_scope(world.a.tenant):
        with pytest.raises(DatabaseError, match="183"), transaction.atomic():
            purge_rows(AccessLog, timezone.now() - 30 * DAY, 100)
    assert _exists(world.a, young)


def test_a_failing_class_is_recorded_and_the_others_still_run(world, now, monkeypatch):
    def broken(ids, when):
        raise RuntimeError("erase failed\nDETAIL: 13787654321")

    monkeypatch.setitem(service.ROW_CLASSES, "waybills", (service.ROW_CLASSES["waybills"][0], broken))
    waybill = _waybill(world.a, "WB-FAIL", delivered_at=now - 400 * DAY)
    export = _export(world.a, now - 40 * DAY)
    run = _run(world.a, now=now)
    assert run.status == JobStatus.FAILED and "waybills" in run.error
    assert run.results["waybills"]["status"] == "failed"
    assert run.results["waybills"]["error"] == "RuntimeError: erase failed"  # never the DETAIL line
    assert "13787654321" not in run.error
    assert run.results["dsr_exports"] == {**run.results["dsr_exports"], "status": "done", "rows": 1}
    assert _reload(world.a, waybill).receiver_phone == "+8613787654321"
    assert _reload(world.a, export).content is None


def test_a_run_stops_while_another_holds_the_companys_batch_lock(world, now):
    export = _export(world.a, now - 40 * DAY)
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k in ("host", "port", "dbname", "user", "password")},
                         autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [service.BATCH_LOCK_CLASS, world.a.tenant.pk])
        run = _run(world.a, now=now)
        assert run.status == JobStatus.FAILED and run.rows_affected == 0 and run.error
        assert _reload(world.a, export).content is not None
        # the other company is not blocked by it
        assert _run(world.b, now=now).status == JobStatus.DONE
    assert _run(world.a, now=now).rows_affected == 1


# --- one run at a time, manual runs, the worker ---------------------------------------------------

def test_run_now_is_queued_refused_while_open_and_run_by_the_worker(world, now, django_capture_on_commit_callbacks):
    admin = world.a.user(Role.TENANT_ADMIN)
    export = _export(world.a, now - 40 * DAY)
    with tenant_scope(world.a.tenant, user=admin):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            queued = service.retention_request(actor=admin)
        assert len(callbacks) == 1 and queued.status == JobStatus.QUEUED and queued.requested_by == admin
        with pytest.raises(ValidationError) as refused:
            service.retention_request(actor=admin)
        assert "run" in refused.value.message_dict
        with pytest.raises(ValidationError):
            service.retention_run(trigger="manual", actor=admin)
        # the schedule does not start a second run beside it: it runs the queued one
    assert retention_task(tenant_id=world.a.tenant.pk) == queued.pk
    done = _reload(world.a, queued)
    assert done.status == JobStatus.DONE and done.trigger == "manual" and done.rows_affected == 1
    assert _reload(world.a, export).content is None
    # a repeated message for the finished run does nothing
    assert retention_task(tenant_id=world.a.tenant.pk, run_id=queued.pk) == queued.pk
    assert _reload(world.a, queued).finished_at == done.finished_at
    # a direct manual run now works; one run row each
    with tenant_scope(world.a.tenant, user=admin):
        manual = service.retention_run(trigger="manual", actor=admin)
        assert manual.status == JobStatus.DONE and manual.requested_by == admin
        assert RetentionRun.objects.count() == 2


def test_the_schedule_leaves_a_running_run_alone_and_expires_a_dead_one(world, now):
    with tenant_scope(world.a.tenant):
        running = RetentionRun.objects.create(status=JobStatus.RUNNING,
                                              started_at=timezone.now() - dt.timedelta(hours=1))
    assert _run(world.a) is None
    with tenant_scope(world.a.tenant):
        assert RetentionRun.objects.count() == 1
        RetentionRun.objects.filter(pk=running.pk).update(started_at=timezone.now() - dt.timedelta(hours=7))
    run = _run(world.a)
    assert run.status == JobStatus.DONE and run.pk != running.pk
    dead = _reload(world.a, running)
    assert dead.status == JobStatus.FAILED and dead.error and dead.finished_at


def test_only_those_allowed_run_retention(world):
    for role in (Role.AUDITOR, Role.AGENT, Role.BRANCH_MANAGER, Role.EXECUTIVE):
        user = world.a.user(role)
        with tenant_scope(world.a.tenant, user=user):
            with pytest.raises(PermissionDenied):
                service.retention_request(actor=user)
            with pytest.raises(PermissionDenied):
                service.retention_run(trigger="manual", actor=user)
    with tenant_scope(world.a.tenant):
        assert RetentionRun.objects.count() == 0


def test_platform_sweep_enqueues_one_task_per_tenant_on_the_real_broker(world):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("celery")
    assert platform_retention_sweep.apply().get() == 2
    messages = [json.loads(m) for m in broker.lrange("celery", 0, -1)]
    broker.delete("celery")
    assert sorted(m["headers"]["task"] for m in messages) == ["compliance.tasks.retention_run"] * 2
    assert sorted(m["headers"]["kwargsrepr"] for m in messages) == sorted(
        f"{{'tenant_id': {t.pk}}}" for t in (world.a.tenant, world.b.tenant))


def test_summary_names_the_last_run_per_class(world, now):
    _export(world.a, now - 40 * DAY)
    run = _run(world.a, now=now)
    with tenant_scope(world.a.tenant):
        summary = retention_summary()
    assert summary["last_run"] == run and summary["open_run"] is None
    by_class = {c["key"]: c for c in summary["classes"]}
    assert by_class["dsr_exports"]["last"]["rows"] == 1 and by_class["dsr_exports"]["last"]["status"] == "done"
    assert by_class["waybills"]["last"]["run"] == run and by_class["waybills"]["policy"].period == 6
    with tenant_scope(world.b.tenant):
        assert retention_summary()["last_run"] is None


# --- page ---------------------------------------------------------------------------------------

def test_page_shows_policies_and_runs_and_admin_runs_now(world, now, django_capture_on_commit_callbacks,
                                                         django_assert_max_num_queries):
    for _ in range(3):
        _run(world.a, now=now)
    admin = world.client_for(world.a.user(Role.TENANT_ADMIN))
    url = reverse("compliance:retention")
    with django_assert_max_num_queries(20):
        page = admin.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and html.count('data-class="waybills"') == 1
    assert 'id="retention-run-now"' in html and reverse("tenancy:rules") in html
    assert html.count("data-run=") == 3

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin.post(reverse("compliance:retention_start"))
    with tenant_scope(world.a.tenant):
        queued = RetentionRun.objects.get(status=JobStatus.QUEUED)
    assert response.status_code == 302 and response["Location"] == reverse("compliance:retention_run",
                                                                           args=[queued.pk])
    assert len(callbacks) == 1
    detail = admin.get(response["Location"]).content.decode()
    assert 'data-status="queued"' in detail and "hx-get" in detail
    page = admin.get(url).content.decode()
    assert 'id="retention-open-run"' in page and 'id="retention-run-now"' not in page
    # a second "run now" is refused with a message, and nothing is queued
    again = admin.post(reverse("compliance:retention_start"), follow=True)
    assert again.status_code == 200 and len(list(again.context["messages"])) == 1
    with tenant_scope(world.a.tenant):
        assert RetentionRun.objects.filter(status=JobStatus.QUEUED).count() == 1

    retention_task(tenant_id=world.a.tenant.pk, run_id=queued.pk)
    panel = admin.get(reverse("compliance:retention_run_panel", args=[queued.pk])).content.decode()
    assert 'data-status="done"' in panel and "hx-get" not in panel and "<html" not in panel
    assert panel.count("data-class=") == 5


def test_auditor_sees_but_cannot_run_and_others_see_nothing(world, now):
    run = _run(world.a, now=now)
    auditor = world.client_for(world.a.user(Role.AUDITOR))
    page = auditor.get(reverse("compliance:retention"))
    html = page.content.decode()
    assert page.status_code == 200 and 'id="retention-run-now"' not in html
    assert reverse("tenancy:rules") not in html
    assert auditor.get(reverse("compliance:retention_run", args=[run.pk])).status_code == 200
    assert auditor.post(reverse("compliance:retention_start")).status_code == 403
    agent = world.client_for(world.a.user(Role.AGENT))
    assert agent.get(reverse("compliance:retention")).status_code == 403
    assert agent.get(reverse("compliance:retention_run", args=[run.pk])).status_code == 403
    # another company's run is not found
    b_admin = world.client_for(world.b.user(Role.TENANT_ADMIN))
    assert b_admin.get(reverse("compliance:retention_run", args=[run.pk])).status_code == 404
    assert b_admin.get(reverse("compliance:retention_run_panel", args=[run.pk])).status_code == 404
    with tenant_scope(world.a.tenant):
        assert RetentionRun.objects.count() == 1


# --- API ----------------------------------------------------------------------------------------

RUNS_API = "/api/v1/compliance/retention-runs/"
POLICIES_API = "/api/v1/compliance/retention-policies/"


def test_api_lists_runs_and_policies_and_runs_now(world, now, django_capture_on_commit_callbacks,
                                                  django_assert_max_num_queries):
    _export(world.a, now - 40 * DAY)
    first = _run(world.a, now=now)
    _run(world.a, now=now)
    admin = world.client_for(world.a.user(Role.TENANT_ADMIN))
    with django_assert_max_num_queries(12):
        listing = admin.get(RUNS_API)
    assert listing.status_code == 200
    results = listing.json()["results"]
    assert [r["id"] for r in results][-1] == first.pk and len(results) == 2
    detail = admin.get(f"{RUNS_API}{first.pk}/").json()
    classes = {c["key"]: c for c in detail["classes"]}
    assert detail["status"] == "done" and detail["rows_affected"] == 1
    assert classes["dsr_exports"]["rows"] == 1 and classes["dsr_exports"]["batches"] == 1
    assert classes["dsr_exports"]["cutoff"] and classes["waybills"]["unit"] == "months"

    policies = admin.get(POLICIES_API)
    assert policies.status_code == 200
    by_key = {p["key"]: p for p in policies.json()}
    assert set(by_key) == {"waybills", "tickets", "access_log", "import_files", "dsr_exports"}
    assert by_key["import_files"] == {**by_key["import_files"], "period": 30, "unit": "days", "version": "default"}

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        created = admin.post(RUNS_API)
    assert created.status_code == 201 and created.json()["status"] == "queued" and len(callbacks) == 1
    refused = admin.post(RUNS_API)
    assert refused.status_code == 400 and "run" in refused.json()["error"]["fields"]

    auditor = world.client_for(world.a.user(Role.AUDITOR))
    assert auditor.get(RUNS_API).status_code == 200 and auditor.get(POLICIES_API).status_code == 200
    assert auditor.post(RUNS_API).status_code == 403
    agent = world.client_for(world.a.user(Role.AGENT))
    assert agent.get(RUNS_API).status_code == 403 and agent.get(POLICIES_API).status_code == 403
    b_admin = world.client_for(world.b.user(Role.TENANT_ADMIN))
    assert b_admin.get(f"{RUNS_API}{first.pk}/").status_code == 404
    assert b_admin.get(RUNS_API).json()["results"] == []
