"""Web security baseline: CSP on every HTML response and no inline script or style anywhere;
cookies and HSTS in production settings."""
import re
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATES = sorted((Path(settings.BASE_DIR) / "templates").rglob("*.html"))
PAGES = ["/", "/branches/", "/manage/users/", "/me/", "/me/api-tokens/", "/compliance/access-log/", "/api/docs/"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_a_strict_csp(world, path):
    response = world.client_for(world.a.user("tenant_admin")).get(path, follow=True)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    body = response.content.decode()
    inline_scripts = [m for m in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", body) if "application/json" not in m]
    assert inline_scripts == []


def test_login_and_error_pages_have_csp_too(world):
    from django.test import Client

    assert "Content-Security-Policy" in Client().get("/login/")
    assert "Content-Security-Policy" in world.client_for(world.a.user("agent")).get("/manage/users/")


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_templates_have_no_inline_script_style_or_handlers(template):
    text = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", text), "inline <script>"
    assert not re.search(r"\sstyle=", text), "inline style attribute"
    assert not re.search(r"<style", text), "inline <style>"
    assert not re.search(r"\son[a-z]+=", text), "inline event handler"
    assert "hx-on" not in text


def test_production_settings_harden_cookies_and_transport(monkeypatch):
    import importlib

    monkeypatch.setenv("DJANGO_SECRET_KEY", "x" * 60)
    production = importlib.import_module("courier_crm.settings.production")
    assert production.SESSION_COOKIE_SECURE and production.CSRF_COOKIE_SECURE
    assert production.SESSION_COOKIE_HTTPONLY
    assert production.SESSION_COOKIE_SAMESITE in ("Lax", "Strict")
    assert production.SECURE_HSTS_SECONDS >= 31536000 and production.SECURE_SSL_REDIRECT


def test_every_form_carries_a_csrf_token(world):
    client = world.client_for(world.a.user("tenant_admin"))
    for path in ["/manage/users/new/", "/manage/branches/new/", "/me/", "/me/api-tokens/"]:
        body = client.get(path).content.decode()
        for form in re.findall(r"<form[^>]*method=\"post\"[^>]*>.*?</form>", body, flags=re.S):
            assert "csrfmiddlewaretoken" in form, (path, form[:80])
