"""The ledger's chain, kept by the database: a BEFORE INSERT trigger that serializes appends per
company on its LedgerHead row and fills in the gapless sequence number, the previous hash and
SHA-256(previous hash ‖ canonical form). SECURITY DEFINER: it runs as the owner, so the application
role itself can only read the head. The canonical form is frozen here as migrations must be; it is
the one documented in penalties/chain.py and docs/ledger.md (tests hold them equal)."""
from django.db import migrations

CANONICAL_NEW = (
    "concat_ws('|', 'v1', NEW.tenant_id, NEW.sequence, NEW.kind, NEW.case_id, "
    "coalesce(NEW.subject_membership_id::text, ''), NEW.branch_id, NEW.violation_type_id, NEW.tier, "
    "NEW.amount::text, NEW.currency, to_char(NEW.effective_on, 'YYYY-MM-DD'), "
    "(extract(epoch from NEW.recorded_at) * 1000000)::bigint, coalesce(NEW.recorded_by_id::text, ''), "
    "encode(sha256(convert_to(NEW.memo, 'UTF8')), 'hex'))"
)

CREATE = f"""
CREATE OR REPLACE FUNCTION penalties_ledger_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    head_sequence bigint;
    head_hash bytea;
BEGIN
    UPDATE penalties_ledgerhead SET last_sequence = last_sequence + 1
        WHERE tenant_id = NEW.tenant_id RETURNING last_sequence, last_hash INTO head_sequence, head_hash;
    IF NOT FOUND THEN
        INSERT INTO penalties_ledgerhead (tenant_id, last_sequence, last_hash, updated_at)
            VALUES (NEW.tenant_id, 0, decode(repeat('00', 32), 'hex'), now())
            ON CONFLICT (tenant_id) DO NOTHING;
        UPDATE penalties_ledgerhead SET last_sequence = last_sequence + 1
            WHERE tenant_id = NEW.tenant_id RETURNING last_sequence, last_hash INTO head_sequence, head_hash;
    END IF;
    NEW.sequence := head_sequence;
    NEW.prev_hash := head_hash;
    NEW.entry_hash := sha256(head_hash || convert_to({CANONICAL_NEW}, 'UTF8'));
    UPDATE penalties_ledgerhead SET last_hash = NEW.entry_hash, updated_at = now()
        WHERE tenant_id = NEW.tenant_id;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION penalties_ledger_chain() FROM PUBLIC;
CREATE TRIGGER penalties_ledger_chain BEFORE INSERT ON penalties_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION penalties_ledger_chain();
"""

DROP = """
DROP TRIGGER IF EXISTS penalties_ledger_chain ON penalties_ledgerentry;
DROP FUNCTION IF EXISTS penalties_ledger_chain();
"""


class Migration(migrations.Migration):
    dependencies = [("penalties", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, DROP)]
