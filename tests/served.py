"""A real server process over its own database, for the browser tests, the pooled-connection
test and API fuzzing: created and migrated as the owner role, seeded with the demo data,
served as the application role. Each served database is a copy of a template built once per
test session."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
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


# Migrating and seeding take most of a served database's set-up: it is done once per test
# session into a template, and every served database is a fresh copy of it (CREATE DATABASE …
# TEMPLATE copies the files, a fraction of a second). Each copy is still its own database.
_templates: dict[bool, str] = {}
_templates_lock = threading.Lock()  # tests/api_fuzz serves several copies from threads


def _admin_dsn() -> str:
    return libpq_dsn(os.environ["DATABASE_OWNER_URL"], "postgres")


def _served_env(name: str) -> dict:
    owner_url = os.environ["DATABASE_OWNER_URL"]
    app_url = os.environ["DATABASE_URL"]
    return dict(os.environ, DATABASE_URL=with_db(app_url, name), DATABASE_OWNER_URL=with_db(owner_url, name),
                DJANGO_SETTINGS_MODULE="courier_crm.settings.base",
                DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "served-only-not-secret-" + "y" * 30),
                # Copies of one template share ids: no cache entry may cross from one server to another.
                CRM_CACHE_PREFIX=f"crm-{name}",
                CRM_THROTTLE_LOGIN="1000/min", CRM_THROTTLE_REVEAL="1000/min")


def _database_name(suffix: str) -> str:
    return f"{urlsplit(os.environ['DATABASE_URL']).path.lstrip('/')}_{suffix}"


def _wait_until_unused(conn: psycopg.Connection, name: str, timeout: float = 20) -> None:
    """A stopped server's backends exit a moment after it does; copying a database or dropping
    one whose backends belong to another role must wait for them."""
    deadline = time.monotonic() + timeout
    while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                       [name]).fetchone()[0] and time.monotonic() < deadline:
        time.sleep(0.1)


def _drop(name: str) -> None:
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        _wait_until_unused(conn, name)
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _template(seed: bool) -> str:
    """The migrated (and, with seed, demo-seeded) template database, built at first use."""
    with _templates_lock:
        return _build_template(seed)


def _build_template(seed: bool) -> str:
    if seed not in _templates:
        name = _database_name("tpl_seeded" if seed else "tpl_bare")
        _drop(name)
        with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        env = _served_env(name)
        try:
            subprocess.run([*MANAGE, "migrate", "--noinput", "-v", "0"], env=dict(env, CRM_DB_AS_OWNER="1"),
                           check=True, cwd=BASE_DIR)
            if seed:
                subprocess.run([*MANAGE, "seed_demo"], env=env, check=True, cwd=BASE_DIR,
                               stdout=subprocess.DEVNULL)
        except BaseException:
            _drop(name)
            raise
        _templates[seed] = name
    return _templates[seed]


def build_template(seed: bool = True) -> None:
    """Build the template now (before threads start copying it; they would wait otherwise)."""
    _template(seed)


def drop_templates() -> None:
    """Called once at the end of the test session."""
    with _templates_lock:
        while _templates:
            _drop(_templates.popitem()[1])


@contextmanager
def served_database(suffix: str, *, seed: bool = True):
    """A fresh database `<test db>_<suffix>` (migrated; with seed, holding the demo data);
    yields the environment a server needs for it."""
    name = _database_name(suffix)
    template = _template(seed)
    _drop(name)
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        _wait_until_unused(conn, template)
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _served_env(name)
    finally:
        _drop(name)


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
        stop_process(process)
        log.close()


def stop_process(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
