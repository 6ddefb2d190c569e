"""Customer records, contracts and prices, dedup and merge, segments, and the sales flow —
through the services, with two tenants present."""
import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from customers import selectors, services
from customers.models import (
    Contract,
    ContractStatus,
    Customer,
    CustomerKind,
    CustomerPhone,
    CustomerStatus,
    DuplicateCandidate,
    Lead,
    LeadStatus,
    MergeRecord,
    OpportunityStage,
)
from customers.validators import credit_code_check_char, normalize_credit_code
from shipments.services import daily_volume_add
from tenancy.models import Membership, Notification, Role, User
from tenancy.scoping import tenant_scope

VALID_CODE = "91350100M000100Y43"


def admin_scope(tw):
    return tenant_scope(tw.tenant, user=tw.user("tenant_admin"))


def test_credit_code_check_character():
    assert normalize_credit_code(" 91350100m000100y43 ") == VALID_CODE
    assert credit_code_check_char(VALID_CODE[:17]) == VALID_CODE[17]
    for bad, code in (("91350100M000100Y4", "credit_code_length"), ("91350100M000100Y44", "credit_code_check"),
                      ("91350100M000100I43", "credit_code_chars")):
        with pytest.raises(ValidationError) as exc:
            normalize_credit_code(bad)
        assert exc.value.code == code


def test_create_normalises_phones_regions_and_credit_code(world):
    admin = world.a.user("tenant_admin")
    with admin_scope(world.a):
        account = services.customer_create(actor=admin, kind=CustomerKind.ACCOUNT, name="  上海  云桥 电商 ",
                                           phones=["138 1234 5678", "+86 13812345678"], province="上海",
                                           city="浦东", credit_code=VALID_CODE.lower())
        assert account.number == "B00000001"
        assert (account.name, account.province, account.city, account.credit_code) == (
            "上海 云桥 电商", "上海市", "浦东新区", VALID_CODE)
        assert [p.phone for p in account.phones.all()] == ["+8613812345678"]  # one number typed two ways
        person = services.customer_create(actor=admin, kind=CustomerKind.PERSON, name="张伟", phones=["13900001111"])
        assert person.number == "C00000001"
        assert person.display_name == "张*"
        row = Customer.objects.filter(pk=account.pk).values("email").get()
        assert row["email"] is None


def test_bad_input_names_every_field_and_changes_nothing(world):
    admin = world.a.user("tenant_admin")
    with admin_scope(world.a):
        with pytest.raises(ValidationError) as exc:
            services.customer_create(actor=admin, kind=CustomerKind.ACCOUNT, name="", phones=["12"],
                                     province="火星", credit_code="123", email="not-an-email")
        assert {"name", "province", "credit_code", "email"} <= set(exc.value.message_dict)
        with pytest.raises(ValidationError) as exc:
            services.customer_create(actor=admin, kind=CustomerKind.PERSON, name="李四", phones=["12"])
        assert "phones" in exc.value.message_dict
        with pytest.raises(ValidationError) as exc:
            services.customer_create(actor=admin, kind=CustomerKind.PERSON, name="李四", province="浙江", city="广州")
        assert "city" in exc.value.message_dict
        assert Customer.objects.count() == 0


def test_credit_code_is_unique_per_tenant_only(world):
    for tw in (world.a, world.b):
        with admin_scope(tw):
            services.customer_create(actor=tw.user("tenant_admin"), kind=CustomerKind.ACCOUNT, name="同一家公司",
                                     credit_code=VALID_CODE)
    with admin_scope(world.a), pytest.raises(ValidationError) as exc:
        services.customer_create(actor=world.a.user("tenant_admin"), kind=CustomerKind.ACCOUNT, name="又一家",
                                 credit_code=VALID_CODE)
    assert "credit_code" in exc.value.message_dict


def test_auditor_and_branch_manager_cannot_write(world):
    for role in (Role.AUDITOR, Role.BRANCH_MANAGER):
        user = world.a.user(role)
        with tenant_scope(world.a.tenant, user=user), pytest.raises(PermissionDenied):
            services.customer_create(actor=user, kind=CustomerKind.PERSON, name="王五")


def test_lookup_by_phone_number_and_name_stays_in_tenant(cust, world):
    with admin_scope(world.a):
        assert [c.pk for c in selectors.customer_lookup("137-0000-0001")] == [cust.account.pk]
        assert [c.pk for c in selectors.customer_lookup("13700000002")] == [cust.account.pk]  # contact's phone
        assert cust.account.number in [c.number for c in selectors.customer_lookup(cust.account.number)]
        assert [c.pk for c in selectors.customer_list(search="云桥")] == [cust.account.pk]
        assert {c.pk for c in selectors.customer_list(search="张伟")} == {cust.person.pk, cust.twin.pk}
        # Tenant B's numbers and names are not found from A.
        assert selectors.customer_lookup("13900000001") == []
        assert list(selectors.customer_list(search="乙云桥")) == []


def test_price_quote_from_the_active_contract(cust, world):
    admin = world.a.user("tenant_admin")
    with admin_scope(world.a):
        assert selectors.price_quote(customer=cust.account, origin_province="上海", destination_province="浙江",
                                     weight_kg="1") is None  # still a draft
        services.contract_activate(actor=admin, contract=cust.contract)
        quote = selectors.price_quote(customer=cust.account, origin_province="上海市", destination_province="浙江省",
                                      weight_kg="2.3")
        assert (quote.charged_weight_kg, quote.amount) == (Decimal("3.0"), Decimal("10.00"))
        assert selectors.price_quote(customer=cust.account, origin_province="上海", destination_province="浙江",
                                     weight_kg="0.4").amount == Decimal("6.00")
        assert selectors.price_quote(customer=cust.account, origin_province="上海", destination_province="浙江",
                                     weight_kg="3.5") is None  # no band above 3 kg
        assert selectors.price_quote(customer=cust.account, origin_province="上海", destination_province="浙江",
                                     weight_kg="1", on=timezone.localdate() - dt.timedelta(days=1)) is None


def test_contract_rules(cust, world):
    admin = world.a.user("tenant_admin")
    today = timezone.localdate()
    with admin_scope(world.a):
        with pytest.raises(ValidationError) as exc:
            services.contract_create(actor=admin, customer=cust.account, start_date=today,
                                     end_date=today - dt.timedelta(days=1))
        assert "end_date" in exc.value.message_dict
        with pytest.raises(ValidationError) as exc:
            services.contract_lane_add(actor=admin, contract=cust.contract, origin_province="上海",
                                       destination_province="浙江", min_weight_kg="2", max_weight_kg="5",
                                       first_weight_price="5", additional_kg_price="1")
        assert "min_weight_kg" in exc.value.message_dict  # overlaps (0, 3]
        services.contract_activate(actor=admin, contract=cust.contract)
        overlapping = services.contract_create(
            actor=admin, customer=cust.account, start_date=today + dt.timedelta(days=30),
            end_date=today + dt.timedelta(days=60), lanes=[{"origin_province": "上海", "destination_province": "上海",
                                                            "min_weight_kg": 0, "max_weight_kg": 1,
                                                            "first_weight_price": 5, "additional_kg_price": 0}])
        with pytest.raises(ValidationError):
            services.contract_activate(actor=admin, contract=overlapping)
        with pytest.raises(ValidationError):
            services.contract_lane_add(actor=admin, contract=cust.contract, origin_province="上海",
                                       destination_province="江苏", max_weight_kg="1", first_weight_price="5",
                                       min_weight_kg="0", additional_kg_price="0")  # signed: prices frozen
        services.contract_terminate(actor=admin, contract=cust.contract, on=today, reason="客户要求")
        assert Contract.objects.get(pk=cust.contract.pk).status == ContractStatus.TERMINATED


def test_duplicates_scan_finds_shared_phone_and_similar_account_names(cust, world):
    admin = world.a.user("tenant_admin")
    with admin_scope(world.a):
        services.customer_create(actor=admin, kind=CustomerKind.ACCOUNT, name="云桥电子商务公司", province="上海",
                                 city="浦东新区")
        assert services.duplicates_scan() >= 2
        reasons = {frozenset(p.reasons) for p in DuplicateCandidate.objects.filter(status="open")}
        assert frozenset({"phone"}) in reasons and frozenset({"name_city"}) in reasons
        pair = DuplicateCandidate.objects.get(customer_a=cust.person)
        services.duplicate_dismiss(actor=admin, candidate=pair)
        services.duplicates_scan()  # a dismissed pair stays dismissed
        assert DuplicateCandidate.objects.get(pk=pair.pk).status == "dismissed"


def test_merge_preview_changes_nothing_and_merge_moves_everything(cust, world):
    admin = world.a.user("tenant_admin")
    with admin_scope(world.a):
        services.address_add(actor=admin, customer=cust.twin, province="浙江", city="杭州", street="文三路1号")
        daily_volume_add([(cust.person.pk, timezone.localdate(), 2, Decimal("20"), 0),
                          (cust.twin.pk, timezone.localdate(), 3, Decimal("30"), 1)])
        before = CustomerPhone.objects.filter(customer=cust.twin).count()
        plan = services.merge_preview(actor=admin, survivor=cust.person, merged=cust.twin)
        assert not plan.problems
        assert dict((label, n) for label, _name, n in plan.moves)["customers.address"] == 1
        assert CustomerPhone.objects.filter(customer=cust.twin).count() == before  # the preview moved nothing
        record = services.customer_merge(actor=admin, survivor=cust.person, merged=cust.twin, reason="同一人")
        twin = Customer.objects.get(pk=cust.twin.pk)
        assert (twin.status, twin.merged_into_id) == (CustomerStatus.MERGED, cust.person.pk)
        assert cust.person.addresses.count() == 1
        assert cust.person.phones.count() == 1  # the same number is not doubled
        from shipments.models import CustomerDailyVolume

        volume = CustomerDailyVolume.objects.get(customer=cust.person)
        assert (volume.parcels, volume.revenue, volume.returned) == (5, Decimal("50.00"), 1)
        assert not CustomerDailyVolume.objects.filter(customer=cust.twin).exists()
        assert record.moved["customers.address"] == 1
        assert MergeRecord.objects.filter(survivor=cust.person).count() == 1
        assert DuplicateCandidate.objects.get(pk=cust.duplicate.pk).status == "merged"
        with pytest.raises(ValidationError):
            services.customer_merge(actor=admin, survivor=cust.person, merged=cust.twin)
        assert services.merge_preview(actor=admin, survivor=cust.account, merged=cust.person).problems
    agent = world.a.user("agent")
    with tenant_scope(world.a.tenant, user=agent), pytest.raises(PermissionDenied):
        services.customer_merge(actor=agent, survivor=cust.account, merged=cust.person)


def test_segments_recomputed_from_daily_volume(cust, world):
    today = timezone.localdate()
    with admin_scope(world.a):
        rows = [(cust.account.pk, today - dt.timedelta(days=d), 100, Decimal("700.00"), 8) for d in range(1, 21)]
        daily_volume_add(rows)
        Customer.objects.filter(pk=cust.account.pk).update(settlement_type="monthly")
        assert services.segments_recompute() >= 1
        account = Customer.objects.get(pk=cust.account.pk)
        # 2,000 parcels, 14,000 CNY (avg 7.00 ≤ 8.00), 160 returned (8 %)
        assert set(account.segments) == {"high_value", "price_sensitive", "monthly_settlement", "high_return_rate"}
        assert [c.pk for c in selectors.customer_list(segment="high_value")] == [cust.account.pk]
        assert services.segments_recompute() == 0  # nothing changed: nothing written


def test_leads_are_assigned_round_robin_skipping_away_members(world):
    admin = world.a.user("tenant_admin")
    with admin_scope(world.a):
        first = world.a.members["sales_manager"]
        others = []
        for name in ("sm2", "sm3"):
            user = User.objects.create_user(f"alpha_{name}", "x-Passw0rd-2026", display_name=name,
                                            home_tenant=world.a.tenant)
            others.append(Membership.objects.create(user=user, role=Role.SALES_MANAGER))
        services.sales_team_create(actor=admin, name="华东", provinces=["上海"], members=[first, *others])
        services.sales_team_create(actor=admin, name="电商", industries=["ecommerce"], members=[others[0]], priority=50)
        owners = [services.lead_create(actor=None, source="web_form", company_name=f"公司{i}", contact_name="王",
                                       phone=f"1381111000{i}", province="上海").owner for i in range(4)]
        assert owners == [first, others[0], others[1], first]
        others[0].is_away = True
        others[0].save()
        assert services.lead_create(actor=None, company_name="公司X", contact_name="王", phone="13811110009",
                                    province="上海市").owner == others[1]
        ecommerce = services.lead_create(actor=None, company_name="网店", contact_name="李", email="a@b.cn",
                                         industry="ecommerce", province="广东")
        assert ecommerce.team.name == "电商" and ecommerce.owner is None  # its only member is away
        nowhere = services.lead_create(actor=None, company_name="西部", contact_name="赵", phone="13811110010",
                                       province="西藏")
        assert nowhere.owner is None and nowhere.status == LeadStatus.NEW
        assert Notification.objects.filter(membership=first, title__contains="公司0").exists()


def test_lead_visibility_follows_owner_and_team(cust, world):
    sales = world.a.user("sales_manager")
    outsider_user = User.objects.create_user("alpha_out", "x-Passw0rd-2026", display_name="out",
                                             home_tenant=world.a.tenant)
    with admin_scope(world.a):
        outsider = Membership.objects.create(user=outsider_user, role=Role.SALES_MANAGER)
        assert outsider
    with tenant_scope(world.a.tenant, user=sales):
        assert cust.lead.pk in {lead.pk for lead in selectors.lead_list(actor=sales)}
    with tenant_scope(world.a.tenant, user=outsider_user):
        assert list(selectors.lead_list(actor=outsider_user)) == []
        with pytest.raises(PermissionDenied):
            services.opportunity_move(actor=outsider_user, opportunity=cust.opportunity, stage="quoted")
    with tenant_scope(world.a.tenant, user=world.a.user("executive")):
        assert selectors.lead_list(actor=world.a.user("executive")).count() == 1  # sees all, cannot change


def test_opportunity_pipeline_win_creates_account_and_active_contract(cust, world):
    sales = world.a.user("sales_manager")
    today = timezone.localdate()
    with tenant_scope(world.a.tenant, user=sales):
        with pytest.raises(ValidationError):
            services.opportunity_move(actor=sales, opportunity=cust.opportunity, stage="won")
        opp = services.opportunity_move(actor=sales, opportunity=cust.opportunity, stage="quoted")
        with pytest.raises(ValidationError) as exc:
            services.opportunity_win(actor=sales, opportunity=opp, start_date=today, end_date=today,
                                     credit_code="123")
        assert "credit_code" in exc.value.message_dict
        assert Customer.objects.filter(name__contains="鲜果").count() == 0  # nothing half-made
        opp = services.opportunity_win(actor=sales, opportunity=opp, start_date=today,
                                       end_date=today + dt.timedelta(days=364), monthly_commitment=2000,
                                       credit_code=VALID_CODE)
        assert opp.stage == OpportunityStage.WON
        account = opp.customer
        assert (account.kind, account.name, account.owner_id, account.credit_code) == (
            CustomerKind.ACCOUNT, "鲜果供应链有限公司", world.a.members["sales_manager"].pk, VALID_CODE)
        assert account.contacts.get().name == "王芳"
        assert opp.contract.status == ContractStatus.ACTIVE and opp.contract.monthly_commitment == 2000
        quote = selectors.price_quote(customer=account, origin_province="上海", destination_province="广东",
                                      weight_kg="1")
        assert quote.amount == Decimal("7.00")
        assert Lead.objects.get(pk=cust.lead.pk).customer_id == account.pk
        with pytest.raises(ValidationError):
            services.opportunity_lose(actor=sales, opportunity=opp, reason="price")


def test_lose_needs_a_reason_and_can_be_reopened(cust, world):
    sales = world.a.user("sales_manager")
    with tenant_scope(world.a.tenant, user=sales):
        with pytest.raises(ValidationError) as exc:
            services.opportunity_lose(actor=sales, opportunity=cust.opportunity, reason="")
        assert "reason" in exc.value.message_dict
        opp = services.opportunity_lose(actor=sales, opportunity=cust.opportunity, reason="competitor", note="低价")
        assert opp.stage == "lost" and opp.closed_at
        opp = services.opportunity_move(actor=sales, opportunity=opp, stage="qualified")
        assert (opp.stage, opp.lost_reason, opp.closed_at) == ("qualified", "", None)


def test_follow_up_reminders_are_sent_once(cust, world):
    sales = world.a.members["sales_manager"]
    with admin_scope(world.a):
        assert services.sales_reminders_send() >= 1
        first = Notification.objects.filter(membership=sales).count()
        assert services.sales_reminders_send() == 0
        assert Notification.objects.filter(membership=sales).count() == first
        assert selectors.followups_due(membership=sales)["today"][0].pk == cust.activity.pk


def test_logging_a_follow_up_closes_the_previous_next_action(cust, world):
    sales = world.a.user("sales_manager")
    with tenant_scope(world.a.tenant, user=sales):
        with pytest.raises(ValidationError) as exc:
            services.activity_log(actor=sales, kind="call", summary="", opportunity=cust.opportunity,
                                  next_action_date=timezone.localdate())
        assert {"summary", "next_action"} <= set(exc.value.message_dict)
        services.activity_log(actor=sales, kind="visit", summary="visited", opportunity=cust.opportunity,
                              next_action="sign", next_action_date=timezone.localdate() + dt.timedelta(days=2))
        cust.activity.refresh_from_db()
        assert cust.activity.next_action_done_at is not None


def test_number_sequences_are_per_tenant(world):
    for tw in (world.a, world.b):
        with admin_scope(tw):
            c = services.customer_create(actor=tw.user("tenant_admin"), kind=CustomerKind.PERSON, name="甲")
            assert c.number == "C00000001"


def test_nothing_is_added_to_a_merged_record(cust, world):
    admin = world.a.user("tenant_admin")
    with admin_scope(world.a):
        services.customer_merge(actor=admin, survivor=cust.person, merged=cust.twin)
        twin = Customer.objects.get(pk=cust.twin.pk)
        for add in (lambda: services.customer_phone_add(actor=admin, customer=twin, phone="13811112222"),
                    lambda: services.address_add(actor=admin, customer=twin, province="浙江", city="杭州",
                                                 street="x路1号"),
                    lambda: services.customer_tag_add(actor=admin, customer=twin, tag=cust.tag),
                    lambda: services.activity_log(actor=admin, kind="call", summary="x", customer=twin)):
            with pytest.raises(ValidationError):
                add()
        with pytest.raises(ValidationError):
            services.duplicate_dismiss(actor=admin, candidate=DuplicateCandidate.objects.get(pk=cust.duplicate.pk))
