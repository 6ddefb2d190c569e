"""Demo customers and sales data for `make run` (called by tenancy's seed_demo): accounts with
contacts, contracts and twelve weeks of volume, persons with phones and addresses, tags, a
sales team with two sales managers, leads and opportunities at every stage, follow-ups due
today and overdue, and one duplicate pair to merge. Deterministic (seeded random)."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from tenancy.models import Membership, Role

from . import services
from .models import CustomerKind, LeadSource, LeadStatus
from .validators import CREDIT_CODE_ALPHABET, credit_code_check_char

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "桂英",
         "建华", "晓东", "海燕", "志强"]
ACCOUNT_NAMES = ["云桥电子商务有限公司", "鲜丰果业供应链有限公司", "华立精密制造有限公司", "优品服饰有限公司",
                 "康宁医药连锁有限公司", "极客数码科技有限公司", "乐家家居用品有限公司", "禾田食品有限公司",
                 "远航汽配有限公司", "书香文化传媒有限公司", "青禾母婴用品有限公司", "星河美妆有限公司"]
INDUSTRIES = ["ecommerce", "food", "manufacturing", "apparel", "pharma", "electronics", "retail", "food",
              "automotive", "other", "retail", "ecommerce"]
STREETS = ["人民路88号3栋1201室", "建设大道126号A座502", "解放街45弄6号", "科技园路9号B2栋301", "滨江大道300号12楼"]


def credit_code(rng: random.Random) -> str:
    body = "91" + "".join(rng.choice("0123456789") for _ in range(6)) + "".join(
        rng.choice(CREDIT_CODE_ALPHABET) for _ in range(9))
    return body + credit_code_check_char(body)


def seed_customers(*, tenant, admin, provinces: list[tuple[str, str]], phone_prefix: str) -> None:
    """Inside `tenant_scope(tenant, user=admin)`. `provinces` = [(province, city)] of the
    company's regions; `phone_prefix` keeps demo numbers distinct between companies."""
    rng = random.Random(tenant.code)  # noqa: S311 — reproducible demo data, not a secret
    today = timezone.localdate()
    sales = list(Membership.objects.filter(role=Role.SALES_MANAGER).select_related("user").order_by("id"))
    services.sales_team_create(actor=admin, name="大客户销售一组", provinces=[p for p, _c in provinces],
                                      members=sales, leader=sales[0])
    services.sales_team_create(actor=admin, name="全国综合组", priority=200, members=sales[:1])
    tags = {name: services.tag_create(actor=admin, name=name, color=color, description=desc)
            for name, color, desc in [("VIP", "danger", "重点维护客户"), ("电商大客户", "primary", "电商平台商家"),
                                      ("投诉敏感", "warning", "沟通需谨慎"), ("冷链", "info", "需要冷链运输")]}
    phone_seq = iter(range(1000, 9999))

    def phone() -> str:
        return f"{phone_prefix}{next(phone_seq):04d}"

    accounts = []
    for i, name in enumerate(ACCOUNT_NAMES):
        province, city = provinces[i % len(provinces)]
        owner = sales[i % len(sales)]
        account = services.customer_create(
            actor=admin, kind=CustomerKind.ACCOUNT, name=f"{city.rstrip('市')}{name}", phones=[phone()],
            credit_code=credit_code(rng), industry=INDUSTRIES[i], province=province, city=city,
            owner=owner, credit_rating=rng.choice(["AAA", "AA", "A", "B"]),
            settlement_type="monthly" if i % 3 else "cash", source_channel="sales")
        for j in range(rng.randint(1, 3)):
            services.contact_create(actor=admin, customer=account, name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                                    title=["物流主管", "财务", "总经理"][j], phone=phone(), is_primary=j == 0)
        services.address_add(actor=admin, customer=account, province=province, city=city, street=rng.choice(STREETS),
                             label="仓库", is_default=True)
        start = today - dt.timedelta(days=rng.randint(60, 330))
        end = today + dt.timedelta(days=12 if i in (1, 4) else rng.randint(60, 300))
        lanes = [{"origin_province": province, "destination_province": dest, "min_weight_kg": lo,
                  "max_weight_kg": hi, "first_weight_price": first, "additional_kg_price": extra}
                 for dest in {province, provinces[(i + 1) % len(provinces)][0], "广东省"}
                 for lo, hi, first, extra in [("0", "3", "6.50", "2.00"), ("3", "30", "9.00", "1.50")]]
        services.contract_create(actor=admin, customer=account, start_date=start, end_date=end,
                                 monthly_commitment=rng.choice([500, 1000, 3000, 8000]), lanes=lanes, activate=True)
        if i % 4 == 0:
            services.customer_tag_add(actor=admin, customer=account, tag=tags["VIP"])
        if INDUSTRIES[i] == "ecommerce":
            services.customer_tag_add(actor=admin, customer=account, tag=tags["电商大客户"])
        accounts.append(account)

    persons = []
    for i in range(30):
        province, city = provinces[i % len(provinces)]
        person = services.customer_create(
            actor=admin, kind=CustomerKind.PERSON, name=rng.choice(SURNAMES) + rng.choice(GIVEN), phones=[phone()],
            province=province, city=city, delivery_window=rng.choice(["", "evening", "weekends", "morning"]),
            source_channel=rng.choice(["phone", "app", "wechat"]))
        services.address_add(actor=admin, customer=person, province=province, city=city,
                             street=rng.choice(STREETS), label="家", is_default=True)
        persons.append(person)
    services.customer_tag_add(actor=admin, customer=persons[0], tag=tags["投诉敏感"])
    # A duplicate: the same person entered twice by two agents, with the same phone number.
    first = persons[1]
    services.customer_create(actor=admin, kind=CustomerKind.PERSON, name=first.name,
                             phones=[first.phones.first().phone], province=first.province, city=first.city,
                             source_channel="wechat")

    _seed_volume(rng, accounts, persons, today)
    _seed_sales(rng, admin, sales, provinces, today, phone, tenant.pk)
    services.duplicates_scan()
    services.segments_recompute()


def _seed_volume(rng, accounts, persons, today) -> None:
    from shipments.services import daily_volume_add

    rows = []
    for index, account in enumerate(accounts):
        base = rng.randint(20, 400)
        declining = index in (2, 7)  # two accounts whose volume drops: churn candidates
        for offset in range(120, 0, -1):
            day = today - dt.timedelta(days=offset)
            factor = (0.25 if offset < 30 else 1.0) if declining else rng.uniform(0.8, 1.2)
            parcels = max(0, int(base * factor * (0.5 if day.weekday() == 6 else 1)))
            fee = Decimal(rng.choice(["6.50", "7.20", "9.80", "12.00"]))
            rows.append((account.pk, day, parcels, fee * parcels, parcels // rng.choice([15, 40, 200])))
    for person in persons[:15]:
        for offset in rng.sample(range(1, 90), 4):
            rows.append((person.pk, today - dt.timedelta(days=offset), 1, Decimal("12.00"), 0))
    daily_volume_add(rows)


def _seed_sales(rng, admin, sales, provinces, today, phone, tenant_id) -> None:
    owner_user = sales[0].user
    leads = []
    for i, (company, contact, industry, volume) in enumerate([
        ("鲜果多供应链有限公司", "陈晓", "food", 3000), ("智联家电有限公司", "王磊", "electronics", 1500),
        ("悦读图书有限公司", "李娟", "retail", 600), ("迅达机械配件有限公司", "周强", "automotive", 900),
        ("花间美妆有限公司", "赵敏", "ecommerce", 5000), ("宏图印务有限公司", "孙涛", "other", 200),
    ]):
        province, city = provinces[i % len(provinces)]
        leads.append(services.lead_create(
            actor=None, source=LeadSource.WEB_FORM if i % 2 else LeadSource.MANUAL, company_name=company,
            contact_name=contact, phone=phone(), province=province, city=city, industry=industry,
            estimated_monthly_parcels=volume, message="希望了解月结协议价和上门揽收。"))
    # Leads 0–3 become opportunities at different stages; lead 5 is disqualified.
    from tenancy.scoping import tenant_scope

    with tenant_scope(tenant_id, user=owner_user):
        for index, stage in enumerate(["qualified", "quoted", "negotiating", "lost"]):
            lead = leads[index]
            actor = lead.owner.user if lead.owner else owner_user
            with tenant_scope(tenant_id, user=actor):
                opportunity = services.lead_qualify(
                    actor=actor, lead=lead, expected_monthly_revenue=Decimal(lead.estimated_monthly_parcels) * 7,
                    expected_close_date=today + dt.timedelta(days=20 + index * 7))
                if stage in ("quoted", "negotiating", "lost"):
                    services.quote_line_add(actor=actor, opportunity=opportunity, origin_province=lead.province,
                                            destination_province="广东省", min_weight_kg="0", max_weight_kg="3",
                                            first_weight_price="6.80", additional_kg_price="2.00")
                if stage in ("quoted", "negotiating"):
                    services.opportunity_move(actor=actor, opportunity=opportunity, stage="quoted")
                if stage == "negotiating":
                    services.opportunity_move(actor=actor, opportunity=opportunity, stage="negotiating")
                if stage == "lost":
                    services.opportunity_lose(actor=actor, opportunity=opportunity, reason="price",
                                              note="对方选择了更低价的同行")
                services.activity_log(actor=actor, kind="call", opportunity=opportunity,
                                      summary="电话沟通了发货量和主要线路。", next_action="发送报价单",
                                      next_action_date=today if index % 2 == 0 else today + dt.timedelta(days=3))
        lead = leads[4]
        actor = lead.owner.user if lead.owner else owner_user
        with tenant_scope(tenant_id, user=actor):
            services.activity_log(actor=actor, kind="call", lead=lead, summary="首次电话，客户在外出差。",
                                  next_action="再次致电", next_action_date=today - dt.timedelta(days=1))
        lead = leads[5]
        actor = lead.owner.user if lead.owner else owner_user
        if lead.status != LeadStatus.DISQUALIFIED:
            with tenant_scope(tenant_id, user=actor):
                services.lead_disqualify(actor=actor, lead=lead, reason="发货量太小，不适合月结")
