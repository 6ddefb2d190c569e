"""Done-when of issue 9 item 5: a key rotation killed midway (SIGKILL, no clean-up of any kind) and
started again ends with every row decrypting, under the new key.

`manage.py rotate_keys --foreground` runs in a separate process against the test database (as the
application role, like the web and the workers); this test, transactional so that process sees its
data, watches the rotation's committed progress and kills it once some batches are done."""
from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from django.db import connection

from compliance.models import JobStatus, KeyRotation
from tenancy import crypto
from tenancy.models import TenantKey
from tenancy.scoping import tenant_scope
from tests.served import BASE_DIR, MANAGE, with_db
from tests.tickets.races import _empty_tables_as_the_owner  # noqa: F401 — the fixture is used by pytest

from .keys_world import decrypted_values, plant_personal_data, sealed_values

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 120


def _env() -> dict:
    name = connection.settings_dict["NAME"]  # the test database
    return dict(os.environ, DATABASE_URL=with_db(os.environ["DATABASE_URL"], name),
                DATABASE_OWNER_URL=with_db(os.environ["DATABASE_OWNER_URL"], name),
                DJANGO_SETTINGS_MODULE="tests.compliance.keys_settings", PYTHONPATH=str(BASE_DIR))


def _rotate_keys(*args: str) -> subprocess.Popen:
    return subprocess.Popen([*MANAGE, "rotate_keys", "--tenant", "alpha", "--foreground", *args], env=_env(),
                            cwd=BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _rotation(tenant) -> KeyRotation | None:
    with tenant_scope(tenant):
        return KeyRotation.objects.filter(kind="data").first()


def test_a_killed_and_restarted_data_rotation_ends_with_every_row_decrypting(world):
    plant_personal_data(world.a, phone_prefix="1370003", customers_count=12)
    plant_personal_data(world.b, phone_prefix="1390003", customers_count=2)
    before = decrypted_values(world.a.tenant)
    b_before = sealed_values(world.b.tenant)

    first = _rotate_keys("--kind", "data", "--batch-size", "2", "--pause", "0.05")
    deadline = time.monotonic() + TIMEOUT
    rotation = None
    while time.monotonic() < deadline and first.poll() is None:
        rotation = _rotation(world.a.tenant)
        if rotation is not None and rotation.rows_done >= 6:
            break
        time.sleep(0.02)
    assert first.poll() is None, first.communicate()[0]
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    first.stdout.close()

    # Killed midway: still "running", part of the rows under the new key, part under the old one —
    # and every value decrypts all the same, the old key being still there.
    rotation = _rotation(world.a.tenant)
    assert rotation.status == JobStatus.RUNNING and 0 < rotation.rows_done < rotation.rows_total
    assert rotation.progress["tables"]
    crypto.keyring.clear()
    versions = {crypto.sealed_key_version(blob) for blob in sealed_values(world.a.tenant).values()}
    assert versions == {1, 2}
    assert decrypted_values(world.a.tenant) == before

    second = _rotate_keys("--resume", str(rotation.pk), "--batch-size", "3")
    output, _ = second.communicate(timeout=TIMEOUT)
    assert second.returncode == 0, output

    rotation = _rotation(world.a.tenant)
    assert rotation.status == JobStatus.DONE
    assert rotation.rows_done == rotation.rows_total  # resumed where it stopped, not from the start
    crypto.keyring.clear()
    after = sealed_values(world.a.tenant)
    assert {crypto.sealed_key_version(blob) for blob in after.values()} == {2}
    assert decrypted_values(world.a.tenant) == before  # every row decrypts, to what it held
    with tenant_scope(world.a.tenant):
        retired = dict(TenantKey.objects.filter(purpose="data").values_list("version", "retired_at"))
    assert retired[1] is not None and retired[2] is None
    assert sealed_values(world.b.tenant) == b_before
