"""REST API of the penalties app: the violation catalogue, fines and appeals, and the fine ledger
with its totals, export, checkpoints, verifications and chain status (registered under
/api/v1/penalties/ by tenancy.api.urls)."""
