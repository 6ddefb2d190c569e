"""Shared set-up for the benchmarks: environment for a benchmark database, django.setup(),
and an idempotent benchmark tenant.

Every script talks to its *own* database (default `courier_bench`, owned by crm_owner and
migrated once, see benchmarks/README.md) as the application role crm_app, i.e. under
row-level security exactly like the deployed app.
"""
from __future__ import annotations

import base64
import os
import platform
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out"
DEFAULT_DB = os.environ.get("CRM_BENCH_DB", "courier_bench")
PG_HOST = os.environ.get("CRM_BENCH_PG", "127.0.0.1:5432")
REDIS_URL = os.environ.get("CRM_BENCH_REDIS", "redis://127.0.0.1:6379/5")
APP_ROLE = "crm_app"
OWNER_ROLE = "crm_owner"


def master_key_file() -> Path:
    """A master key for the benchmark database only (created once, git-ignored)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "master.key"
    if not path.exists():
        path.write_text(base64.b64encode(os.urandom(32)).decode())
        path.chmod(0o600)
    return path


def bench_env(database: str = DEFAULT_DB, *, settings_module: str = "courier_crm.settings.base",
              conn_max_age: int = 600) -> dict[str, str]:
    """The environment variables the app needs for `database`, as the application role."""
    return {
        "DATABASE_URL": f"postgres://{APP_ROLE}@{PG_HOST}/{database}",
        "DATABASE_OWNER_URL": f"postgres://{OWNER_ROLE}@{PG_HOST}/{database}",
        "CRM_DB_APP_ROLE": APP_ROLE,
        "CRM_DB_OWNER_ROLE": OWNER_ROLE,
        "REDIS_URL": REDIS_URL,
        "CRM_CACHE_PREFIX": f"bench-{database}",
        "DJANGO_SECRET_KEY": "bench",
        "CRM_MASTER_KEY_FILE": str(master_key_file()),
        "DB_CONN_MAX_AGE": str(conn_max_age),
        "DJANGO_SETTINGS_MODULE": settings_module,
        "CRM_LOG_LEVEL": "WARNING",
    }


def configure(database: str = DEFAULT_DB, *, settings_module: str = "courier_crm.settings.base",
              conn_max_age: int = 600) -> dict[str, str]:
    """Put bench_env() into os.environ (never as the owner, never with DEBUG) and return it."""
    env = bench_env(database, settings_module=settings_module, conn_max_age=conn_max_age)
    os.environ.update(env)
    for name in ("CRM_DB_AS_OWNER", "DJANGO_DEBUG", "CRM_ENV_FILE"):
        os.environ.pop(name, None)
    return env


def setup(database: str = DEFAULT_DB, *, settings_module: str = "courier_crm.settings.base",
          conn_max_age: int = 600) -> dict[str, str]:
    """configure() then django.setup(); returns the environment (for subprocesses)."""
    env = configure(database, settings_module=settings_module, conn_max_age=conn_max_age)
    import django

    django.setup()
    return env


@contextmanager
def tenant_with_data(code: str = "bench", *, name: str | None = None,
                     populate: Callable | None = None, scope: bool = True) -> Iterator:
    """The benchmark tenant `code`, created with platform_tenant_create() if it is missing.

    With `scope` (the default) the block runs inside tenancy.scoping.tenant_scope(tenant),
    and `populate(tenant)` (which must itself be idempotent) runs there first. Yields the
    Tenant. Without `scope` the tenant is only ensured and yielded."""
    from tenancy.models import Tenant
    from tenancy.scoping import tenant_scope
    from tenancy.services import platform_tenant_create

    tenant = Tenant.objects.filter(code=code).first()
    if tenant is None:
        tenant = platform_tenant_create(code=code, name=name or f"Benchmark {code}",
                                        name_en=name or f"Benchmark {code}")
    if not scope:
        if populate is not None:
            raise ValueError("populate needs the tenant scope")
        yield tenant
        return
    with tenant_scope(tenant):
        if populate is not None:
            populate(tenant)
        yield tenant


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.system()} {platform.release()}, {os.cpu_count()} cores"
            + (f" ({cpu})" if cpu else "") + f", Python {platform.python_version()}")


def wait_for_quiet(max_wait: float, threshold: float = 0.7) -> tuple[float, float, float]:
    """Wait (at most `max_wait` seconds) until the 1-minute load average is below `threshold`;
    returns the load average at the end of the wait."""
    import time

    deadline = time.monotonic() + max(0.0, max_wait)
    while os.getloadavg()[0] >= threshold and time.monotonic() < deadline:
        time.sleep(5)
    return os.getloadavg()
