"""Login, role home pages, logout and the tenant switcher."""
import time

import pytest
from django.test import Client

from tenancy.models import Membership, Role
from tenancy.scoping import tenant_scope

from ..factories.world import PASSWORD

HOME_OF = {
    Role.AGENT: "/", Role.SALES_MANAGER: "/sales/", Role.BRANCH_MANAGER: "/", Role.AUDITOR: "/",
    Role.EXECUTIVE: "/",
}


@pytest.mark.parametrize("role", list(HOME_OF))
def test_every_role_logs_in_and_lands_on_its_home(world, role):
    client = Client()
    response = client.post("/login/", {"username": f"alpha_{role}", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == HOME_OF[role]
    assert world.a.tenant.name in response.content.decode()
    assert world.b.tenant.name not in response.content.decode()


def test_wrong_password_shows_an_error_and_keeps_the_username(world):
    response = Client().post("/login/", {"username": "alpha_agent", "password": "nope"})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'value="alpha_agent"' in body
    assert "alert-danger" in body


def test_anonymous_is_sent_to_login(world):
    response = Client().get("/manage/users/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_logout_ends_the_session(world):
    client = world.client_for(world.a.user("agent"))
    assert client.get("/").status_code == 200
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_home_shows_role_specific_sections(world):
    body = world.client_for(world.a.user("branch_manager")).get("/").content.decode()
    assert "甲快递浦东网点" in body  # branch network of a branch manager
    body = world.client_for(world.a.user("executive")).get("/").content.decode()
    assert "甲快递华东大区" in body and "甲快递杭州网点" in body
    body = world.client_for(world.a.user("auditor")).get("/").content.decode()
    assert "/compliance/access-log/" in body


def test_external_auditor_switches_between_companies(world):
    client = world.client_for(world.external_auditor)
    me = client.get("/api/v1/me/").json()
    assert {m["tenant"]["code"] for m in me["memberships"]} == {"alpha", "beta"}
    first = me["active_tenant"]["code"]
    target = world.b.tenant if first == "alpha" else world.a.tenant
    response = client.post("/switch-tenant/", {"tenant_id": target.pk})
    assert response.status_code == 302
    me = client.get("/api/v1/me/").json()
    assert me["active_tenant"]["code"] == target.code
    branches = client.get("/api/v1/branches/").json()["results"]
    assert {b["code"].split("-")[0] for b in branches} == {target.code.upper()}
    # the choice sticks for the next login too
    world.external_auditor.refresh_from_db()
    assert world.external_auditor.last_active_tenant_id == target.pk


def test_switching_to_a_company_you_do_not_belong_to_is_refused(world):
    client = world.client_for(world.a.user("agent"))
    client.post("/switch-tenant/", {"tenant_id": world.b.tenant.pk})
    assert client.get("/api/v1/me/").json()["active_tenant"]["code"] == "alpha"


def test_deactivated_membership_cannot_use_the_app(world):
    membership = world.a.members["agent"]
    client = world.client_for(membership.user)
    assert client.get("/").status_code == 200  # the membership is now in the authorisation cache
    with tenant_scope(world.a.tenant):
        membership = Membership.objects.get(pk=membership.pk)
        membership.is_active = False
        membership.save()
    response = client.get("/")
    assert response.status_code == 403
    assert client.get("/api/v1/me/").status_code in (401, 403)


def test_language_defaults_to_chinese_and_english_is_selectable(world):
    client = Client()
    assert 'lang="zh-hans"' in client.get("/login/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    body = client.get("/login/").content.decode()
    assert 'lang="en"' in body and "Log in to Courier CRM" in body


def test_tenant_admin_must_enrol_two_factor_at_first_login(world):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from ..factories.world import current_totp

    client = Client()
    response = client.post("/login/", {"username": "alpha_tenant_admin", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0].startswith("/two-factor/setup/")
    body = response.content.decode()
    assert "<svg" in body and 'id="totp-secret"' in body
    # nothing else opens before enrolment, the API neither
    assert client.get("/manage/users/").status_code == 302
    assert client.get("/api/v1/me/").json()["error"]["code"] == "two_factor_required"
    device = TOTPDevice.objects.get(user=world.a.user("tenant_admin"))
    wrong = client.post("/two-factor/setup/", {"token": "000000", "next": "/"})
    assert "invalid-feedback" in wrong.content.decode()
    time.sleep(1.1)  # django-otp throttles the next try for a second after a wrong code
    response = client.post("/two-factor/setup/", {"token": current_totp(device), "next": "/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/manage/users/"
    device.refresh_from_db()
    assert device.confirmed


def test_enrolled_user_is_asked_for_a_code_after_the_password(world):
    from ..factories.world import confirmed_totp_device, current_totp

    device = confirmed_totp_device(world.a.user("agent"))
    client = Client()
    response = client.post("/login/", {"username": "alpha_agent", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0].startswith("/two-factor/verify/")
    assert client.get("/").status_code == 302
    assert "invalid-feedback" in client.post("/two-factor/verify/", {"token": "123456"}).content.decode()
    time.sleep(1.1)  # django-otp throttles the next try for a second after a wrong code
    response = client.post("/two-factor/verify/", {"token": current_totp(device), "next": "/"})
    assert response.status_code == 302 and response.url == "/"
    assert client.get("/").status_code == 200


def test_agent_may_work_without_second_factor(world):
    client = Client()
    client.post("/login/", {"username": "alpha_agent", "password": PASSWORD})
    assert client.get("/").status_code == 200


def test_admin_resets_a_lost_authenticator(world):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from ..factories.world import confirmed_totp_device

    confirmed_totp_device(world.a.user("agent"))
    admin = world.client_for(world.a.user("tenant_admin"))
    response = admin.post(f"/manage/users/{world.a.members['agent'].pk}/two-factor/reset/")
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=world.a.user("agent")).exists()


def test_lockout_after_five_failed_logins(world):
    client = Client()
    for _ in range(5):
        client.post("/login/", {"username": "alpha_agent", "password": "wrong"})
    locked = client.post("/login/", {"username": "alpha_agent", "password": PASSWORD})
    assert locked.status_code in (403, 429)
    assert client.get("/").status_code == 302  # not logged in
    # another user from the same address is not locked
    other = Client().post("/login/", {"username": "alpha_sales_manager", "password": PASSWORD})
    assert other.status_code == 302


def test_login_is_rate_limited_per_address(world, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                                                          "login": "3/min"}}
    client = Client()
    statuses = [client.post("/login/", {"username": f"nobody{i}", "password": "x"}).status_code for i in range(5)]
    assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]
