"""A service desk in tenant A (a complaints team of two agents with a routing rule, a macro)
and the same in tenant B, plus a person customer in each."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from customers import services as customer_services
from customers.models import CustomerKind
from tenancy.models import Membership, Role
from tenancy.scoping import tenant_scope
from tickets.models import AssignMode
from tickets.services import desk
from tickets.services.sla import sla_defaults_ensure


@dataclass
class Desk:
    team: object
    agents: list
    person: object
    macro: object


def build_desk(tw, phone: str) -> Desk:
    admin = tw.user(Role.TENANT_ADMIN)
    with tenant_scope(tw.tenant, user=admin):
        sla_defaults_ensure()
        second = Membership.objects.create(user=_user(f"{tw.tenant.code}-agent2"), role=Role.AGENT,
                                           branch=tw.branch)
        agents = [tw.members[Role.AGENT], second]
        team = desk.team_save(actor=admin, code="complaints", name="投诉组", assign_mode=AssignMode.ROUND_ROBIN,
                              lead_id=tw.members[Role.BRANCH_MANAGER].pk, member_ids=[a.pk for a in agents])
        desk.routing_rule_save(actor=admin, name="complaints", team_id=team.pk, category="complaint", position=10)
        person = customer_services.customer_create(actor=admin, kind=CustomerKind.PERSON, name="王小明",
                                                   phones=[phone], province="上海", city="上海",
                                                   email=f"w{phone}@example.com")
        macro = desk.macro_save(actor=admin, name="致歉", body="{customer_name}您好，工单{ticket_number}正在处理。",
                                set_status="waiting_customer")
    return Desk(team=team, agents=agents, person=person, macro=macro)


def _user(username: str):
    from tenancy.models import User

    return User.objects.create_user(username=username, password="Test-Passw0rd-2026", display_name=username)


@pytest.fixture
def desks(world):
    world.a.desk = build_desk(world.a, "13800138001")
    world.b.desk = build_desk(world.b, "13800138002")
    return world
