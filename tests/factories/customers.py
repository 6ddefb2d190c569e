"""Customer and sales objects for tests: one of each kind in a tenant, built through services."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from customers import services
from customers.models import CustomerKind
from tenancy.scoping import tenant_scope


@dataclass
class CustomerObjects:
    account: object
    person: object
    twin: object
    phone: object
    address: object
    contact: object
    contract: object
    lane: object
    tag: object
    team: object
    lead: object
    opportunity: object
    quote_line: object
    activity: object
    duplicate: object
    customer_import: object
    merge_record: object


def build_customer_objects(tw, *, label: str = "", phone_prefix: str = "1370000") -> CustomerObjects:
    """An account (phone, address, contact, draft contract with a lane, tag), a person and its
    duplicate twin, a sales team, a lead, an opportunity with a quoted lane, a follow-up, and
    the duplicate pair. `label` is put into every name (the leak walk plants its canary so)."""
    admin = tw.user("tenant_admin")
    sales = tw.members["sales_manager"]
    today = timezone.localdate()
    with tenant_scope(tw.tenant, user=admin):
        account = services.customer_create(
            actor=admin, kind=CustomerKind.ACCOUNT, name=f"{label}云桥电子商务有限公司", phones=[f"{phone_prefix}0001"],
            province="上海", city="浦东新区", owner=sales, email=f"ops{phone_prefix}@example.com")
        phone = account.phones.get()
        address = services.address_add(actor=admin, customer=account, province="上海", city="浦东新区",
                                       street=f"{label}人民路88号3栋1201室", label=f"{label}仓库")
        contact = services.contact_create(actor=admin, customer=account, name=f"{label}李娜", title=f"{label}主管",
                                          phone=f"{phone_prefix}0002")
        contract = services.contract_create(
            actor=admin, customer=account, start_date=today, end_date=today + dt.timedelta(days=365),
            notes=f"{label}notes",
            lanes=[{"origin_province": "上海", "destination_province": "浙江", "min_weight_kg": "0",
                    "max_weight_kg": "3", "first_weight_price": "6", "additional_kg_price": "2"}])
        lane = contract.lanes.get()
        person = services.customer_create(actor=admin, kind=CustomerKind.PERSON, name=f"{label}张伟",
                                          phones=[f"{phone_prefix}0003"], province="浙江", city="杭州")
        twin = services.customer_create(actor=admin, kind=CustomerKind.PERSON, name=f"{label}张伟",
                                        phones=[f"{phone_prefix}0003"], province="浙江", city="杭州")
        tag = services.tag_create(actor=admin, name=f"{label}VIP")
        services.customer_tag_add(actor=admin, customer=account, tag=tag)
        team = services.sales_team_create(actor=admin, name=f"{label}华东组", provinces=["上海"], members=[sales])
        lead = services.lead_create(actor=admin, company_name=f"{label}鲜果供应链有限公司", contact_name=f"{label}王芳",
                                    phone=f"{phone_prefix}0004", province="上海", city="徐汇区", industry="food")
    with tenant_scope(tw.tenant, user=sales.user):
        opportunity = services.lead_qualify(actor=sales.user, lead=lead, name=f"{label}鲜果月结")
        quote_line = services.quote_line_add(actor=sales.user, opportunity=opportunity, origin_province="上海",
                                             destination_province="广东", min_weight_kg="0", max_weight_kg="3",
                                             first_weight_price="7", additional_kg_price="2")
        activity = services.activity_log(actor=sales.user, kind="call", opportunity=opportunity,
                                         summary=f"{label}called", next_action=f"{label}send quote",
                                         next_action_date=today)
    with tenant_scope(tw.tenant, user=admin):
        services.duplicates_scan()
        from customers.models import DuplicateCandidate

        duplicate = DuplicateCandidate.objects.get(customer_a=person, customer_b=twin)
        from customers.models import CustomerImport

        old_account = services.customer_create(actor=admin, kind=CustomerKind.ACCOUNT, name=f"{label}云桥电商(旧)",
                                               province="上海", city="浦东新区")
        merge_record = services.customer_merge(actor=admin, survivor=account, merged=old_account, reason=f"{label}dup")
        customer_import = CustomerImport.objects.create(kind="persons", filename=f"{label}persons.csv",
                                                        file_format="csv", created_by=admin)
    return CustomerObjects(account=account, person=person, twin=twin, phone=phone, address=address, contact=contact,
                           contract=contract, lane=lane, tag=tag, team=team, lead=lead, opportunity=opportunity,
                           quote_line=quote_line, activity=activity, duplicate=duplicate,
                           customer_import=customer_import, merge_record=merge_record)
