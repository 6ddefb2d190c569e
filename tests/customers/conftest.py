"""Helpers of the customers tests: API clients per role and data made through the services."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from customers import services
from tenancy.models import Membership, User
from tenancy.scoping import tenant_scope
from tenancy.services import api_token_create

LANE = {"origin_province": "上海", "destination_province": "浙江", "min_weight_kg": "0", "max_weight_kg": "3",
        "first_weight_price": "6.00", "additional_kg_price": "2.00"}


class Api:
    """A logged-in API client with JSON helpers."""

    def __init__(self, client: Client):
        self.client = client

    def get(self, url, params=None):
        return self.client.get(url, params or {})

    def post(self, url, data=None):
        return self.client.post(url, json.dumps(data if data is not None else {}), content_type="application/json")

    def patch(self, url, data):
        return self.client.patch(url, json.dumps(data), content_type="application/json")

    def delete(self, url):
        return self.client.delete(url)


class Helpers:
    """Make data in a tenant through the services, as a given member."""

    def __init__(self, world):
        self.world = world

    def api(self, role: str = "sales_manager", tw=None) -> Api:
        tw = tw or self.world.a
        return Api(self.world.client_for(tw.user(role)))

    def api_for(self, membership: Membership) -> Api:
        return Api(self.world.client_for(membership.user))

    def token_api(self, membership: Membership) -> Api:
        with tenant_scope(membership.tenant, user=membership.user):
            _token, raw = api_token_create(actor=membership.user, name="integration")
        return Api(Client(HTTP_AUTHORIZATION=f"Token {raw}"))

    def scope(self, tw=None, user=None):
        tw = tw or self.world.a
        return tenant_scope(tw.tenant, user=user or tw.user("tenant_admin"))

    def member(self, username: str, role: str = "sales_manager", tw=None) -> Membership:
        tw = tw or self.world.a
        with tenant_scope(tw.tenant):
            user = User.objects.create_user(username, None, display_name=f"{username}名",
                                            home_tenant=tw.tenant, last_active_tenant=tw.tenant)
            membership = Membership(user=user, role=role, title="")
            membership.save()
        return membership

    def account(self, name="云桥电子商务有限公司", phones=("13812345678",), tw=None, **fields):
        tw = tw or self.world.a
        admin = tw.user("tenant_admin")
        with tenant_scope(tw.tenant, user=admin):
            return services.customer_create(actor=admin, kind="account", name=name, phones=list(phones), **fields)

    def person(self, name="张三丰", phones=("13912345678",), tw=None, **fields):
        tw = tw or self.world.a
        admin = tw.user("tenant_admin")
        with tenant_scope(tw.tenant, user=admin):
            return services.customer_create(actor=admin, kind="person", name=name, phones=list(phones), **fields)

    def contract(self, customer, lanes=(LANE,), activate=True, tw=None, start=None, end=None):
        tw = tw or self.world.a
        admin = tw.user("tenant_admin")
        today = timezone.localdate()
        with tenant_scope(tw.tenant, user=admin):
            return services.contract_create(actor=admin, customer=customer, start_date=start or today,
                                            end_date=end or today + dt.timedelta(days=365), lanes=list(lanes),
                                            activate=activate)

    def team(self, name, members, provinces=(), industries=(), priority=100, tw=None):
        tw = tw or self.world.a
        admin = tw.user("tenant_admin")
        with tenant_scope(tw.tenant, user=admin):
            return services.sales_team_create(actor=admin, name=name, provinces=list(provinces),
                                              industries=list(industries), priority=priority, members=list(members))

    def lead(self, owner: Membership | None = None, tw=None, **data):
        """A lead captured by hand, then given to `owner` (or assigned by the team rules)."""
        tw = tw or self.world.a
        admin = tw.user("tenant_admin")
        values = {"company_name": "鲜果供应链有限公司", "contact_name": "王芳", "phone": "13700001111",
                  "province": "浙江", "city": "杭州"}
        values.update(data)
        with tenant_scope(tw.tenant, user=admin):
            lead = services.lead_create(actor=admin, auto_assign=owner is None, **values)
            if owner is not None:
                lead = services.lead_assign(actor=admin, lead=lead, owner=owner)
        return lead

    def opportunity(self, owner: Membership, customer=None, lines=(LANE,), tw=None, **data):
        tw = tw or self.world.a
        customer = customer or self.account(tw=tw)
        with tenant_scope(tw.tenant, user=owner.user):
            opportunity = services.opportunity_create(actor=owner.user, customer=customer,
                                                      name=data.pop("name", "续约"), **data)
            for line in lines:
                services.quote_line_add(actor=owner.user, opportunity=opportunity, **line)
        return opportunity


@pytest.fixture
def cx(world):
    return Helpers(world)
