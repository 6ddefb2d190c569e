"""courier_crm.compose_check on the real docker-compose.yml and on broken copies of it.

These tests read files only: no database, no Redis, no Django settings needed.
"""
from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from courier_crm import compose_check
from courier_crm.compose_check import check, interpolate, main

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
INIT_SCRIPT = Path("docker/postgres/init-roles.sh")
OWNER_URL = "postgres://${CRM_DB_OWNER_ROLE:-crm_owner}:${CRM_DB_OWNER_PASSWORD:?x}@postgres:5432/courier_crm"


# tests/conftest.py clears the cache (Redis) and the keyring around every test; nothing here
# touches either, so these overrides keep the tests free of services.
@pytest.fixture(autouse=True)
def _clear_cache():
    yield


@pytest.fixture(autouse=True)
def _fresh_keyring():
    yield


@pytest.fixture
def compose() -> dict:
    """A private copy of the real compose file (anchors resolved)."""
    return copy.deepcopy(yaml.safe_load(COMPOSE.read_text()))


def write(tmp_path: Path, document: dict, *, with_init_script: bool = True) -> Path:
    """Write `document` as a compose file next to a copy of the init script."""
    if with_init_script:
        (tmp_path / INIT_SCRIPT).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / INIT_SCRIPT, tmp_path / INIT_SCRIPT)
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def set_env(document: dict, service: str, **values) -> None:
    """Give one service its own environment (the anchor shares one dict between services)."""
    spec = document["services"][service]
    spec["environment"] = {**spec["environment"], **values}


def problems(tmp_path: Path, document: dict, **kwargs) -> str:
    errors = check(write(tmp_path, document, **kwargs))
    assert errors, "the broken compose file was accepted"
    return "\n".join(errors)


# --- the real file -----------------------------------------------------------------------------


def test_real_compose_file_passes():
    assert check(COMPOSE) == []


def test_command_line_on_real_file():
    result = subprocess.run(
        [sys.executable, "-m", "courier_crm.compose_check", "docker-compose.yml"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "docker-compose.yml: OK (6 services)"


def test_unchanged_copy_passes(tmp_path, compose):
    assert check(write(tmp_path, compose)) == []


# --- broken copies -----------------------------------------------------------------------------


def test_web_connecting_as_owner_role(tmp_path, compose):
    set_env(compose, "web", DATABASE_URL=OWNER_URL)
    report = problems(tmp_path, compose)
    assert "web: DATABASE_URL uses the owner role 'crm_owner'" in report
    assert "worker:" not in report


def test_worker_connecting_as_superuser(tmp_path, compose):
    set_env(compose, "worker", DATABASE_URL="postgres://postgres:${POSTGRES_PASSWORD:?x}@postgres/courier_crm")
    assert "worker: DATABASE_URL uses the superuser 'postgres'" in problems(tmp_path, compose)


def test_owner_url_given_to_web(tmp_path, compose):
    set_env(compose, "web", DATABASE_OWNER_URL=OWNER_URL)
    assert "web: DATABASE_OWNER_URL must only be given to migrate" in problems(tmp_path, compose)


def test_migrate_without_owner_switch(tmp_path, compose):
    env = compose["services"]["migrate"]["environment"]
    del env["CRM_DB_AS_OWNER"]
    assert "migrate: CRM_DB_AS_OWNER=1 is not set" in problems(tmp_path, compose)


def test_migrate_without_owner_url(tmp_path, compose):
    del compose["services"]["migrate"]["environment"]["DATABASE_OWNER_URL"]
    assert "migrate: DATABASE_OWNER_URL is not set" in problems(tmp_path, compose)


def test_app_role_name_not_the_database_user(tmp_path, compose):
    set_env(compose, "beat", CRM_DB_APP_ROLE="someone_else")
    assert "beat: CRM_DB_APP_ROLE='someone_else' is not the DATABASE_URL user" in problems(tmp_path, compose)


def test_beat_removed(tmp_path, compose):
    del compose["services"]["beat"]
    assert "missing service(s): beat" in problems(tmp_path, compose)


def test_redis_healthcheck_removed(tmp_path, compose):
    del compose["services"]["redis"]["healthcheck"]
    assert "redis: has no healthcheck" in problems(tmp_path, compose)


def test_postgres_healthcheck_disabled(tmp_path, compose):
    compose["services"]["postgres"]["healthcheck"] = {"disable": True}
    assert "postgres: has no healthcheck" in problems(tmp_path, compose)


def test_dependency_without_condition(tmp_path, compose):
    compose["services"]["worker"]["depends_on"] = ["postgres", "redis", "migrate"]
    report = problems(tmp_path, compose)
    assert "worker: does not wait for postgres" in report
    assert "worker: does not wait for redis" in report
    assert "worker: must depend on migrate" in report


def test_postgres_reached_through_migrate_is_enough(tmp_path, compose):
    del compose["services"]["web"]["depends_on"]["postgres"]
    assert check(write(tmp_path, compose)) == []


def test_different_image_for_worker(tmp_path, compose):
    compose["services"]["worker"]["image"] = "someone/else:latest"
    assert "must use the same build/image" in problems(tmp_path, compose)


def test_redis_url_not_pointing_at_redis_service(tmp_path, compose):
    set_env(compose, "worker", REDIS_URL="redis://127.0.0.1:6379/0")
    assert "worker: REDIS_URL must point at the `redis` service" in problems(tmp_path, compose)


def test_database_url_not_pointing_at_postgres_service(tmp_path, compose):
    set_env(compose, "web", DATABASE_URL="postgres://crm_app:${CRM_DB_APP_PASSWORD:?x}@db.example.com/crm")
    assert "web: DATABASE_URL must point at the `postgres` service" in problems(tmp_path, compose)


def test_settings_module_not_production(tmp_path, compose):
    set_env(compose, "web", DJANGO_SETTINGS_MODULE="courier_crm.settings.base")
    assert "web: DJANGO_SETTINGS_MODULE is 'courier_crm.settings.base'" in problems(tmp_path, compose)


def test_literal_secrets(tmp_path, compose):
    set_env(compose, "web", DJANGO_SECRET_KEY="committed-secret",
            DATABASE_URL="postgres://crm_app:hunter2@postgres:5432/courier_crm")
    report = problems(tmp_path, compose)
    assert "web: DJANGO_SECRET_KEY is written in the file" in report
    assert "web: DATABASE_URL contains a literal password" in report


def test_secret_with_committed_default(tmp_path, compose):
    set_env(compose, "web", CRM_MASTER_KEY="${CRM_MASTER_KEY:-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=}")
    assert "web: CRM_MASTER_KEY is written in the file" in problems(tmp_path, compose)


def test_worker_command_is_not_celery_worker(tmp_path, compose):
    compose["services"]["worker"]["command"] = "python manage.py runserver"
    assert "worker: command must run `celery -A courier_crm worker`" in problems(tmp_path, compose)


def test_worker_with_embedded_beat(tmp_path, compose):
    compose["services"]["worker"]["command"] = "celery -A courier_crm worker -B"
    assert "worker: must not embed beat" in problems(tmp_path, compose)


def test_beat_command_is_not_celery_beat(tmp_path, compose):
    del compose["services"]["beat"]["command"]
    assert "beat: command must run `celery -A courier_crm beat`" in problems(tmp_path, compose)


def test_web_without_port_8000(tmp_path, compose):
    web = compose["services"]["web"]
    web["ports"] = ["127.0.0.1:8080:8080"]
    del web["expose"]
    assert "web: neither exposes nor publishes container port 8000" in problems(tmp_path, compose)


def test_interpolated_port_is_understood(tmp_path, compose):
    web = compose["services"]["web"]
    web["ports"] = ["${CRM_HTTP_PORT:-80}:${CRM_CONTAINER_PORT:-8000}"]
    del web["expose"]
    assert check(write(tmp_path, compose)) == []


def test_init_script_missing(tmp_path, compose):
    assert "postgres: init script ./docker/postgres/init-roles.sh does not exist" in problems(
        tmp_path, compose, with_init_script=False)


def test_init_script_not_mounted(tmp_path, compose):
    compose["services"]["postgres"]["volumes"] = ["pgdata:/var/lib/postgresql/data"]
    assert "postgres: mounts no init script" in problems(tmp_path, compose)


def test_command_line_reports_problems(tmp_path, compose, capsys):
    del compose["services"]["beat"]
    assert main([str(write(tmp_path, compose))]) == 1
    assert "missing service(s): beat" in capsys.readouterr().err


def test_command_line_on_unreadable_file(tmp_path, capsys):
    (tmp_path / "docker-compose.yml").write_text("services: [not, a, mapping]\n")
    assert main([str(tmp_path / "docker-compose.yml")]) == 2
    assert "no `services:` mapping" in capsys.readouterr().err


# --- interpolation -----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("plain", "plain"),
    ("$${NOT_A_VAR}", "${NOT_A_VAR}"),
    ("${ROLE:-crm_app}", "crm_app"),
    ("${ROLE-crm_app}", "crm_app"),
    ("${PW:?set PW in .env (see docs)}", "__PW__"),
    ("${PW}", "__PW__"),
    ("$PW@host", "__PW__@host"),
    ("${A:-${B:-nested}}", "nested"),
    ("${OPTIONAL:+--flag}", ""),
])
def test_interpolate(text, expected):
    assert interpolate(text) == expected


def test_malformed_interpolation_is_an_error(tmp_path):
    (tmp_path / "docker-compose.yml").write_text("services:\n  web:\n    image: ${BROKEN\n")
    with pytest.raises(compose_check.ComposeFileError):
        check(tmp_path / "docker-compose.yml")
