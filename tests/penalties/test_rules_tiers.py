"""Tiers of a fine by amount (DOMAIN.md §5): minor < 1,000; general 1,000–5,000 inclusive;
serious > 5,000 — through the pure rule, through a proposed case, and per company."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from penalties import rules
from penalties.models import Tier
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tenancy.services import rule_set

from .fines_world import proposed, seed_catalogue

BOUNDARIES = [
    (Decimal("0.01"), Tier.MINOR),
    (Decimal("999.99"), Tier.MINOR),
    (Decimal("1000"), Tier.GENERAL),
    (Decimal("1000.00"), Tier.GENERAL),
    (Decimal("4999.99"), Tier.GENERAL),
    (Decimal("5000"), Tier.GENERAL),
    (Decimal("5000.00"), Tier.GENERAL),
    (Decimal("5000.01"), Tier.SERIOUS),
    (Decimal("50000000"), Tier.SERIOUS),
]
DEFAULTS = {"general_from": Decimal("1000"), "serious_above": Decimal("5000")}
RANK = {Tier.MINOR: 0, Tier.GENERAL: 1, Tier.SERIOUS: 2}
# CRM_DATA_TAMPERING ranges 500–10,000 CNY: every boundary amount below is inside its range.
CODE = "CRM_DATA_TAMPERING"


@pytest.mark.parametrize(("amount", "tier"), BOUNDARIES, ids=[str(a) for a, _ in BOUNDARIES])
def test_tier_for_boundaries(amount, tier):
    assert rules.tier_for(amount, **DEFAULTS) == tier


def test_rule_defaults_are_the_domain_numbers():
    assert rules.GENERAL_FROM.default == Decimal("1000")
    assert rules.SERIOUS_ABOVE.default == Decimal("5000")


@pytest.mark.django_db
@pytest.mark.parametrize(("amount", "tier"), [("999.99", Tier.MINOR), ("1000", Tier.GENERAL),
                                              ("1000.00", Tier.GENERAL), ("5000", Tier.GENERAL),
                                              ("5000.01", Tier.SERIOUS)])
def test_a_proposed_case_gets_its_tier(world, amount, tier):
    seed_catalogue(world)
    case = proposed(world.a, amount=amount, code=CODE)
    assert case.tier == tier
    with tenant_scope(world.a.tenant):
        case.refresh_from_db()
        assert case.tier == tier
        assert case.amount == Decimal(amount)
        assert rules.tier_of(Decimal(amount)) == tier


@pytest.mark.django_db
def test_tier_of_uses_the_default_rules_in_each_tenant(world):
    for tw in (world.a, world.b):
        with tenant_scope(tw.tenant):
            assert [rules.tier_of(a) for a, _ in BOUNDARIES] == [t for _, t in BOUNDARIES]


@pytest.mark.django_db
def test_a_rule_change_in_one_tenant_changes_its_tiers_only(world):
    seed_catalogue(world)
    admin = world.a.user(Role.TENANT_ADMIN)
    today = timezone.localdate()
    with tenant_scope(world.a.tenant, user=admin):
        rule_set(actor=admin, key=rules.GENERAL_FROM.key, value="500", effective_from=today, note="stricter")
        rule_set(actor=admin, key=rules.SERIOUS_ABOVE.key, value="2000", effective_from=today, note="stricter")
    with tenant_scope(world.a.tenant):
        assert rules.tier_of(Decimal("499.99")) == Tier.MINOR
        assert rules.tier_of(Decimal("500")) == Tier.GENERAL
        assert rules.tier_of(Decimal("999.99")) == Tier.GENERAL
        assert rules.tier_of(Decimal("2000")) == Tier.GENERAL
        assert rules.tier_of(Decimal("2000.01")) == Tier.SERIOUS
        assert rules.tier_of(Decimal("5000")) == Tier.SERIOUS
        # Before the change took effect the defaults applied.
        yesterday = today - dt.timedelta(days=1)
        assert rules.tier_of(Decimal("999.99"), on=yesterday) == Tier.MINOR
        assert rules.tier_of(Decimal("5000"), on=yesterday) == Tier.GENERAL
    with tenant_scope(world.b.tenant):
        assert rules.tier_of(Decimal("999.99")) == Tier.MINOR
        assert rules.tier_of(Decimal("2000.01")) == Tier.GENERAL
        assert rules.tier_of(Decimal("5000")) == Tier.GENERAL
    # … and through proposed cases.
    assert proposed(world.a, amount="999.99", code=CODE).tier == Tier.GENERAL
    assert proposed(world.a, amount="5000", code=CODE).tier == Tier.SERIOUS
    assert proposed(world.b, amount="999.99", code=CODE).tier == Tier.MINOR
    assert proposed(world.b, amount="5000", code=CODE).tier == Tier.GENERAL


@pytest.mark.django_db
def test_only_a_tenant_admin_changes_the_tier_rules(world):
    from django.core.exceptions import PermissionDenied

    from tenancy.models import RuleSetting

    manager = world.a.user(Role.BRANCH_MANAGER)
    with tenant_scope(world.a.tenant, user=manager):
        with pytest.raises(PermissionDenied):
            rule_set(actor=manager, key=rules.GENERAL_FROM.key, value="1", effective_from=timezone.localdate())
        assert not RuleSetting.objects.filter(key=rules.GENERAL_FROM.key).exists()
        assert rules.tier_of(Decimal("999.99")) == Tier.MINOR


money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000000"), places=2, allow_nan=False,
                    allow_infinity=False)


@settings(max_examples=500, deadline=None)
@given(a=money, b=money, low=money, high=money)
def test_tier_for_is_monotonic(a, b, low, high):
    general_from, serious_above = min(low, high), max(low, high)
    small, large = min(a, b), max(a, b)
    tier_small = rules.tier_for(small, general_from=general_from, serious_above=serious_above)
    tier_large = rules.tier_for(large, general_from=general_from, serious_above=serious_above)
    assert RANK[tier_small] <= RANK[tier_large]
    # And the tiers say what they mean.
    assert (tier_large == Tier.SERIOUS) == (large > serious_above)
    assert (tier_small == Tier.MINOR) == (small < general_from and small <= serious_above)


@settings(max_examples=300, deadline=None)
@given(amount=money)
def test_tier_for_under_the_default_rules_matches_the_domain(amount):
    expected = Tier.MINOR if amount < 1000 else Tier.GENERAL if amount <= 5000 else Tier.SERIOUS
    assert rules.tier_for(amount, **DEFAULTS) == expected
