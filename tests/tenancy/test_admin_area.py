"""The tenant admin area: users, memberships, roles and branches."""
import pytest

from tenancy.models import Branch, Membership, Role, User
from tenancy.permissions import role_permissions
from tenancy.scoping import tenant_scope

ADMIN_PAGES = ["/manage/users/", "/manage/users/new/", "/manage/users/add-existing/",
               "/manage/branches/new/"]


@pytest.mark.parametrize("role", Role.values)
def test_role_matrix_for_admin_pages(world, role):
    client = world.client_for(world.a.user(role))
    expected = 200 if role == Role.TENANT_ADMIN else 403
    for page in ADMIN_PAGES:
        assert client.get(page).status_code == expected, page
    member_page = f"/manage/users/{world.a.members['agent'].pk}/"
    assert client.get(member_page).status_code == expected
    # everyone may look at the branch network
    assert client.get("/branches/").status_code == 200
    assert client.get("/compliance/access-log/").status_code == (
        200 if role in (Role.TENANT_ADMIN, Role.AUDITOR) else 403)


@pytest.mark.django_db
def test_every_granted_permission_exists():
    from django.contrib.auth.models import Permission

    known = {f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")}
    for role in Role.values:
        assert role_permissions(role) <= known, role


def test_auditor_holds_no_write_permission():
    writes = {p for p in role_permissions(Role.AUDITOR)
              if p.split(".")[1].startswith(("add_", "change_", "delete_", "manage_"))}
    assert writes == set()


def test_admin_creates_a_user_who_can_log_in(world):
    client = world.client_for(world.a.user("tenant_admin"))
    response = client.post("/manage/users/new/", {
        "username": "new_agent", "display_name": "新客服", "role": Role.AGENT,
        "branch": world.a.branch.pk, "title": "客服", "work_phone": "139 0000 1111",
        "password": "Long-Enough-Passw0rd"})
    assert response.status_code == 302
    with tenant_scope(world.a.tenant):
        membership = Membership.objects.get(user__username="new_agent")
        assert membership.work_phone == "+8613900001111"
        assert membership.branch_id == world.a.branch.pk
    assert User.objects.get(username="new_agent").home_tenant_id == world.a.tenant.pk
    listing = client.get("/manage/users/?q=new_agent").content.decode()
    assert "139****1111" in listing and "13900001111" not in listing


def test_bad_input_keeps_what_was_typed_and_changes_nothing(world):
    client = world.client_for(world.a.user("tenant_admin"))
    users_before = User.objects.count()
    response = client.post("/manage/users/new/", {
        "username": "weak_pw", "display_name": "弱密码", "role": Role.AGENT, "branch": "",
        "work_phone": "12", "password": "123"})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'value="weak_pw"' in body and 'value="弱密码"' in body
    assert "invalid-feedback" in body
    assert User.objects.count() == users_before


def test_branch_of_another_tenant_is_not_a_valid_choice(world):
    client = world.client_for(world.a.user("tenant_admin"))
    response = client.post("/manage/users/new/", {
        "username": "sneaky", "display_name": "越界", "role": Role.AGENT,
        "branch": world.b.branch.pk, "password": "Long-Enough-Passw0rd"})
    assert response.status_code == 200
    assert not User.objects.filter(username="sneaky").exists()


def test_other_tenants_member_page_is_404(world):
    client = world.client_for(world.a.user("tenant_admin"))
    assert client.get(f"/manage/users/{world.b.members['agent'].pk}/").status_code == 404
    assert client.post(f"/manage/users/{world.b.members['agent'].pk}/password/",
                       {"password": "Long-Enough-Passw0rd", "password_again": "Long-Enough-Passw0rd"}
                       ).status_code == 404
    assert client.get(f"/manage/branches/{world.b.branch.pk}/").status_code == 404


def test_last_tenant_admin_cannot_demote_themself(world):
    admin = world.a.members["tenant_admin"]
    client = world.client_for(admin.user)
    response = client.post(f"/manage/users/{admin.pk}/", {
        "display_name": admin.user.display_name, "role": Role.AGENT, "branch": "", "title": "",
        "is_active": "on"})
    assert response.status_code == 200
    assert "at least one active tenant admin" in response.content.decode() or "至少" in response.content.decode()
    with tenant_scope(world.a.tenant):
        assert Membership.objects.get(pk=admin.pk).role == Role.TENANT_ADMIN


def test_admin_cannot_reset_password_of_a_login_owned_elsewhere(world):
    client = world.client_for(world.a.user("tenant_admin"))
    with tenant_scope(world.a.tenant):
        external = Membership.objects.get(user=world.external_auditor)
    old_hash = world.external_auditor.password
    client.post(f"/manage/users/{external.pk}/password/",
                {"password": "Long-Enough-Passw0rd", "password_again": "Long-Enough-Passw0rd"})
    world.external_auditor.refresh_from_db()
    assert world.external_auditor.password == old_hash


def test_add_existing_login_to_a_company(world):
    other = User.objects.create_user("consultant", "Long-Enough-Passw0rd", display_name="顾问")
    client = world.client_for(world.a.user("tenant_admin"))
    response = client.post("/manage/users/add-existing/", {"username": "consultant", "role": Role.AUDITOR})
    assert response.status_code == 302
    with tenant_scope(world.a.tenant):
        assert Membership.objects.filter(user=other, role=Role.AUDITOR).exists()
    with tenant_scope(world.b.tenant):
        assert not Membership.objects.filter(user=other).exists()


def test_branch_tree_create_and_move(world):
    client = world.client_for(world.a.user("tenant_admin"))
    response = client.post("/manage/branches/new/", {"code": "alpha-r2", "name": "华南大区", "kind": "region",
                                                    "parent": world.a.hq.pk, "province": "广东省", "city": "广州市"})
    assert response.status_code == 302
    with tenant_scope(world.a.tenant):
        region2 = Branch.objects.get(code="ALPHA-R2")
        assert region2.path == f"{world.a.hq.path}{region2.pk}/"
    # a branch cannot sit directly under HQ
    response = client.post("/manage/branches/new/", {"code": "BAD", "name": "错位网点", "kind": "branch",
                                                    "parent": world.a.hq.pk})
    assert response.status_code == 200 and "invalid-feedback" in response.content.decode()
    # move a branch to the new region: its path follows
    response = client.post(f"/manage/branches/{world.a.other_branch.pk}/", {
        "name": world.a.other_branch.name, "parent": region2.pk, "province": "浙江省", "city": "杭州市",
        "is_active": "on"})
    assert response.status_code == 302
    with tenant_scope(world.a.tenant):
        moved = Branch.objects.get(pk=world.a.other_branch.pk)
        assert moved.parent_id == region2.pk and moved.path == f"{region2.path}{moved.pk}/"
    # duplicate code is a form error
    response = client.post("/manage/branches/new/", {"code": "ALPHA-B1", "name": "重复", "kind": "branch",
                                                    "parent": world.a.region.pk})
    assert response.status_code == 200 and "invalid-feedback" in response.content.decode()
