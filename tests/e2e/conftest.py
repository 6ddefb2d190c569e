"""Browser tests: the real app served by a real server process, driven through Debian's Chromium.

The server runs against its own database (created and migrated as the owner role, seeded with
the demo data) so the browser sees exactly what `make run` shows a user."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DEMO_PASSWORD = "Courier-Demo-2026"


def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _owner_dsn(url: str, dbname: str) -> str:
    """A libpq DSN from a database URL whose host may be a percent-encoded socket directory
    (urlsplit().hostname would lowercase it)."""
    netloc = urlsplit(url).netloc
    credentials, _, hostport = netloc.rpartition("@")
    user, _, password = credentials.partition(":")
    host, _, port = hostport.partition(":")
    return psycopg.conninfo.make_conninfo(
        host=unquote(host) or None, port=port or "5432", user=unquote(user),
        password=unquote(password) or None, dbname=dbname)


@pytest.fixture(scope="session")
def e2e_server():
    owner_url = os.environ["DATABASE_OWNER_URL"]
    app_url = os.environ["DATABASE_URL"]
    name = urlsplit(app_url).path.lstrip("/") + "_e2e"
    admin = _owner_dsn(owner_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = dict(os.environ, DATABASE_URL=_with_db(app_url, name), DATABASE_OWNER_URL=_with_db(owner_url, name),
               DJANGO_SETTINGS_MODULE="courier_crm.settings.base", DJANGO_DEBUG="1",
               DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "e2e-only-not-secret-" + "y" * 30),
               CRM_THROTTLE_LOGIN="1000/min")
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=dict(env, CRM_DB_AS_OWNER="1"),
                   check=True, cwd=BASE_DIR)
    subprocess.run([*manage, "seed_demo"], env=env, check=True, cwd=BASE_DIR, stdout=subprocess.DEVNULL)
    port = _free_port()
    server = subprocess.Popen([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"], env=env, cwd=BASE_DIR,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("the e2e server did not start: " + (server.stderr.read() or b"").decode()[-2000:])
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(10)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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


@pytest.fixture
def login(page, e2e_server, totp_secrets):
    def do_login(username: str, password: str = DEMO_PASSWORD):
        page.goto(f"{e2e_server}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        if "/two-factor/setup/" in page.url:
            # Tenant admins enrol an authenticator at their first login: act as the phone app.
            totp_secrets[username] = page.inner_text("#totp-secret")
            page.fill("input[name=token]", totp_now(totp_secrets[username]))
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
        elif "/two-factor/verify/" in page.url:
            # A code is good once: wait for the next 30-second step before logging in again.
            time.sleep(30 - time.time() % 30 + 0.5)
            page.fill("input[name=token]", totp_now(totp_secrets[username]))
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
        return page
    return do_login


def totp_now(secret_base32: str) -> str:
    import base64

    from django_otp.oath import totp

    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    return f"{totp(key):06d}"
