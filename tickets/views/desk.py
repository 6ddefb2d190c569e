"""Setting up the service desk (tenant admins): teams and members, routing rules, macros."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenancy.forms import apply_service_errors
from tenancy.models import Branch, Membership
from tenancy.views import perm_required

from ..forms.console import MacroForm, RoutingRuleForm, TeamForm
from ..models import Macro, RoutingRule, Team
from ..selectors import queues
from ..services import desk

PERM = "tickets.manage_service_desk"


def _members():
    return list(Membership.objects.filter(is_active=True).select_related("user").order_by("user__display_name"))


@perm_required(PERM)
def desk_home(request):
    return render(request, "tickets/desk/home.html", {
        "teams": queues.teams_with_members(),
        "rules": list(RoutingRule.objects.select_related("team", "branch").order_by("position", "id")),
        "macros": list(Macro.objects.select_related("team").order_by("name")),
    })


def _edit(request, *, form, save, template, obj, title, done):
    if request.method == "POST" and form.is_valid():
        try:
            save(form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect("tickets:desk")
    return render(request, template, {"form": form, "obj": obj, "title": title},
                  status=400 if request.method == "POST" else 200)


@perm_required(PERM)
def team_edit(request, pk: int | None = None):
    team = get_object_or_404(Team, pk=pk) if pk else None
    initial = {"code": team.code, "name": team.name, "assign_mode": team.assign_mode, "lead_id": team.lead_id,
               "is_active": team.is_active, "member_ids": [m.membership_id for m in team.members.all()]} if team else {}
    form = TeamForm(request.POST or None, members=_members(), initial=initial)
    return _edit(request, form=form, obj=team, template="tickets/desk/edit.html",
                 title=team.name if team else _("New team"), done=_("Team saved."),
                 save=lambda d: desk.team_save(actor=request.user, team=team, **d))


@perm_required(PERM)
def rule_edit(request, pk: int | None = None):
    rule = get_object_or_404(RoutingRule, pk=pk) if pk else None
    initial = {"position": rule.position, "name": rule.name, "category": rule.category, "priority": rule.priority,
               "branch_id": rule.branch_id, "customer_class": rule.customer_class, "team_id": rule.team_id,
               "is_active": rule.is_active} if rule else {}
    form = RoutingRuleForm(request.POST or None, teams=Team.objects.order_by("name"),
                           branches=Branch.objects.order_by("path"), initial=initial)
    return _edit(request, form=form, obj=rule, template="tickets/desk/edit.html",
                 title=rule.name if rule else _("New routing rule"), done=_("Routing rule saved."),
                 save=lambda d: desk.routing_rule_save(actor=request.user, rule=rule, **d))


@perm_required(PERM)
def macro_edit(request, pk: int | None = None):
    macro = get_object_or_404(Macro, pk=pk) if pk else None
    initial = {"name": macro.name, "action": macro.action, "stage": macro.stage, "body": macro.body,
               "set_status": macro.set_status, "set_category": macro.set_category,
               "set_priority": macro.set_priority, "team_id": macro.team_id,
               "is_active": macro.is_active} if macro else {}
    form = MacroForm(request.POST or None, teams=Team.objects.order_by("name"), initial=initial)
    return _edit(request, form=form, obj=macro, template="tickets/desk/edit.html",
                 title=macro.name if macro else _("New macro"), done=_("Macro saved."),
                 save=lambda d: desk.macro_save(actor=request.user, macro=macro, **d))


@require_POST
@perm_required(PERM)
def rule_delete(request, pk: int):
    desk.routing_rule_delete(actor=request.user, rule=get_object_or_404(RoutingRule, pk=pk))
    messages.success(request, _("Routing rule deleted."))
    return redirect("tickets:desk")


@require_POST
@perm_required(PERM)
def macro_delete(request, pk: int):
    desk.macro_delete(actor=request.user, macro=get_object_or_404(Macro, pk=pk))
    messages.success(request, _("Macro deleted."))
    return redirect("tickets:desk")


urlpatterns = [
    path("desk/", desk_home, name="desk"),
    path("desk/teams/new/", team_edit, name="team_new"),
    path("desk/teams/<int:pk>/", team_edit, name="team_edit"),
    path("desk/rules/new/", rule_edit, name="rule_new"),
    path("desk/rules/<int:pk>/", rule_edit, name="rule_edit"),
    path("desk/rules/<int:pk>/delete/", rule_delete, name="rule_delete"),
    path("desk/macros/new/", macro_edit, name="macro_new"),
    path("desk/macros/<int:pk>/", macro_edit, name="macro_edit"),
    path("desk/macros/<int:pk>/delete/", macro_delete, name="macro_delete"),
]
