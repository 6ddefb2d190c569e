"""A real server process over its own database, for the browser tests, the pooled-connection
test and API fuzzing: created and migrated as the owner role, seeded with the demo data,
served as the application role."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg

BASE_DIR = Path(__file__).resolve().parents[1]
MANAGE = [sys.executable, str(BASE_DIR / "manage.py")]


def with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def libpq_dsn(url: str, dbname: str) -> str:
    """A libpq DSN from a database URL whose host may be a percent-encoded socket directory
    (urlsplit().hostname would lowercase it)."""
    netloc = urlsplit(url).netloc
    credentials, _, hostport = netloc.rpartition("@")
    user, _, password = credentials.partition(":")
    host, _, port = hostport.partition(":")
    return psycopg.conninfo.make_conninfo(
        host=unquote(host) or None, port=port or "5432", user=unquote(user),
        password=unquote(password) or None, dbname=dbname)


@contextmanager
def served_database(suffix: str, *, seed: bool = True):
    """A fresh database `<test db>_<suffix>`; yields the environment a server needs for it."""
    owner_url = os.environ["DATABASE_OWNER_URL"]
    app_url = os.environ["DATABASE_URL"]
    name = f"{urlsplit(app_url).path.lstrip('/')}_{suffix}"
    admin = libpq_dsn(owner_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = dict(os.environ, DATABASE_URL=with_db(app_url, name), DATABASE_OWNER_URL=with_db(owner_url, name),
               DJANGO_SETTINGS_MODULE="courier_crm.settings.base",
               DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "served-only-not-secret-" + "y" * 30),
               CRM_THROTTLE_LOGIN="1000/min", CRM_THROTTLE_REVEAL="1000/min")
    subprocess.run([*MANAGE, "migrate", "--noinput", "-v", "0"], env=dict(env, CRM_DB_AS_OWNER="1"),
                   check=True, cwd=BASE_DIR)
    if seed:
        subprocess.run([*MANAGE, "seed_demo"], env=env, check=True, cwd=BASE_DIR, stdout=subprocess.DEVNULL)
    try:
        yield env
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage_output(env: dict, *args: str) -> str:
    return subprocess.run([*MANAGE, *args], env=env, check=True, cwd=BASE_DIR, capture_output=True,
                          text=True).stdout.strip()


@contextmanager
def serving(command: list[str], env: dict, port: int):
    """Start a server process and wait until it accepts connections; stop it afterwards.
    Its output goes to a file: an unread pipe would fill up and stall the server."""
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                log.seek(0)
                raise RuntimeError("server did not start: " + log.read().decode(errors="replace")[-3000:]) from None
            time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
