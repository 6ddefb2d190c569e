"""Every read of the customers app used by pages, the API and tasks. Split by subject."""
from .contracts import contract_get, contract_list, contracts_expiring, price_quote
from .records import (
    customer_360,
    customer_get,
    customer_list,
    customer_lookup,
    duplicate_queue,
    merge_history,
    possible_duplicates,
    tag_list,
)
from .sales import (
    activity_list,
    followups_due,
    lead_get,
    lead_list,
    my_accounts_with_trend,
    opportunity_get,
    opportunity_list,
    pipeline_board,
    sales_team_list,
)

__all__ = [
    "activity_list", "contract_get", "contract_list", "contracts_expiring", "customer_360", "customer_get",
    "customer_list", "customer_lookup", "duplicate_queue", "followups_due", "lead_get", "lead_list",
    "merge_history", "my_accounts_with_trend", "opportunity_get", "opportunity_list", "pipeline_board",
    "possible_duplicates", "price_quote", "sales_team_list", "tag_list",
]
