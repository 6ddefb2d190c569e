"""Browser tests: the real app served by a real server process, driven through Debian's Chromium.

The server runs against its own database (created and migrated as the owner role, seeded with
the demo data) so the browser sees exactly what `make run` shows a user."""
from __future__ import annotations

import os
import time

import pytest

from ..served import MANAGE, free_port, served_database, serving

CHROMIUM = os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DEMO_PASSWORD = "Courier-Demo-2026"


@pytest.fixture(scope="session")
def e2e_server():
    with served_database("e2e") as env:
        port = free_port()
        command = [*MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"]
        with serving(command, dict(env, DJANGO_DEBUG="1"), port) as url:
            yield url


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def totp_secrets() -> dict[str, str]:
    """Authenticator secrets enrolled during the session, by username (the "phone")."""
    return {}


@pytest.fixture(scope="session")
def totp_steps() -> dict[str, int]:
    """The 30-second step of the last code each user typed during the session."""
    return {}


@pytest.fixture
def login(page, e2e_server, totp_secrets, totp_steps):
    def type_code(username: str) -> None:
        code, step = totp_now(totp_secrets[username])
        totp_steps[username] = step
        page.fill("input[name=token]", code)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")

    def do_login(username: str, password: str = DEMO_PASSWORD):
        page.goto(f"{e2e_server}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        if "/two-factor/setup/" in page.url:
            # Tenant admins enrol an authenticator at their first login: act as the phone app.
            totp_secrets[username] = page.inner_text("#totp-secret")
            type_code(username)
        elif "/two-factor/verify/" in page.url:
            # A code is good once: when this user's last code was of the current 30-second step,
            # wait for the next step before logging in again.
            if time.time() // 30 <= totp_steps.get(username, -1):
                time.sleep(30 - time.time() % 30 + 0.5)
            type_code(username)
        return page
    return do_login


def totp_now(secret_base32: str) -> tuple[str, int]:
    """The authenticator's current code and the 30-second step it belongs to."""
    import base64

    from django_otp.oath import TOTP

    authenticator = TOTP(base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8)))
    authenticator.time = time.time()
    return f"{authenticator.token():06d}", authenticator.t()
