"""Profile (language, password) and API token pages."""
from tenancy.models import ApiToken

from ..factories.world import PASSWORD


def test_language_preference_is_saved(world):
    user = world.a.user("agent")
    client = world.client_for(user)
    response = client.post("/me/", {"form": "language", "language": "en"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "en"
    assert "Log out" in client.get("/").content.decode()


def test_password_change_checks_the_old_one(world):
    user = world.a.user("agent")
    client = world.client_for(user)
    response = client.post("/me/", {"form": "password", "old_password": "wrong", "password": "N3w-Passw0rd-Long",
                                    "password_again": "N3w-Passw0rd-Long"})
    assert response.status_code == 200 and "invalid-feedback" in response.content.decode()
    response = client.post("/me/", {"form": "password", "old_password": PASSWORD, "password": "N3w-Passw0rd-Long",
                                    "password_again": "N3w-Passw0rd-Long"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("N3w-Passw0rd-Long")
    assert client.get("/").status_code == 200  # still logged in


def test_api_token_page_shows_key_once_and_revokes(world):
    client = world.client_for(world.a.user("agent"))
    body = client.post("/me/api-tokens/", {"name": "my script"}).content.decode()
    token = ApiToken.objects.get(name="my script")
    assert "crm_" + token.prefix in body
    assert "crm_" + token.prefix not in client.get("/me/api-tokens/").content.decode()
    assert client.post(f"/me/api-tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_user_cannot_revoke_anothers_token_or_another_tenants(world):
    from tenancy.scoping import tenant_scope
    from tenancy.services import api_token_create

    with tenant_scope(world.b.tenant):
        b_token, _ = api_token_create(actor=world.b.user("agent"), name="b", for_membership=world.b.members["agent"])
    with tenant_scope(world.a.tenant):
        a_token, _ = api_token_create(actor=world.a.user("sales_manager"), name="a",
                                      for_membership=world.a.members["sales_manager"])
    client = world.client_for(world.a.user("agent"))
    assert client.post(f"/me/api-tokens/{b_token.pk}/revoke/").status_code == 404
    assert client.post(f"/me/api-tokens/{a_token.pk}/revoke/").status_code == 404
    for token in (a_token, b_token):
        token.refresh_from_db()
        assert token.revoked_at is None
