"""Field encryption cost: bare AES-GCM against the project's seal/unseal and the model path.

    .venv/bin/python -m benchmarks.bench_crypto [--ops 200000] [--model-ops 50000] [--reps 5]

Every figure is the best of `--reps` repetitions (time.perf_counter), as operations per second.
Writes benchmarks/out/bench_crypto.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from collections.abc import Callable

from . import _env

PHONE = "+862164381234"  # a Shanghai landline in E.164: 13 characters, already normalised
PHONE_TYPED = "021 6438 1234"  # the same number as a user types it (normalised on assignment)


def best_of(reps: int, ops: int, body: Callable[[int], None]) -> float:
    """Best ops/s over `reps` runs of body(ops) (body runs the whole loop of `ops` operations)."""
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        body(ops)
        best = min(best, time.perf_counter() - start)
    return ops / best


def run(ops: int, model_ops: int, reps: int) -> dict:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from tenancy import crypto
    from tenancy.fields import Sealed
    from tenancy.models import Membership

    results: dict[str, dict] = {}

    with _env.tenant_with_data("bench-crypto") as tenant:
        tid = tenant.pk
        table = Membership._meta.db_table
        field = Membership._meta.get_field("work_phone")
        column = field.column
        # Warm the keyring (data and index keys) before anything is timed.
        crypto.keyring.clear()
        crypto.seal(PHONE, tenant_id=tid, table=table, column=column, row_id=1)
        crypto.blind_index(PHONE, tenant_id=tid, kind="phone")

        # --- (a) bare AES-GCM: same key size, nonce, plaintext and associated-data length ----
        sample_aad = crypto.row_aad(tid, table, column, 123456)
        aad = b"a" * len(sample_aad)
        aead = AESGCM(os.urandom(32))
        plain = PHONE.encode()
        urandom = os.urandom

        def bare_encrypt(n: int) -> None:
            enc = aead.encrypt
            for _ in range(n):
                enc(urandom(12), plain, aad)

        nonce = urandom(12)
        ciphertext = aead.encrypt(nonce, plain, aad)

        def bare_decrypt(n: int) -> None:
            dec = aead.decrypt
            for _ in range(n):
                dec(nonce, ciphertext, aad)

        results["bare_encrypt"] = {"ops_s": best_of(reps, ops, bare_encrypt), "ops": ops}
        results["bare_decrypt"] = {"ops_s": best_of(reps, ops, bare_decrypt), "ops": ops}

        # --- (b1) tenancy.crypto.seal / unseal, warm keyring ---------------------------------
        seal, unseal = crypto.seal, crypto.unseal

        def project_seal(n: int) -> None:
            for i in range(n):
                seal(PHONE, tenant_id=tid, table=table, column=column, row_id=i)

        blobs = [seal(PHONE, tenant_id=tid, table=table, column=column, row_id=i) for i in range(1000)]

        def project_unseal(n: int) -> None:
            for i in range(n):
                row = i % 1000
                unseal(blobs[row], tenant_id=tid, table=table, column=column, row_id=row)

        def project_blind_index(n: int) -> None:
            bidx = crypto.blind_index
            for _ in range(n):
                bidx(PHONE, tenant_id=tid, kind="phone")

        results["seal"] = {"ops_s": best_of(reps, ops, project_seal), "ops": ops}
        results["unseal"] = {"ops_s": best_of(reps, ops, project_unseal), "ops": ops}
        results["blind_index"] = {"ops_s": best_of(reps, model_ops, project_blind_index), "ops": model_ops}

        # --- (b2) the model path ----------------------------------------------------------------
        pool = [Membership(tenant_id=tid, pk=i + 1, user_id=1, role="agent") for i in range(1000)]
        seal_instance = field.seal_instance

        def model_set_and_seal(n: int) -> None:
            # What save() does for a new phone: assign (normalise) then seal + blind index.
            for i in range(n):
                obj = pool[i % 1000]
                obj.work_phone = PHONE_TYPED
                seal_instance(obj)

        def model_set_e164_and_seal(n: int) -> None:
            for i in range(n):
                obj = pool[i % 1000]
                obj.work_phone = PHONE
                seal_instance(obj)

        def model_set_only(n: int) -> None:
            for i in range(n):
                pool[i % 1000].work_phone = PHONE_TYPED

        def model_seal_only(n: int) -> None:
            # The plaintext is put in place without the setter (no normalisation).
            for i in range(n):
                obj = pool[i % 1000]
                obj.__dict__["work_phone"] = PHONE
                seal_instance(obj)

        # Decrypt: a row as the ORM loads it (from_db with a Sealed value), then attribute access.
        attnames = [f.attname for f in Membership._meta.concrete_fields]
        now = dt.datetime.now(dt.UTC)
        rows = []
        for i in range(1000):
            values = {f.attname: None for f in Membership._meta.concrete_fields}
            values.update(id=i + 1, tenant_id=tid, user_id=1, role="agent", branch_id=None, title="",
                          is_active=True, is_away=False, joined_at=now,
                          work_phone=Sealed(seal(PHONE, tenant_id=tid, table=table, column=column,
                                                 row_id=i + 1)),
                          work_phone_bidx="0" * 64)
            rows.append([values[name] for name in attnames])
        from_db = Membership.from_db

        def model_from_db_and_read(n: int) -> None:
            for i in range(n):
                obj = from_db("default", attnames, rows[i % 1000])
                obj.work_phone  # noqa: B018 - the attribute access decrypts

        def model_from_db_only(n: int) -> None:
            for i in range(n):
                from_db("default", attnames, rows[i % 1000])

        sealed_values = [row[attnames.index("work_phone")] for row in rows]

        def model_assign_sealed_and_read(n: int) -> None:
            for i in range(n):
                obj = pool[i % 1000]
                obj.work_phone = sealed_values[i % 1000]
                obj.work_phone  # noqa: B018 - the attribute access decrypts

        for name, body in [
            ("model_set_and_seal", model_set_and_seal),
            ("model_set_e164_and_seal", model_set_e164_and_seal),
            ("model_set_only", model_set_only),
            ("model_seal_only", model_seal_only),
            ("model_from_db_and_read", model_from_db_and_read),
            ("model_from_db_only", model_from_db_only),
            ("model_assign_sealed_and_read", model_assign_sealed_and_read),
        ]:
            results[name] = {"ops_s": best_of(reps, model_ops, body), "ops": model_ops}

        # Correctness guard: what was timed really round-trips.
        obj = from_db("default", attnames, rows[7])
        assert obj.work_phone == PHONE
        obj = pool[3]
        obj.work_phone = PHONE_TYPED
        assert seal_instance(obj) is not None and obj.work_phone == PHONE

    for name, row in results.items():
        row["us_per_op"] = 1e6 / row["ops_s"]
        base = BARE_OF.get(name)
        row["ratio_to_bare"] = results[base]["ops_s"] / row["ops_s"] if base else None
    return results


# Which bare loop each figure is compared with (None: not an AES-GCM operation).
BARE_OF = {
    "bare_encrypt": "bare_encrypt", "bare_decrypt": "bare_decrypt",
    "seal": "bare_encrypt", "unseal": "bare_decrypt", "blind_index": None,
    "model_set_and_seal": "bare_encrypt", "model_set_e164_and_seal": "bare_encrypt",
    "model_set_only": None, "model_seal_only": "bare_encrypt",
    "model_from_db_and_read": "bare_decrypt", "model_from_db_only": None,
    "model_assign_sealed_and_read": "bare_decrypt",
}


LABELS = {
    "bare_encrypt": "bare AESGCM.encrypt (+ os.urandom(12) nonce)",
    "bare_decrypt": "bare AESGCM.decrypt",
    "seal": "tenancy.crypto.seal (warm keyring)",
    "unseal": "tenancy.crypto.unseal (warm keyring)",
    "blind_index": "tenancy.crypto.blind_index (HMAC-SHA256)",
    "model_set_and_seal": "model: obj.work_phone = typed number; seal_instance(obj)",
    "model_set_e164_and_seal": "model: obj.work_phone = E.164 number; seal_instance(obj)",
    "model_set_only": "  of which: obj.work_phone = typed number (normalise only)",
    "model_seal_only": "  of which: seal_instance(obj) (seal + blind index)",
    "model_from_db_and_read": "model: Membership.from_db(row); obj.work_phone",
    "model_from_db_only": "  of which: Membership.from_db(row) (no decrypt)",
    "model_assign_sealed_and_read": "model: obj.work_phone = Sealed(...); obj.work_phone",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=_env.DEFAULT_DB)
    parser.add_argument("--ops", type=int, default=200_000, help="operations per bare/seal/unseal loop")
    parser.add_argument("--model-ops", type=int, default=50_000, help="operations per model-path loop")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                        help="first wait up to SECONDS for the 1-min load average to drop below 0.7")
    args = parser.parse_args()
    if args.ops < 1 or args.model_ops < 1 or args.reps < 1:
        parser.error("counts must be positive")
    _env.setup(args.db)
    load_start = _env.wait_for_quiet(args.wait_idle)
    results = run(args.ops, args.model_ops, args.reps)
    load_end = os.getloadavg()
    print(f"bench_crypto  {dt.datetime.now().isoformat(timespec='seconds')}  {_env.machine()}")
    print("load average at start {:.2f} {:.2f} {:.2f}, at end {:.2f} {:.2f} {:.2f}".format(
        *load_start, *load_end))
    print(f"plaintext {PHONE!r} ({len(PHONE)} chars), best of {args.reps}")
    print(f"{'path':<62}{'ops/s':>12}{'µs/op':>9}{'× bare':>9}")
    for name, row in results.items():
        ratio = "—" if row["ratio_to_bare"] is None else f"{row['ratio_to_bare']:.2f}"
        print(f"{LABELS[name]:<62}{row['ops_s']:>12,.0f}{row['us_per_op']:>9.2f}{ratio:>9}")
    _env.OUT.mkdir(parents=True, exist_ok=True)
    out = _env.OUT / "bench_crypto.json"
    out.write_text(json.dumps({"machine": _env.machine(), "date": dt.date.today().isoformat(),
                               "plaintext_chars": len(PHONE), "reps": args.reps,
                               "loadavg_start": load_start, "loadavg_end": load_end,
                               "results": results}, indent=2))
    print(f"written {out.relative_to(_env.BASE_DIR)}")


if __name__ == "__main__":
    main()
