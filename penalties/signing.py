"""The Ed25519 key that signs ledger checkpoints. It never enters the database: it comes from
CRM_LEDGER_SIGNING_KEY (base64 of a 32-byte seed) or the file CRM_LEDGER_SIGNING_KEY_FILE; when
neither is set it is derived from the master key (HKDF-SHA256, its own label), which also lives
outside the database. Auditors verify checkpoints with the public key, which they download and
keep; public keys of retired signing keys stay verifiable through CRM_LEDGER_RETIRED_PUBLIC_KEYS.

Signed message (UTF-8, lines joined by "\\n"):
    courier-crm/ledger-checkpoint/v1 | tenant id | sequence | head hash (hex) | signed at (ISO 8601, UTC)
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MESSAGE_TAG = "courier-crm/ledger-checkpoint/v1"


def _raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(_raw_public(public)).hexdigest()[:16]


@lru_cache(maxsize=1)
def signing_key() -> Ed25519PrivateKey:
    raw = getattr(settings, "CRM_LEDGER_SIGNING_KEY", "")
    path = getattr(settings, "CRM_LEDGER_SIGNING_KEY_FILE", "")
    if not raw and path:
        raw = Path(path).read_text().strip()
    if raw:
        seed = base64.b64decode(raw)
        if len(seed) != 32:
            raise ImproperlyConfigured("The ledger signing key must be 32 bytes (base64-encoded)")
        return Ed25519PrivateKey.from_private_bytes(seed)
    from tenancy.crypto import master_key

    return _derived_from_master(master_key()[1])


def _derived_from_master(master: bytes) -> Ed25519PrivateKey:
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"courier-crm ledger checkpoint ed25519 v1").derive(master)
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def current_key_id() -> str:
    return key_id_of(public_key())


def public_key_pem() -> str:
    return public_key().public_bytes(serialization.Encoding.PEM,
                                     serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def public_key_b64() -> str:
    return base64.b64encode(_raw_public(public_key())).decode()


def retired_master_public_keys_b64() -> list[str]:
    """Ledger public keys derived from the retired master keys (to keep in
    CRM_LEDGER_RETIRED_PUBLIC_KEYS once those master keys are removed)."""
    if getattr(settings, "CRM_LEDGER_SIGNING_KEY", "") or getattr(settings, "CRM_LEDGER_SIGNING_KEY_FILE", ""):
        return []
    from tenancy.crypto import retired_master_keys

    return [base64.b64encode(_raw_public(_derived_from_master(m).public_key())).decode()
            for m in retired_master_keys().values()]


def verification_keys() -> dict[str, Ed25519PublicKey]:
    """Key id → public key: the current signing key and every retired one still trusted."""
    keys = {current_key_id(): public_key()}
    if not (getattr(settings, "CRM_LEDGER_SIGNING_KEY", "") or getattr(settings, "CRM_LEDGER_SIGNING_KEY_FILE", "")):
        # Signing with a key derived from the master key: after a master-key rotation, checkpoints
        # signed under the previous master verify while it is still configured as retired. Before
        # dropping it, add its public key (shown on the keys page) to CRM_LEDGER_RETIRED_PUBLIC_KEYS.
        from tenancy.crypto import retired_master_keys

        for master in retired_master_keys().values():
            public = _derived_from_master(master).public_key()
            keys[key_id_of(public)] = public
    for item in getattr(settings, "CRM_LEDGER_RETIRED_PUBLIC_KEYS", []) or []:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(item))
        keys[key_id_of(public)] = public
    return keys


def checkpoint_message(*, tenant_id: int, sequence: int, head_hash: bytes, signed_at: dt.datetime) -> bytes:
    stamp = signed_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return "\n".join([MESSAGE_TAG, str(tenant_id), str(sequence), bytes(head_hash).hex(), stamp]).encode()


def sign(message: bytes) -> tuple[str, bytes]:
    return current_key_id(), signing_key().sign(message)


def signature_valid(*, key_id: str, message: bytes, signature: bytes) -> bool:
    public = verification_keys().get(key_id)
    if public is None:
        return False
    try:
        public.verify(bytes(signature), message)
    except InvalidSignature:
        return False
    return True
