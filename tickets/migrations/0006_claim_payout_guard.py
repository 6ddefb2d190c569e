"""A payout row is only accepted for an approved claim of the same company, with the claim's
approved amount copied exactly: together with the check `amount <= approved_amount` and the
unique claim, the database itself refuses a payout above the approval or a second one, whatever
code writes it."""
from django.db import migrations

GUARD = """
CREATE OR REPLACE FUNCTION crm_claim_payout_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    claim_approved numeric;
    claim_status text;
    claim_tenant bigint;
BEGIN
    SELECT approved_amount, status, tenant_id INTO claim_approved, claim_status, claim_tenant
      FROM tickets_claim WHERE id = NEW.claim_id;
    IF claim_approved IS NULL OR claim_tenant IS DISTINCT FROM NEW.tenant_id
       OR claim_status NOT IN ('approved', 'partially_approved')
       OR NEW.approved_amount IS DISTINCT FROM claim_approved THEN
        RAISE EXCEPTION 'a payout needs an approved claim of the same company and its approved amount'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'claim_payout_guard';
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS crm_claim_payout_guard ON tickets_claimpayout;
CREATE TRIGGER crm_claim_payout_guard BEFORE INSERT ON tickets_claimpayout
    FOR EACH ROW EXECUTE FUNCTION crm_claim_payout_guard();
"""

UNGUARD = """
DROP TRIGGER IF EXISTS crm_claim_payout_guard ON tickets_claimpayout;
DROP FUNCTION IF EXISTS crm_claim_payout_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("tickets", "0005_claims")]

    operations = [migrations.RunSQL(GUARD, UNGUARD)]
