"""Every write of the customers app (ARCHITECTURE.md §2): records, contracts, dedup and merge,
segments, sales. Split by subject; import from here."""
from .contracts import contract_activate, contract_create, contract_lane_add, contract_lane_remove, contract_terminate
from .dedup import customer_merge, duplicate_dismiss, duplicates_scan, merge_preview
from .records import (
    address_add,
    address_remove,
    contact_create,
    contact_remove,
    contact_update,
    customer_create,
    customer_phone_add,
    customer_phone_remove,
    customer_tag_add,
    customer_tag_remove,
    customer_update,
    tag_create,
)
from .sales import (
    activity_complete,
    activity_log,
    lead_assign,
    lead_create,
    lead_disqualify,
    lead_mark_contacted,
    lead_qualify,
    opportunity_create,
    opportunity_lose,
    opportunity_move,
    opportunity_win,
    quote_line_add,
    quote_line_remove,
    sales_reminders_send,
    sales_team_create,
    sales_team_update,
)
from .segments import segments_recompute

__all__ = [
    "activity_complete", "activity_log", "address_add", "address_remove", "contact_create", "contact_remove",
    "contact_update", "contract_activate", "contract_create", "contract_lane_add", "contract_lane_remove",
    "contract_terminate", "customer_create", "customer_merge", "customer_phone_add", "customer_phone_remove",
    "customer_tag_add", "customer_tag_remove", "customer_update", "duplicate_dismiss", "duplicates_scan",
    "lead_assign", "lead_create", "lead_disqualify", "lead_mark_contacted", "lead_qualify", "merge_preview",
    "opportunity_create", "opportunity_lose", "opportunity_move", "opportunity_win", "quote_line_add",
    "quote_line_remove", "sales_reminders_send",
    "sales_team_create", "sales_team_update", "segments_recompute", "tag_create",
]
