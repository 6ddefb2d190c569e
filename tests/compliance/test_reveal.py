"""The logged reveal: permission, reason, one access-log row in the same transaction."""
import pytest
from django.db import DatabaseError, connection, transaction

from compliance.models import AccessLog
from tenancy.scoping import tenant_scope


def reveal(client, membership, reason="客户来电核实身份", field="work_phone"):
    return client.post("/api/v1/pii/reveal/", {"record_type": "tenancy.membership", "record_id": membership.pk,
                                               "field": field, "reason": reason},
                       content_type="application/json")


def access_rows(tenant):
    with tenant_scope(tenant):
        return list(AccessLog.objects.all())


def test_reveal_returns_value_and_logs_it(world):
    client = world.client_for(world.a.user("agent"))
    target = world.a.members["sales_manager"]
    response = reveal(client, target)
    assert response.status_code == 200
    assert response.json()["value"] == "+8613812340001"
    rows = access_rows(world.a.tenant)
    assert len(rows) == 1
    row = rows[0]
    assert row.actor_id == world.a.user("agent").pk and row.actor_role == "agent"
    assert row.target_type == "tenancy.membership" and row.target_id == target.pk
    assert row.fields == ["work_phone"] and row.reason == "客户来电核实身份"
    assert row.request_id and row.ip_address == "127.0.0.1"
    assert "13812340001" not in f"{row.reason}{row.target_label}"
    assert access_rows(world.b.tenant) == []


def test_reveal_without_reason_changes_nothing(world):
    response = reveal(world.client_for(world.a.user("agent")), world.a.members["sales_manager"], reason="  ")
    assert response.status_code == 400 and "reason" in response.json()["error"]["fields"]
    assert access_rows(world.a.tenant) == []


def test_auditor_cannot_reveal(world):
    response = reveal(world.client_for(world.a.user("auditor")), world.a.members["sales_manager"])
    assert response.status_code == 403
    assert access_rows(world.a.tenant) == []


def test_reveal_of_another_tenants_record_is_404(world):
    response = reveal(world.client_for(world.a.user("agent")), world.b.members["sales_manager"])
    assert response.status_code == 404
    assert access_rows(world.a.tenant) == [] and access_rows(world.b.tenant) == []


def test_reveal_of_a_field_that_is_not_personal_data_is_404(world):
    response = reveal(world.client_for(world.a.user("agent")), world.a.members["sales_manager"], field="title")
    assert response.status_code == 404


def test_html_reveal_flow(world):
    client = world.client_for(world.a.user("tenant_admin"))
    target = world.a.members["agent"]
    url = f"/pii/tenancy.membership/{target.pk}/work_phone/reveal/"
    form = client.get(url)
    assert form.status_code == 200 and "138****0000" in form.content.decode()
    bad = client.post(url, {"reason": ""})
    assert "invalid-feedback" in bad.content.decode() and access_rows(world.a.tenant) == []
    good = client.post(url, {"reason": "更新通讯录"})
    assert "+8613812340000" in good.content.decode()
    assert len(access_rows(world.a.tenant)) == 1
    # the person's page shows who looked
    page = client.get(f"/manage/users/{target.pk}/").content.decode()
    assert "更新通讯录" in page


def test_access_log_is_insert_only_in_the_database(world):
    reveal(world.client_for(world.a.user("agent")), world.a.members["sales_manager"])
    with tenant_scope(world.a.tenant):
        row_id = AccessLog.objects.get().pk
        for statement in (f"UPDATE compliance_accesslog SET reason = 'x' WHERE id = {row_id}",
                          f"DELETE FROM compliance_accesslog WHERE id = {row_id}",
                          "TRUNCATE compliance_accesslog"):
            with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement)
        assert AccessLog.objects.get().reason == "客户来电核实身份"


def test_access_log_page_filters(world):
    reveal(world.client_for(world.a.user("agent")), world.a.members["sales_manager"])
    client = world.client_for(world.a.user("auditor"))
    body = client.get("/compliance/access-log/?actor=alpha_agent").content.decode()
    assert "客户来电核实身份" in body
    body = client.get("/compliance/access-log/?actor=alpha_tenant_admin").content.decode()
    assert "客户来电核实身份" not in body
    api = client.get("/api/v1/access-log/").json()["results"]
    assert len(api) == 1 and api[0]["actor_username"] == "alpha_agent"


def _waybill(tw, number: str, branch):
    from shipments.models import Waybill

    with tenant_scope(tw.tenant):
        waybill = Waybill(number=number, receiver_phone="13912340077", responsible_branch=branch,
                          origin_branch=branch)
        waybill.save()
    return waybill


def test_branch_manager_reveals_only_within_their_branch(world):
    manager = world.a.members["branch_manager"]
    assert manager.branch_id == world.a.branch.pk
    client = world.client_for(manager.user)
    own = _waybill(world.a, "SF-REACH-OWN", world.a.branch)
    other = _waybill(world.a, "SF-REACH-OTHER", world.a.other_branch)

    def ask(waybill):
        return client.post("/api/v1/pii/reveal/", {"record_type": "shipments.waybill", "record_id": waybill.pk,
                                                   "field": "receiver_phone", "reason": "派件联系不上收件人"},
                           content_type="application/json")

    assert ask(own).status_code == 200 and ask(own).json()["value"] == "+8613912340077"
    refused = ask(other)
    assert refused.status_code == 403 and "13912340077" not in refused.content.decode()
    rows = access_rows(world.a.tenant)
    assert {row.target_id for row in rows} == {own.pk}  # the refused reveal left no row
    # An agent works company-wide.
    agent_client = world.client_for(world.a.user("agent"))
    response = agent_client.post("/api/v1/pii/reveal/", {"record_type": "shipments.waybill", "record_id": other.pk,
                                                         "field": "receiver_phone", "reason": "客户来电核实"},
                                 content_type="application/json")
    assert response.status_code == 200
