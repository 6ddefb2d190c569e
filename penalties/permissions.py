"""Role grants of the penalties app (merged into the role matrix by tenancy.permissions).

- Everybody sees their own fines and may appeal them, and reads the catalogue.
- Branch managers see, propose, confirm and take payments for the fines of their branch subtree,
  and appeal on behalf of their staff; they decide appeals of fines they did not confirm.
- Executives and tenant admins do all of that company-wide, and void fines; tenant admins edit
  the catalogue.
- Auditors read everything — cases, appeals, the ledger, checkpoints — verify the chain and
  export; they write no business data.
Four-eyes (proposer ≠ confirmer; confirmer ≠ appeal decider) is checked in the services and, for
proposer ≠ confirmer, by a database check as well."""
from __future__ import annotations

from tenancy.models import Role

_OWN = {"penalties.view_own_fines", "penalties.appeal_violation", "penalties.view_violationtype"}
_READ = _OWN | {"penalties.view_violationcase", "penalties.view_appeal", "penalties.view_ledger"}
_MANAGE = _READ | {"penalties.add_violationcase", "penalties.confirm_violation", "penalties.decide_appeal",
                   "penalties.record_fine_payment", "penalties.add_violationevidence"}

ROLE_GRANTS = {
    Role.AGENT: _OWN,
    Role.SALES_MANAGER: _OWN,
    Role.BRANCH_MANAGER: _MANAGE,
    Role.AUDITOR: _READ | {"penalties.verify_ledger", "penalties.export_ledger"},
    Role.EXECUTIVE: _MANAGE | {"penalties.void_violation", "penalties.verify_ledger", "penalties.export_ledger"},
    Role.TENANT_ADMIN: _MANAGE | {"penalties.void_violation", "penalties.manage_catalogue",
                                  "penalties.verify_ledger", "penalties.export_ledger"},
}
