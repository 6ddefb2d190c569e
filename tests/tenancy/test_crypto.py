"""Encrypted personal data: round trip, tampering, moving ciphertexts, blind indexes."""
import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenancy import crypto
from tenancy.fields import Sealed, masked
from tenancy.models import Membership
from tenancy.scoping import tenant_scope
from tenancy.selectors import blind_index_for, membership_find_by_work_phone

HYPO = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@HYPO
@given(text=st.text(min_size=0, max_size=300))
def test_seal_round_trip(world, text):
    with tenant_scope(world.a.tenant):
        blob = crypto.seal(text, tenant_id=world.a.tenant.pk, table="t", column="c", row_id=7)
        assert crypto.unseal(blob, tenant_id=world.a.tenant.pk, table="t", column="c", row_id=7) == text
        if len(text.encode()) >= 8:  # shorter byte strings can occur in random ciphertext by chance
            assert text.encode() not in blob


@HYPO
@given(data=st.data())
def test_any_flipped_byte_fails(world, data):
    with tenant_scope(world.a.tenant):
        blob = bytearray(crypto.seal("+8613812345678", tenant_id=world.a.tenant.pk, table="t", column="c",
                                     row_id=1))
        index = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
        bit = data.draw(st.integers(min_value=0, max_value=7))
        blob[index] ^= 1 << bit
        with pytest.raises(crypto.DecryptionError):
            crypto.unseal(bytes(blob), tenant_id=world.a.tenant.pk, table="t", column="c", row_id=1)


@pytest.mark.parametrize("change", ["row_id", "column", "table"])
def test_ciphertext_bound_to_its_place(world, change):
    place = {"tenant_id": world.a.tenant.pk, "table": "tenancy_membership", "column": "work_phone", "row_id": 5}
    with tenant_scope(world.a.tenant):
        blob = crypto.seal("+8613812345678", **place)
        moved = dict(place, **{change: 6 if change == "row_id" else "other"})
        with pytest.raises(crypto.DecryptionError):
            crypto.unseal(blob, **moved)


def test_ciphertext_copied_to_another_row_does_not_decrypt(world):
    a = world.a
    with tenant_scope(a.tenant):
        agent = Membership.objects.get(pk=a.members["agent"].pk)
        sales = Membership.objects.get(pk=a.members["sales_manager"].pk)
        with connection.cursor() as cursor:
            cursor.execute("UPDATE tenancy_membership SET work_phone = %s WHERE id = %s",
                           [bytes(agent.__dict__["work_phone"]), sales.pk])
        copied = Membership.objects.get(pk=sales.pk)
        with pytest.raises(crypto.DecryptionError):
            copied.work_phone  # noqa: B018


def test_ciphertext_of_another_tenant_does_not_decrypt(world):
    with tenant_scope(world.b.tenant):
        b_blob = crypto.seal("+8613812345678", tenant_id=world.b.tenant.pk, table="t", column="c", row_id=1)
    with tenant_scope(world.a.tenant), pytest.raises(crypto.DecryptionError):
        # Same table/column/row but A's key and A's tenant id in the associated data.
        crypto.unseal(b_blob, tenant_id=world.a.tenant.pk, table="t", column="c", row_id=1)


def test_database_holds_no_plaintext(world):
    with tenant_scope(world.a.tenant):
        with connection.cursor() as cursor:
            cursor.execute("SELECT work_phone, work_phone_bidx FROM tenancy_membership WHERE id = %s",
                           [world.a.members["agent"].pk])
            raw, bidx = cursor.fetchone()
        assert b"13812340000" not in bytes(raw)
        assert b"8613812340000" not in bytes(raw)
        assert len(bidx) == 64 and "1381234" not in bidx
        agent = Membership.objects.get(pk=world.a.members["agent"].pk)
        assert isinstance(agent.__dict__["work_phone"], Sealed)
        assert agent.work_phone == "+8613812340000"
        assert masked(agent, "work_phone") == "138****0000"


@pytest.mark.parametrize("typed", ["13812340000", "+86 138 1234 0000", "138-1234-0000", "008613812340000"])
def test_blind_index_matches_every_way_of_typing_a_phone(world, typed):
    with tenant_scope(world.a.tenant):
        found = list(membership_find_by_work_phone(typed))
        assert [m.pk for m in found] == [world.a.members["agent"].pk]


def test_blind_index_differs_between_tenants(world):
    with tenant_scope(world.a.tenant):
        a_index = blind_index_for("phone", "13800000000")
    with tenant_scope(world.b.tenant):
        b_index = blind_index_for("phone", "13800000000")
    assert a_index != b_index


def test_encrypted_column_cannot_be_filtered_by_value(world):
    from django.core.exceptions import FieldError

    with tenant_scope(world.a.tenant), pytest.raises((FieldError, TypeError)):
        list(Membership.objects.filter(work_phone="+8613812340000"))


def test_invalid_phone_is_refused_on_assignment(world):
    from django.core.exceptions import ValidationError

    with tenant_scope(world.a.tenant):
        membership = Membership.objects.get(pk=world.a.members["agent"].pk)
        with pytest.raises(ValidationError):
            membership.work_phone = "12345"


def test_wrong_master_key_cannot_unwrap(world, settings):
    with tenant_scope(world.a.tenant):
        Membership.objects.get(pk=world.a.members["agent"].pk).work_phone  # noqa: B018  (warm the key)
    crypto.keyring.clear()
    crypto.master_key.cache_clear()
    settings.CRM_MASTER_KEY = crypto.new_master_key_b64()
    settings.CRM_MASTER_KEY_FILE = ""
    try:
        with tenant_scope(world.a.tenant), pytest.raises(crypto.DecryptionError):
            Membership.objects.get(pk=world.a.members["agent"].pk).work_phone  # noqa: B018
    finally:
        crypto.master_key.cache_clear()
        crypto.keyring.clear()
