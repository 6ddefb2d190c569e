"""The violation catalogue (DOMAIN.md §5): the defaults every company starts with (idempotent,
detectors attached), versioned edits with snapshots, validation that names the field, only the
tenant admin edits, and a case keeps the version it was proposed under."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.db.models.signals import post_save

from penalties import services
from penalties.models import Detector, ViolationCategory, ViolationType, ViolationTypeVersion
from penalties.rules import DEFAULT_CATALOGUE
from penalties.services.catalogue import EDITABLE
from penalties.signals import catalogue_for_new_tenant
from tenancy.models import Role, Tenant
from tenancy.scoping import tenant_scope
from tenancy.services import platform_tenant_create

from .fines_world import act, proposed, vtype

pytestmark = pytest.mark.django_db

DETECTORS = {"TRACKING_LATE": Detector.TRACKING_GAP, "COMPLAINT_OVERDUE": Detector.COMPLAINT_OVERDUE,
             "PII_ACCESS_ANOMALY": Detector.PII_ACCESS_ANOMALY}
MONEY_KEYS = ("amount_min", "amount_max", "default_amount")
NEW = {"name_zh": "包裹分拣错误", "name_en": "Mis-sorting", "category": "service_quality", "amount_min": "50",
       "amount_max": "800", "default_amount": "100", "default_severity": "low", "description": "分拣到错误网点"}


def _fields(exc: ValidationError) -> set[str]:
    return set(exc.message_dict)


def _counts(tw) -> tuple[int, int]:
    with tenant_scope(tw.tenant):
        return ViolationType.objects.count(), ViolationTypeVersion.objects.count()


def _values(vt: ViolationType, **changes) -> dict:
    return {**{name: getattr(vt, name) for name in EDITABLE}, **changes}


@pytest.fixture
def bare_tenant(db):
    """A company created while the new-company signal is off: no catalogue yet."""
    post_save.disconnect(sender=Tenant, dispatch_uid="penalties-catalogue-for-new-tenant")
    try:
        tenant = platform_tenant_create(code="gamma", name="丙物流", hq_code="GAMMA-HQ")
    finally:
        post_save.connect(catalogue_for_new_tenant, sender=Tenant, dispatch_uid="penalties-catalogue-for-new-tenant")
    return tenant


# --- the defaults ---------------------------------------------------------------------------------------

def test_the_defaults_are_seeded_once_with_their_detectors(bare_tenant):
    with tenant_scope(bare_tenant):
        assert ViolationType.objects.count() == 0
        assert services.catalogue_defaults_ensure() == 15
        assert services.catalogue_defaults_ensure() == 0
        assert ViolationType.objects.count() == len(DEFAULT_CATALOGUE) == 15
        assert ViolationTypeVersion.objects.count() == 15
        attached = dict(ViolationType.objects.exclude(detector="").values_list("code", "detector"))
        assert attached == DETECTORS
        for vt in ViolationType.objects.all():
            assert vt.version == 1 and vt.is_active
            assert vt.amount_min <= vt.default_amount <= vt.amount_max
            assert list(vt.versions.values_list("version", flat=True)) == [1]
            data = vt.versions.get().data
            assert {k: v for k, v in data.items() if k not in MONEY_KEYS} == {
                k: v for k, v in vt.snapshot().items() if k not in MONEY_KEYS}
            assert all(Decimal(data[k]) == getattr(vt, k) for k in MONEY_KEYS)
            if vt.category == ViolationCategory.REGULATOR:
                assert vt.legal_reference
        codes = set(ViolationType.objects.values_list("code", flat=True))
        assert {"DATA_LEAK", "FALSE_ADDRESS", "FAKE_SCAN", "FAKE_SIGNATURE", "TRACKING_LATE", "CRM_DATA_TAMPERING",
                "UNAPPROVED_INTEGRATION", "DATA_LOSS_MISHANDLING", "ROUGH_HANDLING", "LOCKER_NO_CONSENT",
                "COMPLAINT_OVERDUE", "REG_TRACKING", "REG_WAYBILL_LEAK", "REG_PIPL"} <= codes


def test_a_default_entrys_first_snapshot_is_the_entry_as_stored(bare_tenant):
    """Version 1 of a default entry reads like every later version (and like an entry created
    through the service): amounts with their two decimals, as the row holds them."""
    with tenant_scope(bare_tenant):
        services.catalogue_defaults_ensure()
        vt = ViolationType.objects.get(code="FAKE_SCAN")
        assert vt.versions.get(version=1).data == vt.snapshot()


def test_a_new_company_starts_with_the_defaults(world):
    for tw in (world.a, world.b):
        assert _counts(tw) == (15, 15)
        with tenant_scope(tw.tenant):
            assert services.catalogue_defaults_ensure() == 0
        assert _counts(tw) == (15, 15)
    # Each company's entries are its own rows.
    assert vtype(world.a).pk != vtype(world.b).pk


def test_the_defaults_leave_a_detector_where_it_is_and_add_only_missing_codes(bare_tenant):
    with tenant_scope(bare_tenant):
        own = ViolationType.objects.create(code="MY_GAP", name_zh="自定义轨迹", name_en="Own gap",
                                           category="tracking_timeliness", amount_min=Decimal("10"),
                                           amount_max=Decimal("100"), default_amount=Decimal("20"),
                                           detector=Detector.TRACKING_GAP)
        ViolationType.objects.create(code="FAKE_SCAN", name_zh="我们的虚假扫描", name_en="Our fake scan",
                                     category="information_accuracy", amount_min=Decimal("1"),
                                     amount_max=Decimal("9"), default_amount=Decimal("5"))
        assert services.catalogue_defaults_ensure() == 14
        assert ViolationType.objects.get(code="TRACKING_LATE").detector == ""
        assert ViolationType.objects.get(pk=own.pk).detector == Detector.TRACKING_GAP
        assert ViolationType.objects.get(code="FAKE_SCAN").amount_max == Decimal("9")  # not overwritten
        assert services.catalogue_defaults_ensure() == 0
        assert ViolationType.objects.count() == 16


# --- create and update ----------------------------------------------------------------------------------

def test_create_and_update_bump_the_version_and_keep_snapshots(world):
    tw = world.a
    admin = tw.user(Role.TENANT_ADMIN)
    vt = act(tw, admin, services.violation_type_create, code="mis_sort", note="新增", **NEW)
    assert vt.code == "MIS_SORT" and vt.version == 1 and vt.updated_by_id == admin.pk
    vt = act(tw, admin, services.violation_type_update, violation_type=vt, note="提高上限",
             **_values(vt, amount_max=Decimal("1200")))
    assert vt.version == 2 and vt.amount_max == Decimal("1200")
    # Nothing changed: no new version.
    same = act(tw, admin, services.violation_type_update, violation_type=vt, **_values(vt))
    assert same.version == 2
    vt = act(tw, admin, services.violation_type_update, violation_type=vt, **_values(vt, is_active=False))
    assert vt.version == 3 and not vt.is_active
    with tenant_scope(tw.tenant):
        versions = {v.version: v for v in ViolationTypeVersion.objects.filter(violation_type_id=vt.pk)}
        assert sorted(versions) == [1, 2, 3]
        assert versions[1].data["amount_max"] == "800.00" and versions[1].note == "新增"
        assert versions[2].data["amount_max"] == "1200.00" and versions[2].note == "提高上限"
        assert versions[3].data["is_active"] is False
        assert all(v.changed_by_id == admin.pk for v in versions.values())
        assert ViolationType.objects.get(pk=vt.pk).snapshot() == versions[3].data
        # The snapshots are insert-only.
        with pytest.raises(DatabaseError), transaction.atomic():
            ViolationTypeVersion.objects.filter(pk=versions[1].pk).update(note="改写历史")
    with tenant_scope(world.b.tenant):  # the other company has no such entry
        assert not ViolationType.objects.filter(code="MIS_SORT").exists()


def test_an_update_in_one_company_leaves_the_other_alone(world):
    a, b = world.a, world.b
    vt = vtype(a)
    act(a, a.user(Role.TENANT_ADMIN), services.violation_type_update, violation_type=vt,
        **_values(vt, default_amount=Decimal("2000")))
    assert vtype(a).version == 2 and vtype(a).default_amount == Decimal("2000")
    assert vtype(b).version == 1 and vtype(b).default_amount == Decimal("1000")


# --- validation ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "changes", "field"), [
    ("1ABC", {}, "code"),
    ("A", {}, "code"),
    ("FAKE-SCAN", {}, "code"),
    ("", {}, "code"),
    ("A" * 41, {}, "code"),
    ("罚款", {}, "code"),
    ("FAKE_SCAN", {}, "code"),                                         # already in the catalogue
    ("NEW_ONE", {"amount_min": "900", "amount_max": "800"}, "amount_max"),
    ("NEW_ONE", {"default_amount": "801"}, "default_amount"),
    ("NEW_ONE", {"default_amount": "49.99"}, "default_amount"),
    ("NEW_ONE", {"default_amount": "0"}, "default_amount"),
    ("NEW_ONE", {"amount_min": "-1"}, "amount_min"),
    ("NEW_ONE", {"amount_max": "abc"}, "amount_max"),
    ("NEW_ONE", {"category": "regulator"}, "legal_reference"),
    ("NEW_ONE", {"category": "gossip"}, "category"),
    ("NEW_ONE", {"name_zh": "  "}, "name_zh"),
    ("NEW_ONE", {"detector": "tracking_gap"}, "detector"),             # TRACKING_LATE has it
    ("NEW_ONE", {"detector": "mind_reading"}, "detector"),
    ("NEW_ONE", {"default_severity": "apocalyptic"}, "default_severity"),
])
def test_bad_catalogue_input_names_the_field_and_writes_nothing(world, code, changes, field):
    tw = world.a
    before = _counts(tw)
    with pytest.raises(ValidationError) as exc:
        act(tw, tw.user(Role.TENANT_ADMIN), services.violation_type_create, code=code, **{**NEW, **changes})
    assert field in _fields(exc.value)
    assert _counts(tw) == before


def test_bad_updates_name_the_field_and_change_nothing(world):
    tw = world.a
    admin = tw.user(Role.TENANT_ADMIN)
    vt = vtype(tw, "FAKE_SCAN")
    before = _counts(tw)
    for changes, field in (({"amount_min": Decimal("6000")}, "amount_max"),
                           ({"default_amount": Decimal("5000.01")}, "default_amount"),
                           ({"detector": Detector.COMPLAINT_OVERDUE}, "detector"),
                           ({"category": ViolationCategory.REGULATOR}, "legal_reference")):
        with pytest.raises(ValidationError) as exc:
            act(tw, admin, services.violation_type_update, violation_type=vt, **_values(vt, **changes))
        assert field in _fields(exc.value), changes
    assert _counts(tw) == before
    assert vtype(tw, "FAKE_SCAN").version == 1
    # A regulator entry with its article is fine; an entry keeps its own detector.
    keeps = vtype(tw, "TRACKING_LATE")
    saved = act(tw, admin, services.violation_type_update, violation_type=keeps,
                **_values(keeps, amount_max=Decimal("2500")))
    assert saved.detector == Detector.TRACKING_GAP and saved.version == 2
    regulator = act(tw, admin, services.violation_type_create, code="REG_OTHER",
                    **{**NEW, "category": "regulator", "legal_reference": "快递市场管理办法 第五十条"})
    assert regulator.legal_reference


# --- who may edit --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.AGENT, Role.SALES_MANAGER, Role.BRANCH_MANAGER, Role.AUDITOR, Role.EXECUTIVE])
def test_only_the_tenant_admin_manages_the_catalogue(world, role):
    tw = world.a
    user = tw.user(role)
    vt = vtype(tw)
    before = _counts(tw)
    with pytest.raises(PermissionDenied):
        act(tw, user, services.violation_type_create, code="NOT_ALLOWED", **NEW)
    with pytest.raises(PermissionDenied):
        act(tw, user, services.violation_type_update, violation_type=vt, **_values(vt, amount_max=Decimal("9000")))
    assert _counts(tw) == before and vtype(tw).version == 1


# --- a case keeps its version -----------------------------------------------------------------------------

def test_a_case_keeps_the_version_it_was_proposed_under(world):
    tw = world.a
    admin = tw.user(Role.TENANT_ADMIN)
    first = proposed(tw, amount="300")
    assert first.type_version == 1
    vt = vtype(tw)
    act(tw, admin, services.violation_type_update, violation_type=vt, note="收紧范围",
        **_values(vt, amount_min=Decimal("400"), default_amount=Decimal("1000")))
    second = proposed(tw, amount="500")
    assert second.type_version == 2
    with tenant_scope(tw.tenant):
        first.refresh_from_db()
        assert first.type_version == 1 and first.amount == Decimal("300")
        then = ViolationTypeVersion.objects.get(violation_type_id=vt.pk, version=first.type_version)
        assert Decimal(then.data["amount_min"]) == Decimal("200")
        now = ViolationTypeVersion.objects.get(violation_type_id=vt.pk, version=second.type_version)
        assert Decimal(now.data["amount_min"]) == Decimal("400")
    # Under the new version, 300 is outside the range and needs a reason.
    with pytest.raises(ValidationError) as exc:
        proposed(tw, amount="300")
    assert "out_of_range_reason" in _fields(exc.value)
    # The earlier case is still confirmed as it stood.
    confirmed = act(tw, tw.user(Role.EXECUTIVE), services.case_confirm, case=first)
    assert confirmed.type_version == 1 and confirmed.amount == Decimal("300")


def test_regulator_defaults_carry_their_article(world):
    tw = world.a
    for code in ("REG_TRACKING", "REG_WAYBILL_LEAK", "REG_PIPL"):
        vt = vtype(tw, code)
        assert vt.category == ViolationCategory.REGULATOR and vt.legal_reference
    case = act(tw, tw.user(Role.TENANT_ADMIN), services.case_propose, violation_type=vtype(tw, "REG_PIPL"),
               subject_kind="branch", branch=tw.hq, amount="1000000", description="个人信息保护处罚",
               occurred_on=dt.date.today())
    assert case.legal_reference == vtype(tw, "REG_PIPL").legal_reference
