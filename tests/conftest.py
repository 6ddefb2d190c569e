"""Project-wide test set-up.

The test database is created and migrated as the OWNER role (pytest-django would otherwise do
it through the default connection), then every test runs as the APPLICATION role — the role
the web and workers use, which row-level security applies to. A test that ran as a superuser
would prove nothing about the database wall.
"""
from __future__ import annotations

import environ
import pytest
from django.db import connections

from .factories.world import build_world


def _connect_as(user: str, password: str) -> None:
    conn = connections["default"]
    conn.close()
    conn.settings_dict["USER"] = user
    conn.settings_dict["PASSWORD"] = password


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    from django.test.utils import setup_databases, teardown_databases

    owner = environ.Env().db_url("DATABASE_OWNER_URL")
    conn = connections["default"]
    app_user, app_password = conn.settings_dict["USER"], conn.settings_dict["PASSWORD"]
    with django_db_blocker.unblock():
        _connect_as(owner["USER"], owner["PASSWORD"])
        # No serialisation: tenant-owned tables cannot be read outside a tenant scope.
        config = setup_databases(verbosity=0, interactive=False, keepdb=False, serialized_aliases=[])
        _connect_as(app_user, app_password)
    yield
    with django_db_blocker.unblock():
        _connect_as(owner["USER"], owner["PASSWORD"])
        teardown_databases(config, verbosity=0)
        _connect_as(app_user, app_password)


@pytest.fixture(scope="session", autouse=True)
def _served_templates():
    """Drop the template databases tests/served.py built (if any) when the session ends."""
    yield
    from .served import drop_templates

    drop_templates()


@pytest.fixture
def world(db):
    """Two tenants (A and B), each with an HQ → region → branch tree and one member per role,
    plus an external auditor who belongs to both."""
    return build_world()


@pytest.fixture(autouse=True)
def _fresh_keyring():
    from tenancy.crypto import keyring

    keyring.clear()
    yield
    keyring.clear()


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
