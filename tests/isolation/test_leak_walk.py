"""The cross-tenant leak walk.

For every URL pattern of the project (found by walking the resolver) and every role of tenant
A: read, change and delete tenant B's objects by putting B's ids in the path, and put B's ids
into every foreign-key field of write payloads. Expect 404/400 (or the 403/405 the same role
gets for its own tenant's object), no canary string of B anywhere in any response, B's rows
unchanged, and no row of A pointing at B. Run three ways: both walls on; the ORM wall off
(row-level security alone); and connected as a role that bypasses row-level security (the ORM
wall alone). A meta-test fails when a route is neither walked nor allowlisted with a reason.
"""
from __future__ import annotations

import environ
import pytest
from django import forms as django_forms
from django.conf import settings
from django.db import connection, connections
from rest_framework import serializers as drf_serializers

from tenancy.api.base import ScopedPrimaryKeyRelatedField
from tenancy.models import Role, TenantManager, TenantScopedModel
from tenancy.rls import tenant_models
from tenancy.scoping import tenant_scope

from .plant_compliance import plant_compliance_objects
from .plant_issue10 import plant_issue10_objects
from .walk import (
    CANARY,
    FOREIGN_KEY_FIELDS,
    METHODS,
    all_routes,
    canaries_of,
    check_no_dangling_cross_tenant_keys,
    fill,
    hostile_payload,
    plant_canaries,
    plant_customer_objects,
    request,
    response_text,
    snapshot_b,
)

# HTML routes whose path names one object: how to find "the" object of a tenant.
HTML_OBJECT_ROUTES = {
    "tenancy:member_edit": lambda tw: {"pk": tw.members["agent"].pk},
    "tenancy:member_password": lambda tw: {"pk": tw.members["agent"].pk},
    "tenancy:member_two_factor_reset": lambda tw: {"pk": tw.members["agent"].pk},
    "tenancy:branch_edit": lambda tw: {"pk": tw.branch.pk},
    "tenancy:api_token_revoke": lambda tw: {"pk": tw.token.pk},
    "tenancy:reveal": lambda tw: {"model_label": "tenancy.membership", "pk": tw.members["agent"].pk,
                                  "field": "work_phone"},
    # Charts are named, not owned; the walk still fetches them for canaries (the branch filter
    # refuses other tenants' branches: tests/reports/test_dashboards.py).
    "api-reports-chart": lambda tw: {"chart": "complaints"},
    "api-reports-chart-csv": lambda tw: {"chart": "fines"},
    "customers:retention_task": lambda tw: {"pk": tw.issue10.task.pk},
    "customers:retention_task_close": lambda tw: {"pk": tw.issue10.task.pk},
    "customers:retention_task_reassign": lambda tw: {"pk": tw.issue10.task.pk},
    "customers:customer_churn": lambda tw: {"pk": tw.cust.account.pk},
    "tickets:ticket_survey_panel": lambda tw: {"pk": tw.desk.ticket.pk},
    "tenancy:dead_letter_action": lambda tw: {"pk": tw.issue10.dead.pk, "action": "dismiss"},
    "customers:detail": lambda tw: {"pk": tw.cust.account.pk},
    "customers:edit": lambda tw: {"pk": tw.cust.account.pk},
    "customers:phone_add": lambda tw: {"pk": tw.cust.account.pk},
    "customers:phone_remove": lambda tw: {"pk": tw.cust.phone.pk},
    "customers:address_add": lambda tw: {"pk": tw.cust.account.pk},
    "customers:address_remove": lambda tw: {"pk": tw.cust.address.pk},
    "customers:contact_add": lambda tw: {"pk": tw.cust.account.pk},
    "customers:contact_edit": lambda tw: {"pk": tw.cust.contact.pk},
    "customers:tag_assign": lambda tw: {"pk": tw.cust.account.pk},
    "customers:customer_activity_add": lambda tw: {"pk": tw.cust.account.pk},
    "customers:contract_create": lambda tw: {"pk": tw.cust.account.pk},
    "customers:opportunity_create": lambda tw: {"pk": tw.cust.account.pk},
    "customers:duplicate_dismiss": lambda tw: {"pk": tw.cust.duplicate.pk},
    "customers:contract_detail": lambda tw: {"pk": tw.cust.contract.pk},
    "customers:lead_detail": lambda tw: {"pk": tw.cust.lead.pk},
    "customers:opportunity_detail": lambda tw: {"pk": tw.cust.opportunity.pk},
    "customers:opportunity_move": lambda tw: {"pk": tw.cust.opportunity.pk},
    "customers:activity_done": lambda tw: {"pk": tw.cust.activity.pk},
    "customers:team_edit": lambda tw: {"pk": tw.cust.team.pk},
    "customers:import_detail": lambda tw: {"pk": tw.cust.customer_import.pk},
    "customers:import_progress": lambda tw: {"pk": tw.cust.customer_import.pk},
    "customers:import_confirm": lambda tw: {"pk": tw.cust.customer_import.pk},
    "customers:import_cancel": lambda tw: {"pk": tw.cust.customer_import.pk},
    "shipments:detail": lambda tw: {"pk": tw.ship.waybill.pk},
    "shipments:timeline": lambda tw: {"pk": tw.ship.waybill.pk},
    "shipments:consent_add": lambda tw: {"pk": tw.ship.waybill.pk},
    "shipments:customer_waybills": lambda tw: {"customer_id": tw.cust.account.pk},
    "tickets:detail": lambda tw: {"pk": tw.ship.ticket.pk},
    "tickets:customer_tickets": lambda tw: {"customer_id": tw.cust.person.pk},
    "tickets:claim": lambda tw: {"pk": tw.claim.loss.pk},
    "tickets:claim_evidence": lambda tw: {"pk": tw.claim.loss.pk},
    "tickets:claim_file": lambda tw: {"ticket_id": tw.ship.ticket.pk},
    "tickets:customer_claims": lambda tw: {"customer_id": tw.cust.account.pk},
    "penalties:case": lambda tw: {"pk": tw.fines.case.pk},
    "penalties:evidence": lambda tw: {"pk": tw.fines.case.pk, "evidence_id": tw.fines.evidence.pk},
    "penalties:violation_type": lambda tw: {"pk": tw.fines.vtype.pk},
    "compliance:dsr_page": lambda tw: {"pk": tw.compliance.dsr.pk},
    "compliance:dsr_exports_panel": lambda tw: {"pk": tw.compliance.dsr.pk},
    "compliance:dsr_export_download": lambda tw: {"pk": tw.compliance.dsr.pk, "export_id": tw.compliance.export.pk},
    "compliance:consent_panel": lambda tw: {"pk": tw.cust.person.pk},
    "compliance:incident_page": lambda tw: {"pk": tw.compliance.incident.pk},
    "compliance:retention_run": lambda tw: {"pk": tw.compliance.retention.pk},
    "compliance:retention_run_panel": lambda tw: {"pk": tw.compliance.retention.pk},
    "tickets:timeline": lambda tw: {"pk": tw.ship.ticket.pk},
    "tickets:macro_render": lambda tw: {"pk": tw.ship.ticket.pk},
    "tickets:attachment": lambda tw: {"pk": tw.desk.attachment.pk},
    "tickets:team_edit": lambda tw: {"pk": tw.desk.team.pk},
    "tickets:rule_edit": lambda tw: {"pk": tw.desk.rule.pk},
    "tickets:rule_delete": lambda tw: {"pk": tw.desk.rule.pk},
    "tickets:macro_edit": lambda tw: {"pk": tw.desk.macro.pk},
    "tickets:macro_delete": lambda tw: {"pk": tw.desk.macro.pk},
    "tickets:sla_policy_edit": lambda tw: {"pk": tw.desk.policy.pk},
    "tickets:calendar_detail": lambda tw: {"pk": tw.desk.calendar.pk},
    "tickets:calendar_edit": lambda tw: {"pk": tw.desk.calendar.pk},
    "tickets:calendar_delete": lambda tw: {"pk": tw.desk.calendar.pk},
    "tickets:calendar_day_remove": lambda tw: {"pk": tw.desk.calendar.pk, "day_pk": tw.desk.day.pk},
    "tickets:kb_article": lambda tw: {"pk": tw.desk.article.pk},
    "tickets:kb_edit": lambda tw: {"pk": tw.desk.article.pk},
    "tickets:kb_publish": lambda tw: {"pk": tw.desk.article.pk},
    "tickets:kb_archive": lambda tw: {"pk": tw.desk.article.pk},
    "tickets:kb_version": lambda tw: {"pk": tw.desk.article.pk, "version": 1},
    "tickets:kb_category_edit": lambda tw: {"pk": tw.desk.category.pk},
    "tickets:kb_category_delete": lambda tw: {"pk": tw.desk.category.pk},
}


def plant_shipment_objects(world) -> None:
    """A waybill with its tracking events, the exception ticket its damage scan opens and a
    delivery consent, in both tenants (after plant_customer_objects: the sender is the account).
    B's waybill number, names, address, operator, event attributes and note carry the canary;
    its receiver phone is one of B's customer phones (canaries_of lists those)."""
    from types import SimpleNamespace

    from shipments.models import Waybill
    from shipments.services import delivery_consent_record
    from tests.factories.shipments import ingest, recent, waybill_events
    from tickets.models import Ticket

    for tw, label, number, phone in ((world.a, "", "SFWALKA0001", "13700000001"),
                                     (world.b, CANARY, f"{CANARY}-W1", "13900000001")):
        ingest(tw, waybill_events(number, start=recent(), site=tw.branch.code, label=label,
                                  sender_customer=tw.cust.account.number, receiver_phone=phone))
        agent = tw.members["agent"]
        with tenant_scope(tw.tenant, user=agent.user):
            waybill = Waybill.objects.get(number=number)
            consent = delivery_consent_record(actor=agent.user, membership=agent, waybill=waybill, method="locker",
                                              source="phone", note=f"{label}同意放快递柜")
            tw.ship = SimpleNamespace(waybill=waybill, ticket=Ticket.objects.get(waybill=waybill), consent=consent)


def plant_ticket_objects(world) -> None:
    """The service desk of both tenants: SLA defaults (calendar with holidays, policies), a team
    with a routing rule, a macro, a ticket of the person customer with a reply, a note and an
    attachment, and knowledge-base articles. B's texts carry the canary."""
    from types import SimpleNamespace

    from tickets.kb_demo import seed_kb_demo
    from tickets.models import AssignMode, BusinessCalendar, CalendarDay, SlaPolicy
    from tickets.services import conversation, desk, intake, kb
    from tickets.services.sla import sla_defaults_ensure

    for tw, label in ((world.a, ""), (world.b, CANARY)):
        admin = tw.user("tenant_admin")
        with tenant_scope(tw.tenant, user=admin):
            sla_defaults_ensure()
            seed_kb_demo()
            team = desk.team_save(actor=admin, code="complaints", name=f"{label}投诉组",
                                  assign_mode=AssignMode.ROUND_ROBIN, member_ids=[tw.members["agent"].pk])
            rule = desk.routing_rule_save(actor=admin, name=f"{label}投诉", team_id=team.pk, category="complaint")
            macro = desk.macro_save(actor=admin, name=f"{label}致歉", body=f"{label}您好 {{ticket_number}}")
            ticket = intake.ticket_create(actor=admin, draft=intake.TicketDraft(
                channel="web", category="complaint", subject=f"{label}包裹破损", description=f"{label}外箱压坏",
                customer_id=tw.cust.person.pk, caller_email=f"{label.lower()}x@example.com"))
            conversation.ticket_reply(actor=admin, ticket=ticket, body=f"{label}已受理")
            conversation.ticket_note(actor=admin, ticket=ticket, body=f"{label}内部备注")
            attachment = conversation.attachment_add(actor=admin, ticket=ticket, name=f"{label}photo.txt",
                                                     content=f"{label} evidence".encode())
            category = kb.category_create(actor=admin, name=f"{label}寄件须知")
            article = kb.article_create(actor=admin, title=f"{label}寄件禁运品", body=f"{label}锂电池不可寄递",
                                        category=category, note=f"{label}初版", publish=True)
            kb.article_update(actor=admin, article=article, body=f"{label}锂电池与液体不可寄递",
                              note=f"{label}待发布")
            calendar = BusinessCalendar.objects.order_by("pk").first()
            tw.desk = SimpleNamespace(team=team, rule=rule, macro=macro, ticket=ticket, attachment=attachment,
                                      article=article, category=category, calendar=calendar,
                                      day=CalendarDay.objects.filter(calendar=calendar).order_by("pk").first(),
                                      policy=SlaPolicy.objects.order_by("pk").first(),
                                      event=ticket.events.order_by("pk").first())


def plant_claim_objects(world) -> None:
    """Two claims on the planted waybill of both tenants (after plant_shipment_objects): a loss
    claim with its evidence, assessed and under review (the first claim, the one the walk
    probes), and a delay claim decided and paid with its payout. B's texts, the payee and the
    payment reference carry the canary."""
    from types import SimpleNamespace

    from tickets.services import claims

    for tw, label in ((world.a, ""), (world.b, CANARY)):
        agent, executive, admin = (tw.user(role) for role in ("agent", "executive", "tenant_admin"))
        with tenant_scope(tw.tenant, user=agent):
            loss = claims.claim_file(actor=agent, ticket=tw.ship.ticket, claim_type="loss", claimant_role="sender",
                                     claimed_amount="200", description=f"{label}整件丢失")
            claims.claim_evidence_add(actor=agent, claim=loss, kind="proof_of_value", name=f"{label}invoice.pdf",
                                      content=b"%PDF-1.4 " + label.encode(), note=f"{label}发票")
            claims.claim_submit(actor=agent, claim=loss)
            loss = claims.claim_assess(actor=agent, claim=loss, cause="lost_in_transit", assessed_value="300",
                                       note=f"{label}核实丢失")
            claims.claim_note(actor=agent, claim=loss, body=f"{label}内部备注")
            delay = claims.claim_file(actor=agent, ticket=tw.ship.ticket, claim_type="delay",
                                      claimant_role="receiver", claimed_amount="12.50", description=f"{label}晚到")
            claims.claim_submit(actor=agent, claim=delay)
            delay = claims.claim_assess(actor=agent, claim=delay, cause="hub_delay")
        with tenant_scope(tw.tenant, user=executive):
            delay = claims.claim_approve(actor=executive, claim=delay, reason="")
        with tenant_scope(tw.tenant, user=admin):
            payout = claims.claim_pay(actor=admin, claim=delay, amount=str(delay.approved_amount), method="alipay",
                                      payee_name=f"{label}李四", payee_account=f"{label}6222020200112233445",
                                      reference=f"{label}AP-1", note=f"{label}已付")
        tw.claim = SimpleNamespace(loss=loss, delay=delay, payout=payout)


def plant_penalty_objects(world) -> None:
    """Fines in both tenants (after plant_shipment_objects): a catalogue entry of the company's own
    (the first entry, the one the walk probes) and the default catalogue; a fine against the agent
    about the planted ticket and waybill, confirmed, with evidence and a note, then appealed (the
    first fine); a fine against the branch, confirmed and partly paid; a signed checkpoint and a
    queued verification (the first). B's texts carry the canary; `access_log_ids` is B's access-log
    row (plant_canaries) for the hostile payload."""
    import datetime as dt
    from types import SimpleNamespace

    from compliance.models import AccessLog
    from penalties import services as fines

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    for tw, label in ((world.a, ""), (world.b, CANARY)):
        def act(role, service, tw=tw, **kwargs):
            user = tw.user(role)
            with tenant_scope(tw.tenant, user=user):
                return service(actor=user, **kwargs)

        vtype = act("tenant_admin", fines.violation_type_create, code="WALK_PROBE", name_zh=f"{label}走查违规",
                    name_en=f"{label}walk probe", category="service_quality", amount_min="10", amount_max="5000",
                    default_amount="300", description=f"{label}走查说明", note=f"{label}新增")
        with tenant_scope(tw.tenant):
            fines.catalogue_defaults_ensure()
            access_log_ids = list(AccessLog.objects.order_by("pk").values_list("pk", flat=True)[:1])
        day = dt.date.today() - dt.timedelta(days=1)
        case = act("branch_manager", fines.case_propose, violation_type=vtype, subject_kind="employee",
                   subject_membership=tw.members["agent"], description=f"{label}扫描记录与实际不符", occurred_on=day,
                   ticket=tw.ship.ticket, waybill=tw.ship.waybill, access_log_ids=access_log_ids)
        act("executive", fines.case_confirm, case=case, note=f"{label}核实无误")
        evidence = act("branch_manager", fines.case_evidence_add, case=case, name=f"{label}photo.png", content=png,
                       description=f"{label}现场照片")
        act("branch_manager", fines.case_note, case=case, body=f"{label}已面谈")
        appeal = act("agent", fines.case_appeal, case=case, grounds=f"{label}系统故障")
        branch_case = act("branch_manager", fines.case_propose, violation_type=vtype, subject_kind="branch",
                          branch=tw.branch, amount="1200", description=f"{label}分拣区脏乱", occurred_on=day)
        act("executive", fines.case_confirm, case=branch_case)
        act("branch_manager", fines.case_payment_record, case=branch_case, amount="200", method="cash",
            reference=f"{label}PAY-1")
        with tenant_scope(tw.tenant):
            checkpoint = fines.ledger_checkpoint_create()
        verification = act("auditor", fines.ledger_verification_request)
        tw.fines = SimpleNamespace(vtype=vtype, case=case, evidence=evidence, appeal=appeal, branch_case=branch_case,
                                   checkpoint=checkpoint, verification=verification, access_log_ids=access_log_ids)


# Second path parameters of nested API routes (the first, pk, is found through the viewset's model).
API_EXTRA_PARAMS = {
    "tag_id": lambda tw: tw.cust.tag.pk,
    "attachment_id": lambda tw: tw.desk.attachment.pk,
    "action_id": lambda tw: tw.compliance.action.pk,
    "export_id": lambda tw: tw.compliance.export.pk,
}

# Routes the walk does not probe, each with the reason.
ALLOWLIST = {
    "customers/import/template/<str:kind>/": (
        "A static sample file (header row and one example) per import kind; it reads no tenant data."),
    "p/<slug:tenant_code>/support/": (
        "The public service-request form: anonymous by design and addressed by company code; it can only add a new "
        "ticket to the named company (tests/tickets/test_console_views.py covers it)."),
    "p/<slug:tenant_code>/lead/": (
        "The public lead form: anonymous by design and addressed by company code; it can only add a new lead to "
        "the named company (tests/customers/test_sales_views.py covers it)."),
    "s/<str:token>/": (
        "The public survey answer page: anonymous by design, reached only through a signed, expiring token that "
        "names the company and the survey (tests/tickets/test_surveys.py covers tampering, expiry and reuse)."),
    "platform-admin/": "Django admin for platform staff (is_staff) only: it registers only the global "
                       "Tenant/User/ApiToken tables and no tenant-owned model; tenant roles are sent to its login.",
}


def allowlisted(route) -> str | None:
    for prefix, reason in ALLOWLIST.items():
        if route.pattern.startswith(prefix):
            return reason
    return None


def api_model(route):
    from django.urls import get_resolver

    match = get_resolver().resolve(fill(route, {p: "json" if p == "format" else 1 for p in route.params}))
    cls = getattr(match.func, "cls", None)
    return getattr(cls, "model", None)


def object_params(route, tw) -> dict | None:
    """Path parameters naming tenant `tw`'s object for this route, or None if unknown."""
    values = {"format": "json"}
    if route.name in HTML_OBJECT_ROUTES:
        values.update(HTML_OBJECT_ROUTES[route.name](tw))
    elif route.is_api and "pk" in route.params:
        values.update({name: fill_value(tw) for name, fill_value in API_EXTRA_PARAMS.items() if name in route.params})
        model = api_model(route)
        if model is None:
            return None
        with tenant_scope(tw.tenant):
            obj = model._base_manager.order_by("pk").first()
        if obj is None:
            return None
        values["pk"] = obj.pk
    if not set(route.params) <= set(values):
        return None
    return values


def walked_routes():
    return [r for r in all_routes() if not allowlisted(r)]


def test_every_route_is_walked_or_allowlisted(world):
    plant_canaries(world)
    plant_customer_objects(world)
    plant_shipment_objects(world)
    plant_ticket_objects(world)
    plant_claim_objects(world)
    plant_penalty_objects(world)
    plant_compliance_objects(world)
    plant_issue10_objects(world)
    world.a.token = _a_token(world)
    unknown = []
    for route in walked_routes():
        if route.params and object_params(route, world.b) is None:
            unknown.append(route.pattern)
    assert unknown == [], (
        "These routes take path parameters the leak walk cannot fill: add them to HTML_OBJECT_ROUTES "
        f"(or give the API viewset a `model`), or allowlist them with a reason: {unknown}")
    assert len(walked_routes()) >= 20


def _form_and_serializer_modules(app: str):
    """`<app>.forms` and `<app>.api.serializers`, or every module of those packages when the app
    splits them (the tickets app keeps forms and serializers per area)."""
    import importlib
    import pkgutil

    for name in (f"{app}.forms", f"{app}.api.serializers", f"{app}.api"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        if name != f"{app}.api":
            yield module
        if hasattr(module, "__path__"):
            for info in pkgutil.iter_modules(module.__path__):
                yield importlib.import_module(f"{name}.{info.name}")


def _names_an_id(name: str) -> bool:
    """A plain integer field that carries another row's id (`team_id`, `member_ids` …)."""
    return name.endswith(("_id", "_ids"))


def test_hostile_payload_covers_every_foreign_key_field(world):
    """Every foreign-key field of the project's forms and serializers gets B's id in the walk."""
    import inspect

    plant_customer_objects(world)
    from django.apps import apps

    missing = set()
    with tenant_scope(world.a.tenant):
        project_apps = [c for c in apps.get_app_configs()
                        if c.path.startswith(str(settings.BASE_DIR)) and ".venv" not in c.path]
        for config in project_apps:
            for module in _form_and_serializer_modules(config.name):
                for _name, cls in inspect.getmembers(module, inspect.isclass):
                    if cls.__module__ != module.__name__:
                        continue
                    if issubclass(cls, django_forms.BaseForm):
                        try:
                            form = cls()
                        except TypeError:
                            continue
                        names = {n for n, f in form.fields.items()
                                 if isinstance(f, django_forms.ModelChoiceField) or _names_an_id(n)}
                    elif issubclass(cls, drf_serializers.Serializer):
                        try:
                            fields = cls().fields
                        except (TypeError, AssertionError):
                            continue
                        names = {n for n, f in fields.items() if not f.read_only and (
                            isinstance(f, ScopedPrimaryKeyRelatedField | drf_serializers.RelatedField)
                            or _names_an_id(n))}
                    else:
                        continue
                    missing |= names - FOREIGN_KEY_FIELDS
    assert missing == set(), f"add these foreign-key field names to walk.hostile_payload: {missing}"


def _a_token(world):
    from tenancy.services import api_token_create

    with tenant_scope(world.a.tenant):
        token, _raw = api_token_create(actor=world.a.user("agent"), name="a-token",
                                       for_membership=world.a.members["agent"])
    return token


def _connect_as(user: str, password: str) -> None:
    conn = connections["default"]
    conn.close()
    conn.settings_dict["USER"] = user
    conn.settings_dict["PASSWORD"] = password


@pytest.fixture
def walls(request, django_db_blocker, monkeypatch):
    mode = request.param
    if mode == "rls_only":
        # The ORM wall switched off: managers filter nothing, foreign keys are not checked.
        def unfiltered(self):
            return super(TenantManager, self).get_queryset()

        monkeypatch.setattr(TenantManager, "get_queryset", unfiltered)
        monkeypatch.setattr(TenantScopedModel, "check_same_tenant_references", lambda self: None)
        yield mode
    elif mode == "orm_only":
        # Connect as the tables' owner and lift FORCE, so row-level security does not apply.
        conn = connections["default"]
        app = (conn.settings_dict["USER"], conn.settings_dict["PASSWORD"])
        owner = environ.Env().db_url("DATABASE_OWNER_URL")
        with django_db_blocker.unblock():
            _connect_as(owner["USER"], owner["PASSWORD"])
        yield mode
        with django_db_blocker.unblock():
            _connect_as(*app)
    else:
        yield mode


def _prove_mode(mode, world):
    from tenancy.models import Branch

    if mode == "orm_only":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE needs no pending FK checks
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for model in tenant_models():
                cursor.execute(f'ALTER TABLE "{model._meta.db_table}" NO FORCE ROW LEVEL SECURITY')
            cursor.execute("SELECT set_config('app.tenant_id', '', false)")
            cursor.execute("SELECT count(*) FROM tenancy_branch")
            assert cursor.fetchone()[0] == 8, "row-level security must be bypassed in this mode"
    if mode == "rls_only":
        with tenant_scope(world.a.tenant):
            assert "WHERE" not in str(Branch.objects.all().query)


ALLOWED_FOR_OTHER_TENANT = {400, 404, 405}


# Every role walks with both walls up. Each wall alone is walked by the two roles that hold every
# read and write permission between them (tenant admin, sales manager): what a wall must stop
# depends on the data a request touches, not on which of the narrower roles sends it, and a full
# role × mode product takes longer than the rest of the suite together.
WALKS = [("both", role) for role in Role.values] + [
    (mode, role) for mode in ("rls_only", "orm_only") for role in (Role.TENANT_ADMIN, Role.SALES_MANAGER)]


@pytest.mark.parametrize(("walls", "role"), WALKS, indirect=["walls"])
def test_leak_walk(walls, world, role):
    plant_canaries(world)
    plant_customer_objects(world)
    plant_shipment_objects(world)
    plant_ticket_objects(world)
    plant_claim_objects(world)
    plant_penalty_objects(world)
    plant_compliance_objects(world)
    plant_issue10_objects(world)
    world.a.token = _a_token(world)
    with tenant_scope(world.a.tenant):
        from compliance.services import access_log_record

        admin = world.a.members["tenant_admin"]
        access_log_record(actor=admin.user, membership=admin, action="reveal", target_type="tenancy.membership",
                          target_id=world.a.members["agent"].pk, fields=["work_phone"], reason="A's own")
    _prove_mode(walls, world)
    canaries = canaries_of(world)
    before = snapshot_b(world)
    payload = hostile_payload(world)
    user = world.a.user(role)
    failures: list[str] = []
    probes = 0
    client = None

    for route in walked_routes():
        own_status = {}
        names_an_object = bool(set(route.params) - {"format"})
        targets = [("A", world.a), ("B", world.b)] if names_an_object else [("-", None)]
        for label, tw in targets:
            params = object_params(route, tw) if tw else {"format": "json"}
            if params is None and label == "A":
                continue  # an earlier probe deleted A's own object of this kind (allowed)
            path = fill(route, params)
            # DRF's ".json" twins of API routes dispatch to the same views: read them only.
            methods = ("get",) if "format" in route.params else METHODS
            for method in methods:
                if client is None or "_auth_user_id" not in client.session:
                    client = world.client_for(user)  # a probe logged out or replaced the session
                response = request(client, method, path, payload, route.is_api)
                probes += 1
                status = response.status_code
                where = f"{role} {method.upper()} {path} ({label})"
                if status >= 500:
                    failures.append(f"{where}: server error {status}")
                leaked = [c for c in canaries if c in response_text(response)]
                if leaked:
                    failures.append(f"{where}: B's data in the response: {leaked}")
                if label == "A":
                    own_status[method] = status
                elif label == "B" and status not in ALLOWED_FOR_OTHER_TENANT and not (
                        status == 403 and own_status.get(method) == 403):
                    failures.append(f"{where}: answered {status} for another tenant's object")

    check_no_dangling_cross_tenant_keys()
    assert snapshot_b(world) == before, "tenant B's data changed during the walk"
    assert failures == [], "\n".join(failures)
    assert probes > 100
    assert CANARY in canaries
