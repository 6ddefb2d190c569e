"""The tenant-scoped REST API: auth, error envelope, pagination, 404 across tenants."""
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tenancy.models import ApiToken, Branch, Membership
from tenancy.scoping import tenant_scope
from tenancy.services import api_token_create


@pytest.fixture
def admin_token(world):
    with tenant_scope(world.a.tenant):
        _token, raw = api_token_create(actor=world.a.user("tenant_admin"), name="test",
                                       for_membership=world.a.members["tenant_admin"])
    return raw


def token_client(raw):
    return Client(HTTP_AUTHORIZATION=f"Token {raw}")


def test_token_auth_lists_own_tenant_only(world, admin_token):
    response = token_client(admin_token).get("/api/v1/branches/")
    assert response.status_code == 200
    codes = {row["code"] for row in response.json()["results"]}
    assert codes == {"ALPHA-HQ", "ALPHA-R1", "ALPHA-B1", "ALPHA-B2"}


def test_bad_token_is_401_in_the_error_format(world):
    response = token_client("crm_nonsense").get("/api/v1/branches/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_revoked_token_stops_working_at_once(world, admin_token):
    from tenancy.services import api_token_revoke

    client = token_client(admin_token)
    assert client.get("/api/v1/me/").status_code == 200  # the token is now in the authorisation cache
    admin = world.a.user("tenant_admin")
    with tenant_scope(world.a.tenant, user=admin):
        api_token_revoke(actor=admin, token=ApiToken.objects.get())
    assert client.get("/api/v1/me/").status_code == 401


def test_role_change_applies_to_the_next_request(world, admin_token):
    from tenancy.services import membership_update

    agent = world.a.members["agent"]
    client = world.client_for(agent.user)
    assert client.get("/api/v1/memberships/").status_code == 403
    admin = world.a.user("tenant_admin")
    with tenant_scope(world.a.tenant, user=admin):
        membership_update(actor=admin, membership=agent, role="branch_manager",
                          branch=world.a.branch, title="", is_active=True, is_away=False)
    assert client.get("/api/v1/memberships/").status_code == 200


def test_anonymous_gets_401_or_403_in_the_error_format(world):
    response = Client().get("/api/v1/branches/")
    assert response.status_code in (401, 403)
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_other_tenants_object_is_404(world, admin_token):
    client = token_client(admin_token)
    assert client.get(f"/api/v1/branches/{world.b.branch.pk}/").status_code == 404
    assert client.get(f"/api/v1/memberships/{world.b.members['agent'].pk}/").status_code == 404
    response = client.patch(f"/api/v1/memberships/{world.b.members['agent'].pk}/", {"title": "x"},
                            content_type="application/json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_validation_errors_name_the_field_and_change_nothing(world, admin_token):
    client = token_client(admin_token)
    with tenant_scope(world.a.tenant):
        before = Branch.objects.count()
    response = client.post("/api/v1/branches/", {"code": "", "kind": "branch"}, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and {"code", "name"} <= set(error["fields"])
    # another tenant's branch as the parent: "does not exist", nothing created
    response = client.post("/api/v1/branches/", {"code": "X9", "name": "越界", "kind": "branch",
                                                 "parent": world.b.region.pk}, content_type="application/json")
    assert response.status_code == 400 and "parent" in response.json()["error"]["fields"]
    with tenant_scope(world.a.tenant):
        assert Branch.objects.count() == before


def test_create_and_update_membership_over_the_api(world, admin_token):
    client = token_client(admin_token)
    response = client.post("/api/v1/memberships/", {
        "username": "api_agent", "display_name": "接口客服", "password": "Long-Enough-Passw0rd",
        "role": "agent", "branch": world.a.branch.pk, "work_phone": "13700001234"},
        content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["work_phone"] == "137****1234"
    response = client.patch(f"/api/v1/memberships/{body['id']}/", {"is_away": True, "branch": world.b.branch.pk},
                            content_type="application/json")
    assert response.status_code == 400 and "branch" in response.json()["error"]["fields"]
    response = client.patch(f"/api/v1/memberships/{body['id']}/", {"is_away": True},
                            content_type="application/json")
    assert response.status_code == 200 and response.json()["is_away"] is True


def test_weak_password_is_a_field_error(world, admin_token):
    response = token_client(admin_token).post("/api/v1/memberships/", {
        "username": "weak", "display_name": "弱", "password": "123", "role": "agent"},
        content_type="application/json")
    assert response.status_code == 400 and "password" in response.json()["error"]["fields"]


def test_role_without_permission_gets_403(world):
    client = world.client_for(world.a.user("agent"))
    assert client.get("/api/v1/memberships/").status_code == 403
    response = client.post("/api/v1/branches/", {"code": "Z", "name": "Z", "kind": "branch"},
                           content_type="application/json")
    assert response.status_code == 403


def test_session_writes_need_csrf(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.a.user("tenant_admin"))
    response = client.post("/api/v1/branches/", {"code": "C1", "name": "C", "kind": "branch",
                                                 "parent": world.a.region.pk}, content_type="application/json")
    assert response.status_code == 403


def test_cursor_pagination(world, admin_token):
    with tenant_scope(world.a.tenant):
        for i in range(60):
            node = Branch(code=f"P{i:03d}", name=f"网点{i}", kind="branch", parent=world.a.region)
            node.save()
    client = token_client(admin_token)
    first = client.get("/api/v1/branches/").json()
    assert len(first["results"]) == 50 and first["next"] and "cursor=" in first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 14
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}


def test_list_query_count_is_constant(world, admin_token):
    client = token_client(admin_token)
    client.get("/api/v1/me/")  # the first use records the token's last-used time (one UPDATE)
    with CaptureQueriesContext(connection) as small:
        client.get("/api/v1/memberships/")
    with tenant_scope(world.a.tenant):
        for i in range(30):
            from tenancy.models import User

            user = User.objects.create_user(f"bulk{i}", None, display_name=f"批量{i}")
            Membership.objects.create(user=user, role="agent", branch=world.a.branch)
    with CaptureQueriesContext(connection) as large:
        response = client.get("/api/v1/memberships/")
    assert len(response.json()["results"]) == 37
    assert len(large) == len(small)


def test_schema_and_docs_are_served(world):
    client = world.client_for(world.a.user("agent"))
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/branches/" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_me_endpoint(world):
    me = world.client_for(world.a.user("sales_manager")).get("/api/v1/me/").json()
    assert me["username"] == "alpha_sales_manager"
    assert me["active_membership"]["role"] == "sales_manager"
    assert "tenancy.reveal_pii" in me["permissions"] and "tenancy.manage_members" not in me["permissions"]


def test_date_filters_with_odd_offsets_are_handled(world):
    client = world.client_for(world.a.user("auditor"))
    response = client.get("/api/v1/access-log/", {"created_before": "0266-02-08T07:09:57-23:09"})
    assert response.status_code == 200
    response = client.get("/api/v1/access-log/", {"created_after": "not-a-date"})
    assert response.status_code == 400 and "created_after" in response.json()["error"]["fields"]


def test_lean_branch_list_matches_the_serializer(world, admin_token):
    from tenancy.api.serializers import BranchSerializer
    from tenancy.selectors import branch_list

    rows = token_client(admin_token).get("/api/v1/branches/").json()["results"]
    with tenant_scope(world.a.tenant):
        expected = [dict(BranchSerializer(b).data) for b in branch_list().order_by("-id")]
    assert rows == expected


def test_branch_list_filters_and_orders(world, admin_token):
    client = token_client(admin_token)
    kinds = {row["kind"] for row in client.get("/api/v1/branches/", {"kind": "branch"}).json()["results"]}
    assert kinds == {"branch"}
    assert client.get("/api/v1/branches/", {"kind": "planet"}).status_code == 400
    rows = client.get("/api/v1/branches/", {"parent": world.a.region.pk}).json()["results"]
    assert {row["code"] for row in rows} == {"ALPHA-B1", "ALPHA-B2"}
