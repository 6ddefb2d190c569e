"""Field encryption, key wrapping and blind indexes.

- Master key (outside the database) wraps each tenant's data key and index key (AES-GCM).
- Values are sealed with AES-GCM under the tenant's data key; the associated data binds
  tenant, table, column and row id, so a ciphertext copied to another row or tenant fails.
- Blind indexes are HMAC-SHA256 under a separate per-tenant index key over the normalised value.

Sealed value layout: b"\\x01" | key version (4 bytes, big endian) | nonce (12) | ciphertext+tag.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

FORMAT_VERSION = 1
_HEADER = 1 + 4 + 12
ACTIVE_KEY_TTL_SECONDS = 60


class DecryptionError(ValueError):
    """A sealed value failed authentication (tampered, moved, or the wrong key)."""


@lru_cache(maxsize=1)
def master_key() -> tuple[str, bytes]:
    """(key id, 32 key bytes) from CRM_MASTER_KEY or CRM_MASTER_KEY_FILE."""
    raw = settings.CRM_MASTER_KEY
    if not raw and settings.CRM_MASTER_KEY_FILE:
        raw = Path(settings.CRM_MASTER_KEY_FILE).read_text().strip()
    if not raw:
        raise ImproperlyConfigured("Set CRM_MASTER_KEY or CRM_MASTER_KEY_FILE (base64 of 32 bytes)")
    key = base64.b64decode(raw)
    if len(key) != 32:
        raise ImproperlyConfigured("The master key must be 32 bytes (base64-encoded)")
    return hashlib.sha256(key).hexdigest()[:16], key


def new_master_key_b64() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _wrap_aad(tenant_id: int, purpose: str, version: int) -> bytes:
    return f"crm-tenant-key|{tenant_id}|{purpose}|{version}".encode()


def wrap_key(raw: bytes, *, tenant_id: int, purpose: str, version: int) -> tuple[str, bytes]:
    key_id, mk = master_key()
    nonce = os.urandom(12)
    return key_id, nonce + AESGCM(mk).encrypt(nonce, raw, _wrap_aad(tenant_id, purpose, version))


def unwrap_key(wrapped: bytes, *, tenant_id: int, purpose: str, version: int) -> bytes:
    _, mk = master_key()
    wrapped = bytes(wrapped)
    try:
        return AESGCM(mk).decrypt(wrapped[:12], wrapped[12:], _wrap_aad(tenant_id, purpose, version))
    except InvalidTag as exc:
        raise DecryptionError("tenant key does not unwrap with the configured master key") from exc


class Keyring:
    """Process-wide cache of unwrapped tenant keys. Old versions stay usable for decryption;
    which version is *active* is re-read after ACTIVE_KEY_TTL_SECONDS so a rotation done by
    another process takes effect without a restart."""

    def __init__(self) -> None:
        self._keys: dict[tuple[int, str, int], bytes] = {}
        self._aead: dict[tuple[int, int], AESGCM] = {}
        self._active: dict[tuple[int, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()
            self._aead.clear()
            self._active.clear()

    def active_version(self, tenant_id: int, purpose: str) -> int:
        cached = self._active.get((tenant_id, purpose))
        if cached and time.monotonic() - cached[1] < ACTIVE_KEY_TTL_SECONDS:
            return cached[0]
        from .services import tenant_key_ensure

        key_row = tenant_key_ensure(tenant_id=tenant_id, purpose=purpose)
        with self._lock:
            self._keys[(tenant_id, purpose, key_row.version)] = unwrap_key(
                key_row.wrapped_key, tenant_id=tenant_id, purpose=purpose, version=key_row.version
            )
            self._active[(tenant_id, purpose)] = (key_row.version, time.monotonic())
        return key_row.version

    def key(self, tenant_id: int, purpose: str, version: int) -> bytes:
        found = self._keys.get((tenant_id, purpose, version))
        if found is not None:
            return found
        from .models import TenantKey

        row = TenantKey.objects.filter(purpose=purpose, version=version).first()
        if row is None or row.tenant_id != tenant_id:
            raise DecryptionError(f"no {purpose} key version {version} for tenant {tenant_id}")
        raw = unwrap_key(row.wrapped_key, tenant_id=tenant_id, purpose=purpose, version=version)
        with self._lock:
            self._keys[(tenant_id, purpose, version)] = raw
        return raw

    def aead(self, tenant_id: int, version: int) -> AESGCM:
        found = self._aead.get((tenant_id, version))
        if found is None:
            found = AESGCM(self.key(tenant_id, "data", version))
            self._aead[(tenant_id, version)] = found
        return found


keyring = Keyring()


def row_aad(tenant_id: int, table: str, column: str, row_id: int) -> bytes:
    return f"{tenant_id}|{table}|{column}|{row_id}".encode()


def seal(plaintext: str, *, tenant_id: int, table: str, column: str, row_id: int) -> bytes:
    version = keyring.active_version(tenant_id, "data")
    nonce = os.urandom(12)
    body = keyring.aead(tenant_id, version).encrypt(
        nonce, plaintext.encode(), row_aad(tenant_id, table, column, row_id)
    )
    return bytes([FORMAT_VERSION]) + version.to_bytes(4, "big") + nonce + body


def unseal(blob: bytes, *, tenant_id: int, table: str, column: str, row_id: int) -> str:
    blob = bytes(blob)
    if len(blob) < _HEADER + 16 or blob[0] != FORMAT_VERSION:
        raise DecryptionError("not a sealed value")
    version = int.from_bytes(blob[1:5], "big")
    try:
        plain = keyring.aead(tenant_id, version).decrypt(
            blob[5:17], blob[17:], row_aad(tenant_id, table, column, row_id)
        )
    except InvalidTag as exc:
        raise DecryptionError(
            f"sealed value of {table}.{column} row {row_id} failed authentication"
        ) from exc
    return plain.decode()


def sealed_key_version(blob: bytes) -> int:
    return int.from_bytes(bytes(blob)[1:5], "big")


def blind_index(value: str, *, tenant_id: int, kind: str) -> str:
    """Hex HMAC-SHA256 of the *normalised* value under the tenant's index key."""
    version = keyring.active_version(tenant_id, "index")
    key = keyring.key(tenant_id, "index", version)
    return hmac.new(key, f"{kind}|{value}".encode(), hashlib.sha256).hexdigest()
