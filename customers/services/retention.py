"""Writes of retention tasks (DOMAIN.md §7): record a task's outcome, hand it to someone else.

Tasks are opened only by the churn scan (customers.services.churn). Who may work one: a holder of
`customers.work_retention_task` who is its assignee or a member of its team queue; a tenant
admin works any. The outcome (retained / lost / no action) feeds the retention rate."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.models import Membership, Role, User
from tenancy.services import notification_send, require_perm

from ..models import RetentionOutcome, RetentionStatus, RetentionTask, SalesTeam, SalesTeamMember

NOTE_MAX_LENGTH = 2000
# An outcome that says the customer went (or nobody acted) must say why: it is what the manager
# reads when the retention rate drops.
OUTCOMES_NEEDING_NOTE = (RetentionOutcome.LOST, RetentionOutcome.NO_ACTION)


def _membership(actor: User) -> Membership | None:
    return Membership.objects.filter(user=actor, is_active=True).first()


def retention_task_can_work(actor: User, task: RetentionTask, membership: Membership | None = None) -> bool:
    """Whether `actor` may record the outcome of / reassign `task` (see the module doc)."""
    if not actor.has_perm("customers.work_retention_task"):
        return False
    membership = membership or _membership(actor)
    if membership is None:
        return False
    if membership.role == Role.TENANT_ADMIN or task.assignee_id == membership.pk:
        return True
    return task.assignee_id is None and task.team_id is not None and SalesTeamMember.objects.filter(
        team_id=task.team_id, membership=membership).exists()


def _lock_open(task: RetentionTask) -> RetentionTask:
    task = RetentionTask.objects.select_for_update().get(pk=task.pk)
    if task.status != RetentionStatus.OPEN:
        raise ValidationError(_("This retention task is already closed."))
    return task


def retention_task_close(*, actor: User, task: RetentionTask, outcome: str, note: str = "") -> RetentionTask:
    """Record what came of the task and close it. The outcome is required; a lost customer or no
    action taken needs a note saying why."""
    require_perm(actor, "customers.work_retention_task")
    errors = {}
    outcome = (outcome or "").strip()
    note = (note or "").strip()
    if outcome not in RetentionOutcome.values:
        errors["outcome"] = [_("Choose what came of the task.")]
    elif outcome in OUTCOMES_NEEDING_NOTE and not note:
        errors["note"] = [_("Say why the customer was lost or nothing was done.")]
    if len(note) > NOTE_MAX_LENGTH:
        errors["note"] = [_("Keep the note under %(max)s characters.") % {"max": NOTE_MAX_LENGTH}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        task = _lock_open(task)
        if not retention_task_can_work(actor, task):
            raise PermissionDenied(_("This task is assigned to someone else."))
        task.status = RetentionStatus.DONE
        task.outcome = outcome
        task.outcome_note = note
        task.closed_at = timezone.now()
        task.closed_by = actor
        task.save(update_fields=["status", "outcome", "outcome_note", "closed_at", "closed_by"])
    return task


def retention_task_reassign(*, actor: User, task: RetentionTask, assignee: Membership | None = None,
                            team: SalesTeam | None = None) -> RetentionTask:
    """Give an open task to one person (an active sales manager or tenant admin), or put it in a
    team's queue. Taking a task from one's own team queue is a reassignment to oneself."""
    require_perm(actor, "customers.work_retention_task")
    if (assignee is None) == (team is None):
        raise ValidationError({"assignee": _("Choose either a person or a team.")})
    if assignee is not None and (not assignee.is_active
                                 or assignee.role not in (Role.SALES_MANAGER, Role.TENANT_ADMIN)):
        raise ValidationError({"assignee": _("Retention tasks go to active sales managers.")})
    if team is not None and not team.is_active:
        raise ValidationError({"team": _("This team is not active.")})
    with transaction.atomic():
        task = _lock_open(task)
        if not retention_task_can_work(actor, task):
            raise PermissionDenied(_("This task is assigned to someone else."))
        task.assignee, task.team = assignee, (None if assignee is not None else team)
        task.save(update_fields=["assignee", "team"])
        actor_membership = _membership(actor)
        if assignee is not None and assignee != actor_membership:
            notification_send(
                membership=assignee, title=_("Retention task: %(name)s") % {"name": task.customer.display_name},
                body=_("A retention task was handed to you."), dedup_key=f"retention:{task.pk}:{assignee.pk}",
                url=reverse("customers:retention_task", args=[task.pk]))
    return task
