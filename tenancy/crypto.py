"""Field encryption, key wrapping and blind indexes.

- Master key (outside the database) wraps each tenant's data key and index key (AES-GCM).
- Values are sealed with AES-GCM under the tenant's data key; the associated data binds
  tenant, table, column and row id, so a ciphertext copied to another row or tenant fails.
- Blind indexes are HMAC-SHA256 under a separate per-tenant index key over the normalised value.
- Keys rotate (compliance.services.keys): a tenant key gets a new version, values are re-sealed
  and indexes recomputed in the background; the master key is replaced by re-wrapping the tenant
  keys, and retired master keys (CRM_MASTER_KEYS_RETIRED / _FILE) still unwrap what they wrapped
  until then (each TenantKey names its master by `master_key_id`).

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
# How long a process keeps using the active key version it read (settings.CRM_ACTIVE_KEY_TTL_SECONDS
# overrides it). A rotation waits at least this long before it treats the old version as unused.
ACTIVE_KEY_TTL_SECONDS = 60


class DecryptionError(ValueError):
    """A sealed value failed authentication (tampered, moved, or the wrong key)."""


class KeysDestroyed(DecryptionError):
    """The company was offboarded and its keys destroyed (crypto-shredding): nothing of it decrypts."""


def active_key_ttl() -> float:
    return float(getattr(settings, "CRM_ACTIVE_KEY_TTL_SECONDS", ACTIVE_KEY_TTL_SECONDS))


def _master_key_from(raw: str) -> tuple[str, bytes]:
    try:
        key = base64.b64decode(raw.strip())
    except ValueError as exc:
        raise ImproperlyConfigured("A master key must be base64 of 32 bytes") from exc
    if len(key) != 32:
        raise ImproperlyConfigured("The master key must be 32 bytes (base64-encoded)")
    return hashlib.sha256(key).hexdigest()[:16], key


@lru_cache(maxsize=1)
def master_key() -> tuple[str, bytes]:
    """(key id, 32 key bytes) of the current master key, from CRM_MASTER_KEY or CRM_MASTER_KEY_FILE.
    Every wrap uses it."""
    raw = settings.CRM_MASTER_KEY
    if not raw and settings.CRM_MASTER_KEY_FILE:
        raw = Path(settings.CRM_MASTER_KEY_FILE).read_text().strip()
    if not raw:
        raise ImproperlyConfigured("Set CRM_MASTER_KEY or CRM_MASTER_KEY_FILE (base64 of 32 bytes)")
    return _master_key_from(raw)


@lru_cache(maxsize=4)
def _retired_master_keys(inline: str, path: str) -> dict[str, bytes]:
    items = [item for item in inline.split(",") if item.strip()]
    if path:
        items += [line for line in Path(path).read_text().splitlines() if line.strip()]
    return dict(_master_key_from(item) for item in items)


def retired_master_keys() -> dict[str, bytes]:
    """Key id → key of the master keys replaced by the current one: they only unwrap tenant keys
    not yet re-wrapped by a master rotation (CRM_MASTER_KEYS_RETIRED, comma-separated base64, or
    CRM_MASTER_KEYS_RETIRED_FILE, one per line)."""
    return _retired_master_keys(getattr(settings, "CRM_MASTER_KEYS_RETIRED", "") or "",
                                getattr(settings, "CRM_MASTER_KEYS_RETIRED_FILE", "") or "")


def master_key_by_id(key_id: str) -> bytes:
    current_id, current = master_key()
    if key_id == current_id:
        return current
    found = retired_master_keys().get(key_id)
    if found is None:
        raise DecryptionError(f"master key {key_id} is neither the current nor a retired master key")
    return found


def new_master_key_b64() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _wrap_aad(tenant_id: int, purpose: str, version: int) -> bytes:
    return f"crm-tenant-key|{tenant_id}|{purpose}|{version}".encode()


def wrap_key(raw: bytes, *, tenant_id: int, purpose: str, version: int) -> tuple[str, bytes]:
    key_id, mk = master_key()
    nonce = os.urandom(12)
    return key_id, nonce + AESGCM(mk).encrypt(nonce, raw, _wrap_aad(tenant_id, purpose, version))


def unwrap_key(wrapped: bytes, *, tenant_id: int, purpose: str, version: int,
               master_key_id: str | None = None) -> bytes:
    """The raw tenant key, unwrapped by the master key that wrapped it (`master_key_id`, as stored
    on the TenantKey; the current master when not given)."""
    mk = master_key()[1] if master_key_id is None else master_key_by_id(master_key_id)
    wrapped = bytes(wrapped)
    try:
        return AESGCM(mk).decrypt(wrapped[:12], wrapped[12:], _wrap_aad(tenant_id, purpose, version))
    except InvalidTag as exc:
        raise DecryptionError("tenant key does not unwrap with the configured master key") from exc


def _unwrap_row(row) -> bytes:
    return unwrap_key(row.wrapped_key, tenant_id=row.tenant_id, purpose=row.purpose, version=row.version,
                      master_key_id=row.master_key_id)


class Keyring:
    """Process-wide cache of unwrapped tenant keys. Old versions stay usable for decryption;
    which version is *active* (and which versions are unretired, for blind-index lookups) is
    re-read after `active_key_ttl()` seconds so a rotation done by another process takes effect
    without a restart."""

    def __init__(self) -> None:
        self._keys: dict[tuple[int, str, int], bytes] = {}
        self._aead: dict[tuple[int, int], AESGCM] = {}
        # (tenant, purpose) → (active version, unretired versions newest first, loaded at)
        self._active: dict[tuple[int, str], tuple[int, tuple[int, ...], float]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()
            self._aead.clear()
            self._active.clear()

    def _current(self, tenant_id: int, purpose: str) -> tuple[int, tuple[int, ...]]:
        cached = self._active.get((tenant_id, purpose))
        if cached and time.monotonic() - cached[2] < active_key_ttl():
            return cached[0], cached[1]
        from django.core.exceptions import PermissionDenied

        from .models import TenantKey
        from .scoping import current_tenant_id

        if tenant_id != current_tenant_id():
            raise PermissionDenied("keys are only read inside their own tenant's scope")
        # One query in the usual case: every unretired version of the purpose, newest first.
        rows = list(TenantKey.objects.filter(purpose=purpose, retired_at__isnull=True).order_by("-version"))
        if not rows:
            from .models import Tenant
            from .services import tenant_key_ensure

            if Tenant.objects.filter(pk=tenant_id, keys_shredded_at__isnull=False).exists():
                raise KeysDestroyed(f"the keys of tenant {tenant_id} were destroyed")
            rows = [tenant_key_ensure(tenant_id=tenant_id, purpose=purpose)]
        unwrapped = {rows[0].version: _unwrap_row(rows[0])}
        for row in rows[1:]:  # older versions still unretired (a rotation is under way)
            try:
                unwrapped[row.version] = _unwrap_row(row)
            except DecryptionError:
                pass  # raised again where that version is actually needed (Keyring.key)
        versions = tuple(row.version for row in rows)
        with self._lock:
            for version, raw in unwrapped.items():
                self._keys[(tenant_id, purpose, version)] = raw
            self._active[(tenant_id, purpose)] = (versions[0], versions, time.monotonic())
        return versions[0], versions

    def active_version(self, tenant_id: int, purpose: str) -> int:
        return self._current(tenant_id, purpose)[0]

    def unretired_versions(self, tenant_id: int, purpose: str) -> tuple[int, ...]:
        """Every version not yet retired, newest (the active one) first: during an index-key
        rotation a lookup must match rows indexed under the old key and rows under the new one."""
        return self._current(tenant_id, purpose)[1]

    def key(self, tenant_id: int, purpose: str, version: int) -> bytes:
        found = self._keys.get((tenant_id, purpose, version))
        if found is not None:
            return found
        from .models import TenantKey

        row = TenantKey.objects.filter(purpose=purpose, version=version).first()
        if row is None or row.tenant_id != tenant_id:
            raise DecryptionError(f"no {purpose} key version {version} for tenant {tenant_id}")
        raw = _unwrap_row(row)
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


def seal(plaintext: str, *, tenant_id: int, table: str, column: str, row_id: int,
         version: int | None = None) -> bytes:
    """Seal under the active data key, or under `version` (a rotation re-sealing to its new key)."""
    if version is None:
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


def version_bytes(version: int) -> bytes:
    """How a key version is written into a sealed value (bytes 1..4): for SQL that finds values
    still sealed under some version (`substring(col from 2 for 4)`)."""
    return version.to_bytes(4, "big")


def blind_index(value: str, *, tenant_id: int, kind: str, version: int | None = None) -> str:
    """Hex HMAC-SHA256 of the *normalised* value under the tenant's index key (the active one,
    or `version`)."""
    if version is None:
        version = keyring.active_version(tenant_id, "index")
    key = keyring.key(tenant_id, "index", version)
    return hmac.new(key, f"{kind}|{value}".encode(), hashlib.sha256).hexdigest()


def blind_indexes(value: str, *, tenant_id: int, kind: str) -> list[str]:
    """The blind index of the normalised value under every unretired index key (active first):
    what a lookup must match while an index-key rotation is recomputing the stored indexes."""
    return [blind_index(value, tenant_id=tenant_id, kind=kind, version=version)
            for version in keyring.unretired_versions(tenant_id, "index")]
