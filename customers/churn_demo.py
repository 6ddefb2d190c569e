"""Demo churn data: run the churn scan over the demo company's volume (customers.demo makes two
accounts' volume fall sharply), then record an outcome on the first retention task so the
retention rate has a number, and leave the other open for its account manager to work."""
from __future__ import annotations

from tenancy.models import Membership, Role
from tenancy.scoping import tenant_scope

from .models import RetentionOutcome, RetentionStatus, RetentionTask
from .services.churn import ChurnScanResult, churn_scan
from .services.retention import retention_task_close

DEMO_OUTCOMES = [
    (RetentionOutcome.RETAINED, "已回访，给予三个月运费九折，客户同意恢复发货量。"),
]


def seed_churn_demo(tenant) -> ChurnScanResult:
    """Score the company's customers, then close the first retention task (by customer) as
    retained, by its assignee. Returns the scan's counts."""
    with tenant_scope(tenant):
        result = churn_scan()
        admin = Membership.objects.filter(role=Role.TENANT_ADMIN, is_active=True).select_related("user").first()
        tasks = list(RetentionTask.objects.filter(status=RetentionStatus.OPEN).select_related("assignee__user")
                     .order_by("customer_id")[:len(DEMO_OUTCOMES)])
    for task, (outcome, note) in zip(tasks, DEMO_OUTCOMES, strict=False):
        worker = task.assignee.user if task.assignee is not None else admin.user
        with tenant_scope(tenant, user=worker):
            retention_task_close(actor=worker, task=task, outcome=outcome, note=note)
    return result
