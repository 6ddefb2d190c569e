"""Per-tenant business rules, versioned by the date they take effect."""
import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from customers import rules
from tenancy.models import RuleSetting
from tenancy.scoping import tenant_scope
from tenancy.services import rule_set


def test_rule_values_are_per_tenant_and_dated(world):
    today = timezone.localdate()
    admin = world.a.user("tenant_admin")
    with tenant_scope(world.a.tenant, user=admin):
        assert rules.HIGH_VALUE_REVENUE.value() == Decimal("10000.00")
        rule_set(actor=admin, key=rules.HIGH_VALUE_REVENUE.key, value="25000",
                 effective_from=today + dt.timedelta(days=7))
        assert rules.HIGH_VALUE_REVENUE.value() == Decimal("10000.00")  # not in force yet
        assert rules.HIGH_VALUE_REVENUE.value(on=today + dt.timedelta(days=7)) == Decimal("25000")
        with pytest.raises(ValidationError) as exc:
            rule_set(actor=admin, key=rules.HIGH_RETURN_RATE.key, value="1.5", effective_from=today)
        assert "value" in exc.value.message_dict
        with pytest.raises(ValidationError):
            rule_set(actor=admin, key="customers.nope", value="1", effective_from=today)
    with tenant_scope(world.b.tenant):
        assert rules.HIGH_VALUE_REVENUE.value(on=today + dt.timedelta(days=30)) == Decimal("10000.00")
    sales = world.a.user("sales_manager")
    with tenant_scope(world.a.tenant, user=sales), pytest.raises(PermissionDenied):
        rule_set(actor=sales, key=rules.HIGH_VALUE_REVENUE.key, value="1", effective_from=today)


def test_rules_page(world):
    client = world.client_for(world.a.user("tenant_admin"))
    page = client.get("/manage/rules/")
    assert page.status_code == 200 and rules.WEIGHT_STEP_KG.key in page.content.decode()
    response = client.post("/manage/rules/", {"key": rules.WEIGHT_STEP_KG.key, "value": "abc",
                                              "effective_from": timezone.localdate().isoformat()})
    assert response.status_code == 200 and 'value="abc"' in response.content.decode()
    client.post("/manage/rules/", {"key": rules.WEIGHT_STEP_KG.key, "value": "0.5",
                                   "effective_from": timezone.localdate().isoformat(), "note": "续重半公斤"})
    with tenant_scope(world.a.tenant):
        assert rules.WEIGHT_STEP_KG.value() == Decimal("0.5")
        assert RuleSetting.objects.count() == 1
    assert world.client_for(world.a.user("sales_manager")).get("/manage/rules/").status_code == 403
