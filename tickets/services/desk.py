"""Setting up the service desk: teams and their members, routing rules, macros, and an agent
marking themselves away (skipped by automatic assignment)."""
from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tenancy.models import Membership, User
from tenancy.services import require_perm

from ..models import (
    AssignMode,
    CustomerClass,
    Macro,
    MacroAction,
    ReplyStage,
    RoutingRule,
    Team,
    TeamMember,
    TicketCategory,
    TicketPriority,
    TicketStatus,
)
from .conversation import macro_check_body

DESK_PERM = "tickets.manage_service_desk"
# A team code is a slug in ASCII (str.isalnum() would let "ã" through).
TEAM_CODE = re.compile(r"[a-z0-9_-]{1,30}")


def _choice(errors: dict, name: str, value: str, choices, blank: bool = True) -> str:
    value = value or ""
    if (value or not blank) and value not in choices:
        errors[name] = _("Choose a valid option.")
    return value


def team_save(*, actor: User, team: Team | None = None, code: str, name: str, assign_mode: str,
              lead_id: int | None = None, is_active: bool = True, member_ids: list[int] | None = None) -> Team:
    """Create or change a team; `member_ids` (memberships) replaces its members when given."""
    require_perm(actor, DESK_PERM)
    errors: dict[str, str] = {}
    code, name = (code or "").strip().lower(), (name or "").strip()
    if not TEAM_CODE.fullmatch(code):
        errors["code"] = _("Use letters, digits, - and _ (at most 30).")
    if not name or len(name) > 80:
        errors["name"] = _("Give the team a name (at most 80 characters).")
    _choice(errors, "assign_mode", assign_mode, AssignMode.values, blank=False)
    lead = Membership.objects.filter(pk=lead_id, is_active=True).first() if lead_id else None
    if lead_id and lead is None:
        errors["lead"] = _("Not found.")
    members = []
    if member_ids is not None:
        members = list(Membership.objects.filter(pk__in=member_ids, is_active=True))
        if len(members) != len(set(member_ids)):
            errors["members"] = _("Some of these people are not active members.")
    if errors:
        raise ValidationError(errors)
    team = team or Team()
    team.code, team.name, team.assign_mode, team.lead, team.is_active = code, name, assign_mode, lead, is_active
    try:
        with transaction.atomic():
            team.save()
            if member_ids is not None:
                TeamMember.objects.filter(team=team).exclude(membership__in=members).delete()
                have = set(TeamMember.objects.filter(team=team).values_list("membership_id", flat=True))
                TeamMember.objects.bulk_create([TeamMember(team=team, membership=m) for m in members
                                                if m.pk not in have])
    except IntegrityError as exc:
        raise ValidationError({"code": _("Another team has this code.")}) from exc
    return team


def routing_rule_save(*, actor: User, rule: RoutingRule | None = None, name: str, team_id: int, position: int = 100,
                      category: str = "", priority: str = "", branch_id: int | None = None,
                      customer_class: str = "", is_active: bool = True) -> RoutingRule:
    require_perm(actor, DESK_PERM)
    from tenancy.models import Branch

    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name or len(name) > 80:
        errors["name"] = _("Give the rule a name (at most 80 characters).")
    _choice(errors, "category", category, TicketCategory.values)
    _choice(errors, "priority", priority, TicketPriority.values)
    _choice(errors, "customer_class", customer_class, CustomerClass.values)
    team = Team.objects.filter(pk=team_id).first() if team_id else None
    if team is None:
        errors["team"] = _("Choose a team.")
    branch = Branch.objects.filter(pk=branch_id).first() if branch_id else None
    if branch_id and branch is None:
        errors["branch"] = _("Not found.")
    if position is None or not 0 <= int(position) <= 100_000:
        errors["position"] = _("Enter a number from 0 to 100000.")
    if errors:
        raise ValidationError(errors)
    rule = rule or RoutingRule()
    rule.name, rule.team, rule.position, rule.category, rule.priority = name, team, int(position), category, priority
    rule.branch, rule.customer_class, rule.is_active = branch, customer_class, is_active
    rule.save()
    return rule


def routing_rule_delete(*, actor: User, rule: RoutingRule) -> None:
    require_perm(actor, DESK_PERM)
    rule.delete()


def macro_save(*, actor: User, macro: Macro | None = None, name: str, body: str, action: str = MacroAction.REPLY,
               stage: str = ReplyStage.PROGRESS, set_status: str = "", set_category: str = "",
               set_priority: str = "", team_id: int | None = None, is_active: bool = True) -> Macro:
    require_perm(actor, DESK_PERM)
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name or len(name) > 80:
        errors["name"] = _("Give the macro a name (at most 80 characters).")
    try:
        body = macro_check_body(body)
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    _choice(errors, "action", action, MacroAction.values, blank=False)
    _choice(errors, "stage", stage, ReplyStage.values, blank=False)
    _choice(errors, "set_status", set_status, TicketStatus.values)
    _choice(errors, "set_category", set_category, TicketCategory.values)
    _choice(errors, "set_priority", set_priority, TicketPriority.values)
    team = Team.objects.filter(pk=team_id).first() if team_id else None
    if team_id and team is None:
        errors["team"] = _("Not found.")
    if errors:
        raise ValidationError(errors)
    macro = macro or Macro(created_by=actor)
    macro.name, macro.body, macro.action, macro.stage = name, body, action, stage
    macro.set_status, macro.set_category, macro.set_priority = set_status, set_category, set_priority
    macro.team, macro.is_active = team, is_active
    try:
        with transaction.atomic():
            macro.save()
    except IntegrityError as exc:
        raise ValidationError({"name": _("Another macro has this name.")}) from exc
    return macro


def macro_delete(*, actor: User, macro: Macro) -> None:
    require_perm(actor, DESK_PERM)
    macro.delete()


def away_set(*, membership: Membership, away: bool) -> Membership:
    """An agent marks themselves away (or back); automatic assignment skips people away."""
    Membership.objects.filter(pk=membership.pk).update(is_away=away)
    membership.is_away = away
    return membership
