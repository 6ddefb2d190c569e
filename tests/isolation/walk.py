"""Machinery of the cross-tenant leak walk: every URL pattern of the project, found by walking
the resolver, probed by every role of tenant A with tenant B's ids."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tenancy.models import ApiToken, Membership, Tenant
from tenancy.rls import tenant_models
from tenancy.scoping import tenant_scope

CANARY = "ZZCANARYB"
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    name: str          # namespaced url name, or the pattern if unnamed
    pattern: str       # human-readable route
    params: tuple      # names of the path parameters
    is_api: bool


def _pattern_text(pattern) -> str:
    return str(pattern.pattern)


def all_routes() -> list[Route]:
    routes: list[Route] = []

    def walk(patterns, prefix: str, namespace: str | None):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = entry.namespace or namespace
                if entry.namespace and namespace:
                    ns = f"{namespace}:{entry.namespace}"
                walk(entry.url_patterns, prefix + _pattern_text(entry), ns)
            elif isinstance(entry, URLPattern):
                text = prefix + _pattern_text(entry)
                name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or text)
                params = tuple(re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", text))
                flat = tuple(a or b for a, b in params)
                routes.append(Route(name=name, pattern=text, params=flat, is_api=text.startswith("api/")))

    walk(get_resolver().url_patterns, "", None)
    return routes


def fill(route: Route, values: dict) -> str:
    """Turn a route pattern into a concrete path with the given parameter values."""
    path = route.pattern
    for param in route.params:
        value = str(values[param])
        path = re.sub(rf"\(\?P<{param}>[^)]*\)", value, path)
        path = re.sub(rf"<(?:\w+:)?{param}>", value, path)
    path = path.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "/")
    return "/" + path


def plant_customer_objects(world) -> None:
    """One of each customers-app object in both tenants (B's names carry the canary)."""
    from tests.factories.customers import build_customer_objects

    world.a.cust = build_customer_objects(world.a, phone_prefix="1370000")
    world.b.cust = build_customer_objects(world.b, label=CANARY, phone_prefix="1390000")


def canaries_of(world) -> list[str]:
    values = [CANARY]
    for n in range(1, 5):  # B's customer phone numbers, in full and as shown masked
        national = f"139000000{n}"
        values += [national, national[:3] + "****" + national[-4:]]
    with tenant_scope(world.b.tenant):
        for membership in Membership.objects.all():
            if membership.work_phone:
                national = membership.work_phone[3:]
                values += [national, national[:3] + "****" + national[-4:]]
    return values


def plant_canaries(world) -> None:
    """Mark every text field of tenant B with the canary."""
    User = get_user_model()
    Tenant.objects.filter(pk=world.b.tenant.pk).update(name=f"{CANARY}公司", name_en=f"{CANARY} Co")
    with tenant_scope(world.b.tenant):
        from tenancy.models import Branch

        for branch in Branch.objects.all():
            Branch.objects.filter(pk=branch.pk).update(name=f"{CANARY}-{branch.code}", city=f"{CANARY}市",
                                                       province=f"{CANARY}省")
        Membership.objects.update(title=f"{CANARY}-title")
        from compliance.services import access_log_record

        admin = world.b.members["tenant_admin"]
        access_log_record(actor=admin.user, membership=admin, action="reveal", target_type="tenancy.membership",
                          target_id=world.b.members["agent"].pk, target_label=f"{CANARY}-label",
                          fields=["work_phone"], reason=f"{CANARY}-reason")
    for membership in world.b.members.values():
        User.objects.filter(pk=membership.user_id).update(display_name=f"{CANARY}-{membership.role}")
    from tenancy.services import api_token_create

    with tenant_scope(world.b.tenant):
        token, _raw = api_token_create(actor=world.b.user("agent"), name=f"{CANARY}-token",
                                       for_membership=world.b.members["agent"])
    world.b.token = token


def snapshot_b(world) -> str:
    """Every row tenant B owns (and B's logins and tokens), as one comparable string."""
    User = get_user_model()
    data = {}
    with tenant_scope(world.b.tenant):
        for model in tenant_models():
            rows = list(model._base_manager.order_by("pk").values())
            data[model._meta.label] = [{k: (bytes(v).hex() if isinstance(v, memoryview | bytes) else v)
                                        for k, v in row.items()} for row in rows]
    b_users = [m.user_id for m in world.b.members.values()]
    data["users"] = list(User.objects.filter(pk__in=b_users).order_by("pk").values(
        "pk", "password", "display_name", "is_active", "home_tenant_id", "language"))
    data["tokens"] = list(ApiToken.objects.filter(tenant=world.b.tenant).order_by("pk").values())
    data["tenant"] = list(Tenant.objects.filter(pk=world.b.tenant.pk).values())
    return json.dumps(data, default=str, sort_keys=True)


def hostile_payload(world) -> dict:
    """A write payload with B's ids in every foreign-key field the project's forms and
    serializers have (tests/isolation/test_leak_walk checks this list stays complete)."""
    b = world.b
    return {
        "branch": b.branch.pk, "parent": b.region.pk, "tenant": b.tenant.pk, "tenant_id": b.tenant.pk,
        "user": b.user("agent").pk, "membership": b.members["agent"].pk, "actor": b.user("agent").pk,
        "record_type": "tenancy.membership", "record_id": b.members["agent"].pk, "field": "work_phone",
        "reason": "leak walk probe", "name": "walk probe", "code": "WALKPROBE", "kind": "branch",
        "username": "walk_probe", "display_name": "walk probe", "password": "Walk-Probe-Passw0rd-1",
        "password_again": "Walk-Probe-Passw0rd-1", "old_password": "wrong", "role": "agent",
        "title": "probe", "work_phone": "13700000000", "is_active": "on", "language": "en",
        "form": "language", "province": "", "city": "", "next": "/",
        "customer": b.cust.account.pk, "owner": b.members["sales_manager"].pk, "tag": b.cust.tag.pk,
        "survivor": b.cust.person.pk, "merged": b.cust.twin.pk, "lead": b.cust.lead.pk,
        "opportunity": b.cust.opportunity.pk, "contract": b.cust.contract.pk,
        "members": [b.members["sales_manager"].pk],
        "leader": b.members["sales_manager"].pk, "team": b.cust.team.pk, "line": b.cust.quote_line.pk,
        "lane": b.cust.lane.pk, "remove": b.cust.tag.pk, "stage": "quoted", "action": "move",
        "assignee": b.members["agent"].pk,
        # Shipments objects exist once plant_shipment_objects ran (the walk plants them first).
        # `ticket` is one id: the claims API takes one, and the exception queue's bulk form
        # reads a single value as a list of one.
        **({"ticket": b.ship.ticket.pk, "waybill": b.ship.waybill.pk} if hasattr(b, "ship") else {}),
        # Plain id fields of the service desk's forms and API; its objects exist once
        # plant_ticket_objects ran.
        "branch_id": b.branch.pk, "customer_id": b.cust.person.pk, "assignee_id": b.members["agent"].pk,
        "lead_id": b.members["branch_manager"].pk, "member_ids": [b.members["agent"].pk],
        **({"team_id": b.desk.team.pk, "macro_id": b.desk.macro.pk, "target_id": b.desk.ticket.pk,
            "event_id": b.desk.event.pk, "calendar": b.desk.calendar.pk, "category": b.desk.category.pk}
           if hasattr(b, "desk") else {}),
        # Penalties API (fines): B's catalogue entry, employee, fine and access-log row; the
        # other fields of a proposal are valid, so only the foreign keys can refuse it. Its
        # objects exist once plant_penalty_objects ran.
        "subject_kind": "employee", "subject_membership": b.members["agent"].pk, "subject": b.members["agent"].pk,
        "description": "walk probe",
        "occurred_on": "2020-01-01",
        **({"violation_type": b.fines.vtype.pk, "case": b.fines.case.pk, "access_log_ids": b.fines.access_log_ids}
           if hasattr(b, "fines") else {}),
        # Issue 10: a retention task's churn alert (output of the retention API; probed anyway).
        **({"alert_id": b.issue10.alert.pk} if hasattr(b, "issue10") else {}),
    }


FOREIGN_KEY_FIELDS = {"branch", "parent", "tenant", "tenant_id", "user", "membership", "actor", "record_id",
                      "customer", "owner", "tag", "survivor", "merged", "lead", "opportunity", "contract", "members",
                      "leader", "team", "line", "lane", "remove", "assignee", "ticket", "waybill", "branch_id",
                      "customer_id", "assignee_id", "lead_id", "member_ids", "team_id", "macro_id", "target_id",
                      "event_id", "calendar", "category",
                      # penalties API
                      "violation_type", "subject_membership", "subject", "case", "access_log_ids",
                      # retention API
                      "alert_id"}


def request(client: Client, method: str, path: str, payload: dict, is_api: bool):
    call = getattr(client, method)
    if method == "get":
        return call(path, {k: v for k, v in payload.items() if k in FOREIGN_KEY_FIELDS})
    if is_api:
        return call(path, json.dumps(payload), content_type="application/json")
    if method == "post":
        return call(path, payload)
    from urllib.parse import urlencode

    return call(path, urlencode(payload), content_type="application/x-www-form-urlencoded")


def response_text(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    headers = " ".join(f"{k}: {v}" for k, v in response.items())
    return body.decode(errors="replace") + headers


def check_no_dangling_cross_tenant_keys() -> None:
    """Deferred same-tenant foreign keys are checked at commit, which a test never reaches:
    check them now."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")

