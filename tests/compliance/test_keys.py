"""Key rotation and crypto-shredding (issue 9 item 5): data, index and master key rotations re-seal,
re-index and re-wrap every tenant's own values and nothing of another tenant; lookups work during
and after an index rotation; a process with only the new master key plus the retired list reads
everything; an offboarded company's values can no longer be decrypted; the page and the API show
key status and rotations to the right roles only.

Tests that run a rotation are transactional: every batch of a rotation commits on its own."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from compliance.models import JobStatus, KeyRotation, RotationKind
from compliance.selectors.keys import key_status, rotations_stalled
from compliance.services.keys import key_rotation_open, key_rotation_run, key_rotation_start, platform_tenant_offboard
from compliance.tasks.keys import key_rotation_run as key_rotation_task
from compliance.tasks.keys import key_rotation_sweep
from customers.selectors import customer_list
from shipments.selectors import waybill_search
from tenancy import crypto
from tenancy.models import Membership, Tenant, TenantKey
from tenancy.scoping import tenant_scope
from tenancy.selectors import blind_index_for, blind_indexes_for, membership_find_by_work_phone
from tenancy.services import api_token_create
from tests.tickets.races import _empty_tables_as_the_owner  # noqa: F401 — the fixture is used by pytest

from .keys_world import decrypted_values, plant_personal_data, sealed_values, stored_indexes

transactional = pytest.mark.django_db(transaction=True)

EVERY_SEALED_TABLE = {
    "tenancy_membership", "customers_customer", "customers_customerphone", "customers_address", "customers_contact",
    "customers_lead", "shipments_waybill", "tickets_ticket", "tickets_claimpayout", "compliance_consentrecord",
}


def start(tw, kind: str, role: str = "tenant_admin") -> KeyRotation:
    user = tw.user(role)
    with tenant_scope(tw.tenant, user=user):
        return key_rotation_start(actor=user, kind=kind, reason="yearly rotation")


def keys_of(tenant, purpose: str) -> dict[int, TenantKey]:
    with tenant_scope(tenant):
        return {k.version: k for k in TenantKey.objects.filter(purpose=purpose)}


def versions_of(blobs: dict) -> set[int]:
    return {crypto.sealed_key_version(blob) for blob in blobs.values()}


@pytest.fixture
def quick_ttl(settings):
    """Processes re-read the active key version after half a second (60 s in production)."""
    settings.CRM_ACTIVE_KEY_TTL_SECONDS = 0.5
    return settings


# --- starting a rotation ---------------------------------------------------------------------------

def test_only_a_key_manager_starts_a_rotation(world):
    for role in ("auditor", "agent", "executive"):
        with pytest.raises(PermissionDenied):
            start(world.a, RotationKind.DATA_KEY, role=role)
    with tenant_scope(world.a.tenant):
        assert not KeyRotation.objects.exists()
    assert set(keys_of(world.a.tenant, "data")) == {1}


def test_start_creates_the_next_version_and_allows_one_open_rotation_per_kind(world):
    rotation = start(world.a, RotationKind.DATA_KEY)
    assert (rotation.status, rotation.from_version, rotation.to_version) == (JobStatus.QUEUED, 1, 2)
    keys = keys_of(world.a.tenant, "data")
    assert set(keys) == {1, 2} and keys[1].retired_at is None and keys[2].retired_at is None
    with pytest.raises(ValidationError) as exc:
        start(world.a, RotationKind.DATA_KEY)
    assert "kind" in exc.value.message_dict
    assert set(keys_of(world.a.tenant, "data")) == {1, 2}
    index = start(world.a, RotationKind.INDEX_KEY)
    assert (index.from_version, index.to_version) == (1, 2)
    # The other company: nothing changed, and it may rotate its own data key.
    assert set(keys_of(world.b.tenant, "data")) == {1}
    assert start(world.b, RotationKind.DATA_KEY).to_version == 2


@pytest.mark.parametrize(("kind", "reason", "field"), [("everything", "why", "kind"), ("data", "  ", "reason"),
                                                       ("data", "x" * 301, "reason")])
def test_bad_start_input_names_the_field(world, kind, reason, field):
    admin = world.a.user("tenant_admin")
    with tenant_scope(world.a.tenant, user=admin), pytest.raises(ValidationError) as exc:
        key_rotation_start(actor=admin, kind=kind, reason=reason)
    assert field in exc.value.message_dict
    with tenant_scope(world.a.tenant):
        assert not KeyRotation.objects.exists()


def test_active_key_cache_lifetime_follows_the_setting(settings):
    assert crypto.active_key_ttl() == crypto.ACTIVE_KEY_TTL_SECONDS
    settings.CRM_ACTIVE_KEY_TTL_SECONDS = 2
    assert crypto.active_key_ttl() == 2


# --- key status ---------------------------------------------------------------------------------------

def test_key_status_shows_age_due_and_master(world, django_assert_max_num_queries):
    with tenant_scope(world.a.tenant):
        TenantKey.objects.filter(purpose="index").update(created_at=timezone.now() - dt.timedelta(days=400))
        with django_assert_max_num_queries(3):
            status = {k.purpose: k for k in key_status()}
    master_id = crypto.master_key()[0]
    assert status["data"].version == 1 and status["data"].age_days == 0 and not status["data"].due
    assert status["index"].age_days == 400 and status["index"].due
    assert status["data"].master_key_id == master_id and status["data"].master_is_current
    with tenant_scope(world.b.tenant):
        assert not {k.purpose: k for k in key_status()}["index"].due


# --- data key ------------------------------------------------------------------------------------------

@transactional
def test_data_rotation_reseals_every_sealed_column_of_every_app(world, quick_ttl):
    plant_personal_data(world.a, phone_prefix="1370001")
    plant_personal_data(world.b, phone_prefix="1390001")
    before = decrypted_values(world.a.tenant)
    assert {table for table, _c, _i in before} >= EVERY_SEALED_TABLE
    assert versions_of(sealed_values(world.a.tenant)) == {1}
    b_before = sealed_values(world.b.tenant)

    rotation = start(world.a, RotationKind.DATA_KEY)
    rotation = key_rotation_run(rotation, batch_size=3)

    assert rotation.status == JobStatus.DONE and rotation.finished_at and not rotation.error
    assert rotation.rows_total > 0 and rotation.rows_done >= rotation.rows_total and rotation.percent == 100
    crypto.keyring.clear()
    after = sealed_values(world.a.tenant)
    assert versions_of(after) == {2}
    assert decrypted_values(world.a.tenant) == before
    keys = keys_of(world.a.tenant, "data")
    assert keys[1].retired_at is not None and keys[2].retired_at is None
    # Through the models too: a customer's e-mail and a payout's account read back.
    with tenant_scope(world.a.tenant):
        from tickets.models import ClaimPayout

        assert ClaimPayout.objects.get().payee_account == "6222020200112233445"
    # The other company: not one byte changed, its key untouched.
    assert sealed_values(world.b.tenant) == b_before
    assert set(keys_of(world.b.tenant, "data")) == {1}


@transactional
def test_values_sealed_under_the_old_key_after_the_pass_are_swept_before_retiring(world, settings):
    settings.CRM_ACTIVE_KEY_TTL_SECONDS = 1
    rotation = start(world.a, RotationKind.DATA_KEY)
    agent = world.a.members["agent"]
    # Another process whose cached active version has not yet expired writes under v1 after the
    # pass went by: the pass is over (every table done), only the sweep can find the value.
    with tenant_scope(world.a.tenant):
        stale = crypto.seal("+8613812349999", tenant_id=world.a.tenant.pk, table="tenancy_membership",
                            column="work_phone", row_id=agent.pk, version=1)
        Membership.objects.filter(pk=agent.pk).update(work_phone=stale)
        KeyRotation.objects.filter(pk=rotation.pk).update(progress={"phase": "sweep", "tables": {}, "done": []})

    rotation = key_rotation_run(rotation)

    assert rotation.status == JobStatus.DONE
    # Retired only after a whole sweep that began once every cached active version had expired.
    assert rotation.finished_at - rotation.started_at >= dt.timedelta(seconds=1)
    crypto.keyring.clear()
    assert versions_of(sealed_values(world.a.tenant)) == {2}
    with tenant_scope(world.a.tenant):
        assert Membership.objects.get(pk=agent.pk).work_phone == "+8613812349999"


@transactional
def test_a_finished_rotation_run_again_changes_nothing(world, quick_ttl):
    rotation = key_rotation_run(start(world.a, RotationKind.DATA_KEY))
    blobs = sealed_values(world.a.tenant)
    again = key_rotation_run(rotation)
    assert again.status == JobStatus.DONE and again.rows_done == rotation.rows_done
    assert sealed_values(world.a.tenant) == blobs


@transactional
def test_an_unreadable_value_fails_the_rotation_and_keeps_the_old_key(world, quick_ttl):
    agent = world.a.members["agent"]
    rotation = start(world.a, RotationKind.DATA_KEY)
    with tenant_scope(world.a.tenant):
        # A ciphertext moved from another row fails authentication (its associated data names its row).
        other = Membership.objects.filter(pk=world.a.members["auditor"].pk).values_list("work_phone", flat=True).get()
        Membership.objects.filter(pk=agent.pk).update(work_phone=bytes(other))
    rotation = key_rotation_run(rotation)
    assert rotation.status == JobStatus.FAILED
    assert "tenancy_membership" in rotation.error and str(agent.pk) in rotation.error
    assert "+86" not in rotation.error  # no value in the error
    assert keys_of(world.a.tenant, "data")[1].retired_at is None


# --- index key ------------------------------------------------------------------------------------------

@transactional
def test_index_rotation_keeps_lookups_working_midway_and_after(world, quick_ttl):
    planted = plant_personal_data(world.a, phone_prefix="1370002")
    plant_personal_data(world.b, phone_prefix="1370002")  # the same numbers in the other company
    b_indexes = stored_indexes(world.b.tenant)
    admin = world.a.user("tenant_admin")
    old_phone = planted.phones[0]

    def lookups(phone: str) -> tuple:
        with tenant_scope(world.a.tenant, user=admin):
            return (sorted(customer_list(search=phone).values_list("pk", flat=True)),
                    list(waybill_search(q=phone).values_list("number", flat=True)),
                    len(blind_indexes_for("phone", phone)))

    expected_old = lookups(old_phone)
    assert expected_old[0] and expected_old[1] == [planted.waybill.number] and expected_old[2] == 1

    rotation = start(world.a, RotationKind.INDEX_KEY)
    # Mid-way: stored rows carry indexes under v1; a customer added now is indexed under v2.
    with tenant_scope(world.a.tenant, user=admin):
        from customers import services as customers

        newcomer = customers.customer_create(actor=admin, kind="person", name="新客户", phones=["13700029999"],
                                             province="上海", city="上海")
        assert newcomer.phones.get().phone_bidx == blind_index_for("phone", "13700029999")
    assert lookups(old_phone)[:2] == expected_old[:2] and lookups(old_phone)[2] == 2
    assert lookups("13700029999")[0] == [newcomer.pk]
    with tenant_scope(world.a.tenant):
        assert list(membership_find_by_work_phone(world.a.members["agent"].work_phone)) == [world.a.members["agent"]]

    rotation = key_rotation_run(rotation, batch_size=4)

    assert rotation.status == JobStatus.DONE
    crypto.keyring.clear()
    indexes = stored_indexes(world.a.tenant)
    # Every index is re-keyed, the insert-only consent record's too (through tenancy.privileged).
    assert any(k[0] == "compliance_consentrecord" for k in indexes)
    assert indexes and all(stored == recomputed for stored, recomputed in indexes.values())
    assert lookups(old_phone)[:2] == expected_old[:2]
    assert lookups("13700029999")[0] == [newcomer.pk]
    with tenant_scope(world.a.tenant):
        assert list(membership_find_by_work_phone(world.a.members["agent"].work_phone)) == [world.a.members["agent"]]
        from compliance.models import ConsentRecord

        consent_bidxs = blind_indexes_for("phone", planted.phones[1])
        assert len(consent_bidxs) == 1
        assert ConsentRecord.objects.filter(phone_bidx__in=consent_bidxs).count() == 1
    assert not rotation.progress.get("kept")
    keys = keys_of(world.a.tenant, "index")
    assert keys[1].retired_at is not None and keys[2].retired_at is None
    assert stored_indexes(world.b.tenant) == b_indexes


@transactional
def test_index_rotation_retires_the_old_key_when_nothing_needs_it(world, quick_ttl):
    agent = world.a.members["agent"]
    rotation = key_rotation_run(start(world.a, RotationKind.INDEX_KEY), batch_size=2)
    assert rotation.status == JobStatus.DONE and rotation.rows_done >= rotation.rows_total > 0
    keys = keys_of(world.a.tenant, "index")
    assert keys[1].retired_at is not None and keys[2].retired_at is None
    crypto.keyring.clear()
    with tenant_scope(world.a.tenant):
        assert len(blind_indexes_for("phone", agent.work_phone)) == 1
        assert list(membership_find_by_work_phone(agent.work_phone)) == [agent]
    assert all(stored == recomputed for stored, recomputed in stored_indexes(world.a.tenant).values())


# --- master key -----------------------------------------------------------------------------------------

def _current_master_b64(settings) -> str:
    from pathlib import Path

    return settings.CRM_MASTER_KEY or Path(settings.CRM_MASTER_KEY_FILE).read_text().strip()


def _use_master(settings, current: str, retired: str = "") -> None:
    settings.CRM_MASTER_KEY, settings.CRM_MASTER_KEY_FILE = current, ""
    settings.CRM_MASTER_KEYS_RETIRED = retired
    crypto.master_key.cache_clear()
    crypto.keyring.clear()


@transactional
def test_master_rotation_rewraps_and_the_new_master_with_the_retired_list_reads_everything(world, settings):
    old = _current_master_b64(settings)
    new = crypto.new_master_key_b64()
    a_before = decrypted_values(world.a.tenant)
    b_before = decrypted_values(world.b.tenant)
    try:
        _use_master(settings, new, retired=old)
        new_id = crypto.master_key()[0]
        # Before the rotation: A's keys still name the old master, which the retired list unwraps.
        assert decrypted_values(world.a.tenant) == a_before
        with tenant_scope(world.a.tenant):
            assert not {k.purpose: k for k in key_status()}["data"].master_is_current
        rotation = key_rotation_run(start(world.a, RotationKind.MASTER_KEY))
        assert rotation.status == JobStatus.DONE and rotation.rows_done == rotation.rows_total == 2
        with tenant_scope(world.a.tenant):
            assert set(TenantKey.objects.values_list("master_key_id", flat=True)) == {new_id}
            assert all(k.master_is_current for k in key_status())
        with tenant_scope(world.b.tenant):
            assert new_id not in set(TenantKey.objects.values_list("master_key_id", flat=True))

        # A process with only the new master key: A (re-wrapped) reads; B (not yet) does not.
        _use_master(settings, new)
        assert decrypted_values(world.a.tenant) == a_before
        with pytest.raises(crypto.DecryptionError):
            decrypted_values(world.b.tenant)
        # With the retired list, B reads too.
        _use_master(settings, new, retired=old)
        assert decrypted_values(world.b.tenant) == b_before
    finally:
        crypto.master_key.cache_clear()
        crypto.keyring.clear()


def test_retired_master_keys_are_read_from_a_file(world, settings, tmp_path):
    old = _current_master_b64(settings)
    path = tmp_path / "retired"
    path.write_text(f"{crypto.new_master_key_b64()}\n{old}\n")
    try:
        _use_master(settings, crypto.new_master_key_b64())
        settings.CRM_MASTER_KEYS_RETIRED_FILE = str(path)
        assert decrypted_values(world.a.tenant)
        settings.CRM_MASTER_KEYS_RETIRED_FILE = ""
        crypto.keyring.clear()
        with pytest.raises(crypto.DecryptionError):
            decrypted_values(world.a.tenant)
    finally:
        crypto.master_key.cache_clear()
        crypto.keyring.clear()


# --- the worker task and the sweep -------------------------------------------------------------------

@transactional
def test_the_task_runs_a_rotation_with_committed_batches(world, quick_ttl):
    rotation = start(world.a, RotationKind.DATA_KEY)
    # The task body runs inside its tenant scope's transaction: the batches go to their own connection.
    key_rotation_task.apply(kwargs={"tenant_id": world.a.tenant.pk, "rotation_id": rotation.pk})
    with tenant_scope(world.a.tenant):
        assert KeyRotation.objects.get(pk=rotation.pk).status == JobStatus.DONE
    crypto.keyring.clear()
    assert versions_of(sealed_values(world.a.tenant)) == {2}


def test_the_sweep_requeues_lost_and_stalled_rotations_only(world):
    now = timezone.now()
    with tenant_scope(world.a.tenant):
        lost = key_rotation_open(kind="data", enqueue=False)
        stalled = key_rotation_open(kind="index", enqueue=False)
        alive = key_rotation_open(kind="master", enqueue=False)
        KeyRotation.objects.filter(pk=lost.pk).update(created_at=now - dt.timedelta(minutes=2))
        KeyRotation.objects.filter(pk=stalled.pk).update(status="running", heartbeat_at=now - dt.timedelta(minutes=6))
        KeyRotation.objects.filter(pk=alive.pk).update(status="running", heartbeat_at=now - dt.timedelta(minutes=1))
        assert list(rotations_stalled().values_list("pk", flat=True)) == [lost.pk, stalled.pk]
    assert key_rotation_sweep.apply(kwargs={"tenant_id": world.a.tenant.pk}).get() == [lost.pk, stalled.pk]
    assert key_rotation_sweep.apply(kwargs={"tenant_id": world.b.tenant.pk}).get() == []


# --- crypto-shredding -------------------------------------------------------------------------------------

def test_offboarding_needs_the_code_typed_again(world):
    with pytest.raises(ValidationError) as exc:
        platform_tenant_offboard(tenant=world.a.tenant, confirm_code="beta")
    assert "confirm_code" in exc.value.message_dict
    world.a.tenant.refresh_from_db()
    assert world.a.tenant.is_active and world.a.tenant.keys_shredded_at is None
    assert set(keys_of(world.a.tenant, "data")) == {1}


def test_offboarding_destroys_the_keys_so_nothing_of_the_company_decrypts(world):
    agent_a, agent_b = world.a.members["agent"], world.b.members["agent"]
    with tenant_scope(world.a.tenant):
        token, raw_token = api_token_create(actor=world.a.user("agent"), name="integration", for_membership=agent_a)
    client = world.client_for(world.a.user("agent"))
    assert client.get("/compliance/keys/").status_code in (403, 200)  # logged in, a member
    blobs = sealed_values(world.a.tenant)
    assert blobs

    call_command("offboard_tenant", "--tenant", "alpha", "--confirm", "alpha")

    tenant = Tenant.objects.get(pk=world.a.tenant.pk)
    assert not tenant.is_active and tenant.offboarded_at and tenant.keys_shredded_at
    with tenant_scope(tenant):
        assert not TenantKey.objects.exists()
    assert sealed_values(world.a.tenant) == blobs  # the ciphertexts are still there …
    for (table, column, row_id), blob in blobs.items():  # … and none of them decrypts
        with tenant_scope(tenant), pytest.raises(crypto.DecryptionError):
            crypto.unseal(blob, tenant_id=tenant.pk, table=table, column=column, row_id=row_id)
    with tenant_scope(tenant), pytest.raises(crypto.DecryptionError):
        Membership.objects.get(pk=agent_a.pk).work_phone  # noqa: B018
    # No new key is made for it either.
    with tenant_scope(tenant), pytest.raises(crypto.KeysDestroyed):
        blind_index_for("phone", "13812340000")
    with tenant_scope(tenant):
        assert not TenantKey.objects.exists()
    # Its sessions and tokens no longer open anything.
    assert world.client_for(world.a.user("agent")).get("/customers/").status_code != 200
    api = Client()
    assert api.get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Token {raw_token}").status_code in (401, 403)
    # The other company works as before.
    with tenant_scope(world.b.tenant):
        assert Membership.objects.get(pk=agent_b.pk).work_phone.startswith("+86139")
    assert world.client_for(world.b.user("agent")).get("/customers/").status_code == 200
    with pytest.raises(ValidationError):
        start(world.a, RotationKind.DATA_KEY)


# --- the page ------------------------------------------------------------------------------------------

def test_keys_page_shows_status_and_rotations_to_viewers_only(world, django_assert_max_num_queries):
    rotation = start(world.a, RotationKind.DATA_KEY)
    start(world.b, RotationKind.INDEX_KEY)
    admin = world.client_for(world.a.user("tenant_admin"))
    admin.get("/compliance/keys/")  # warm the session and permission caches
    with django_assert_max_num_queries(25):
        page = admin.get("/compliance/keys/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="rotation-form"' in body and f'data-rotation="{rotation.pk}"' in body
    assert body.count("data-rotation=") == 1  # not the other company's
    assert 'hx-get="/compliance/keys/rotations/"' in body  # polled while one is open
    auditor = world.client_for(world.a.user("auditor"))
    page = auditor.get("/compliance/keys/")
    assert page.status_code == 200 and 'id="rotation-form"' not in page.content.decode()
    assert world.client_for(world.a.user("agent")).get("/compliance/keys/").status_code == 403
    assert world.client_for(world.a.user("agent")).get("/compliance/keys/rotations/").status_code == 403


def test_rotations_partial_stops_polling_when_nothing_runs(world):
    rotation = start(world.a, RotationKind.DATA_KEY)
    client = world.client_for(world.a.user("auditor"))
    assert "hx-get" in client.get("/compliance/keys/rotations/").content.decode()
    with tenant_scope(world.a.tenant):
        KeyRotation.objects.filter(pk=rotation.pk).update(status="done")
    body = client.get("/compliance/keys/rotations/").content.decode()
    assert "hx-get" not in body and 'data-status="done"' in body


def test_starting_from_the_page(world):
    admin = world.client_for(world.a.user("tenant_admin"))
    response = admin.post("/compliance/keys/rotate/", {"kind": "index", "reason": "suspected exposure"})
    assert response.status_code == 302
    with tenant_scope(world.a.tenant):
        assert KeyRotation.objects.get().kind == "index"
    again = admin.post("/compliance/keys/rotate/", {"kind": "index", "reason": "again"})
    assert again.status_code == 400 and "invalid-feedback" in again.content.decode()
    bad = admin.post("/compliance/keys/rotate/", {"kind": "all", "reason": "x"})
    assert bad.status_code == 400
    for role in ("auditor", "agent"):
        assert world.client_for(world.a.user(role)).post(
            "/compliance/keys/rotate/", {"kind": "data", "reason": "x"}).status_code == 403
    with tenant_scope(world.a.tenant):
        assert KeyRotation.objects.count() == 1


# --- the API -------------------------------------------------------------------------------------------

def test_api_key_status_never_carries_key_material(world, django_assert_max_num_queries):
    client = world.client_for(world.a.user("auditor"))
    client.get("/api/v1/compliance/keys/")
    with django_assert_max_num_queries(12):
        response = client.get("/api/v1/compliance/keys/")
    assert response.status_code == 200
    rows = {row["purpose"]: row for row in response.json()}
    assert set(rows) == {"data", "index"} and rows["data"]["version"] == 1
    assert rows["data"]["master_key_id"] == crypto.master_key()[0]
    with tenant_scope(world.a.tenant):
        wrapped = [bytes(k.wrapped_key) for k in TenantKey.objects.all()]
    text = response.content.decode()
    assert "wrapped_key" not in text
    for blob in wrapped:
        assert blob.hex() not in text and __import__("base64").b64encode(blob).decode() not in text
    assert world.client_for(world.a.user("agent")).get("/api/v1/compliance/keys/").status_code == 403
    assert client.post("/api/v1/compliance/keys/", {}).status_code in (403, 405)


def test_api_key_rotations(world, django_assert_max_num_queries):
    admin = world.client_for(world.a.user("tenant_admin"))
    created = admin.post("/api/v1/compliance/key-rotations/", {"kind": "data", "reason": "yearly"},
                         content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["kind"], body["status"], body["from_version"], body["to_version"]) == ("data", "queued", 1, 2)
    conflict = admin.post("/api/v1/compliance/key-rotations/", {"kind": "data", "reason": "again"},
                          content_type="application/json")
    assert conflict.status_code == 400 and "kind" in conflict.json()["error"]["fields"]
    bad = admin.post("/api/v1/compliance/key-rotations/", {"kind": "all", "reason": "x"},
                     content_type="application/json")
    assert bad.status_code == 400 and "kind" in bad.json()["error"]["fields"]
    other = start(world.b, RotationKind.INDEX_KEY)

    auditor = world.client_for(world.a.user("auditor"))
    auditor.get("/api/v1/compliance/key-rotations/")
    with django_assert_max_num_queries(12):
        listing = auditor.get("/api/v1/compliance/key-rotations/")
    assert [row["id"] for row in listing.json()["results"]] == [body["id"]]
    assert auditor.get(f"/api/v1/compliance/key-rotations/{body['id']}/").json()["rows_done"] == 0
    assert auditor.get(f"/api/v1/compliance/key-rotations/{other.pk}/").status_code == 404
    assert auditor.post("/api/v1/compliance/key-rotations/", {"kind": "index", "reason": "x"},
                        content_type="application/json").status_code == 403
    agent = world.client_for(world.a.user("agent"))
    assert agent.get("/api/v1/compliance/key-rotations/").status_code == 403
    assert agent.get(f"/api/v1/compliance/key-rotations/{body['id']}/").status_code in (403, 404)
    with tenant_scope(world.a.tenant):
        assert KeyRotation.objects.count() == 1


def test_rotate_keys_command_queues_or_refuses(world, capsys):
    call_command("rotate_keys", "--tenant", "alpha", "--kind", "index")
    with tenant_scope(world.a.tenant):
        rotation = KeyRotation.objects.get()
    assert rotation.kind == "index" and rotation.status == "queued" and rotation.requested_by is None
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("rotate_keys", "--tenant", "alpha", "--kind", "index")
    with pytest.raises(CommandError):
        call_command("rotate_keys", "--tenant", "nobody", "--kind", "data")
    with pytest.raises(CommandError):
        call_command("rotate_keys", "--tenant", "beta", "--resume", str(rotation.pk))



def test_fine_ledger_checkpoints_verify_across_a_master_key_change(world, settings):
    """The ledger signs with a key derived from the master key: checkpoints signed under the old
    master verify while it is configured as retired, and afterwards through its public key kept
    in CRM_LEDGER_RETIRED_PUBLIC_KEYS (the keys page shows it)."""
    from penalties import services as fines
    from penalties import signing
    from tests.penalties.fines_world import confirmed, seed_catalogue

    seed_catalogue(world)
    confirmed(world.a)
    settings.CRM_LEDGER_SIGNING_KEY = settings.CRM_LEDGER_SIGNING_KEY_FILE = ""
    old = _current_master_b64(settings)
    try:
        signing.signing_key.cache_clear()
        with tenant_scope(world.a.tenant):
            assert fines.ledger_checkpoint_create() is not None
        _use_master(settings, crypto.new_master_key_b64(), retired=old)
        signing.signing_key.cache_clear()
        with tenant_scope(world.a.tenant):
            assert fines.ledger_verify().ok
        kept = signing.retired_master_public_keys_b64()
        assert len(kept) == 1
        _use_master(settings, settings.CRM_MASTER_KEY)
        with tenant_scope(world.a.tenant):
            assert not fines.ledger_verify().ok  # the old checkpoint's key is unknown now
        settings.CRM_LEDGER_RETIRED_PUBLIC_KEYS = kept
        with tenant_scope(world.a.tenant):
            assert fines.ledger_verify().ok
    finally:
        crypto.master_key.cache_clear()
        signing.signing_key.cache_clear()
        crypto.keyring.clear()
