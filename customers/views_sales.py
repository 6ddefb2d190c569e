"""HTML pages of the sales flow: the sales manager's workspace, leads inbox and lead page, the
pipeline board (htmx drag between stages), opportunities (quote, win, lose), follow-ups, sales
teams, and the public lead form of each company."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenancy.forms import apply_service_errors
from tenancy.models import Role, Tenant
from tenancy.scoping import tenant_scope
from tenancy.throttling import rate_exceeded
from tenancy.views import client_ip, perm_required

from . import regions, selectors, services
from .forms import (
    ActivityForm,
    LaneForm,
    LeadAssignForm,
    LeadForm,
    LoseForm,
    OpportunityForm,
    PublicLeadForm,
    QualifyForm,
    ReasonForm,
    SalesTeamForm,
    WinForm,
)
from .models import Activity, LeadSource, LeadStatus, OpportunityStage, QuoteLine, SalesTeam
from .services.sales import can_change, lead_validate

PAGE_SIZE = 50


# --- workspace ---------------------------------------------------------------------------------

@perm_required("customers.view_lead")
def workspace(request):
    """The sales manager's day: follow-ups due, new leads, pipeline, accounts' volume trend,
    contracts about to expire."""
    membership = request.membership
    accounts = selectors.my_accounts_with_trend(owner_id=membership.pk)
    charts = {str(row["account"].pk): row["points"] for row in accounts}
    return render(request, "customers/workspace.html", {
        "due": selectors.followups_due(membership=membership),
        "new_leads": list(selectors.lead_list(actor=request.user, owner_id=membership.pk, open_only=True)[:10]),
        "unassigned": (list(selectors.lead_list(actor=request.user, unassigned=True, open_only=True)[:10])
                       if request.user.has_perm("customers.assign_lead") else []),
        "board": selectors.pipeline_board(actor=request.user, owner_id=membership.pk),
        "accounts": accounts, "charts": charts,
        "expiring": list(selectors.contracts_expiring(owner_id=membership.pk)[:20]),
        "today": timezone.localdate(),
    })


# --- leads -------------------------------------------------------------------------------------

@perm_required("customers.view_lead")
def lead_list(request):
    status = request.GET.get("status", "")
    mine = request.GET.get("mine", "1" if request.membership.role == Role.SALES_MANAGER else "")
    qs = selectors.lead_list(
        actor=request.user, status=status if status in LeadStatus.values else "",
        owner_id=request.membership.pk if mine == "1" else None, search=request.GET.get("q", ""),
        unassigned=request.GET.get("unassigned") == "1", open_only=request.GET.get("open") == "1")
    after = request.GET.get("after", "")
    if after.isdecimal():
        qs = qs.filter(pk__lt=int(after))
    rows = list(qs[:PAGE_SIZE + 1])
    query = request.GET.copy()
    query.pop("after", None)
    return render(request, "customers/lead_list.html", {
        "rows": rows[:PAGE_SIZE], "has_next": len(rows) > PAGE_SIZE,
        "next_after": rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None, "query": query.urlencode(),
        "statuses": LeadStatus.choices, "status": status, "mine": mine, "q": request.GET.get("q", ""),
    })


@perm_required("customers.add_lead")
def lead_create(request):
    form = LeadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.lead_create(actor=request.user, source=LeadSource.MANUAL, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if lead.owner_id:
                messages.success(request, _("Lead saved and assigned to %(name)s.") % {
                    "name": lead.owner.user.display_name})
            else:
                messages.warning(request, _("Lead saved. No sales team matches it: an administrator assigns it."))
            if selectors.lead_list(actor=request.user).filter(pk=lead.pk).exists():
                return redirect("customers:lead_detail", lead.pk)
            return redirect("customers:leads")
    return render(request, "customers/lead_form.html", {
        "form": form, "city_options": regions.city_names(form["province"].value() or "")})


@perm_required("customers.view_lead")
def lead_detail(request, pk: int):
    lead = selectors.lead_get(actor=request.user, pk=pk)
    editable = can_change(request.user, lead)
    forms = {"activity": ActivityForm(prefix="act"), "assign": LeadAssignForm(prefix="assign"),
             "disqualify": ReasonForm(prefix="dq"), "qualify": QualifyForm(prefix="q")}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            response = _lead_action(request, lead, action, forms)
        except ValidationError as exc:
            target = {"assign": "assign", "disqualify": "disqualify", "qualify": "qualify"}.get(action, "activity")
            apply_service_errors(forms[target], exc)
            response = None
        if response is not None:
            return response
        status = 400
    opportunity = getattr(lead, "opportunity", None) if lead.status == LeadStatus.QUALIFIED else None
    return render(request, "customers/lead_detail.html", {
        "lead": lead, "editable": editable, "forms": forms, "opportunity": opportunity,
        "activities": selectors.activity_list(lead=lead)[:50],
        "can_assign": request.user.has_perm("customers.assign_lead"),
    }, status=status)


def _lead_action(request, lead, action, forms):
    if action == "activity":
        forms["activity"] = form = ActivityForm(request.POST, prefix="act")
        if form.is_valid():
            services.activity_log(actor=request.user, lead=lead, **form.cleaned_data)
            messages.success(request, _("Follow-up recorded."))
            return redirect("customers:lead_detail", lead.pk)
    elif action == "assign":
        forms["assign"] = form = LeadAssignForm(request.POST, prefix="assign")
        if form.is_valid():
            if not request.user.has_perm("customers.assign_lead"):
                raise PermissionDenied
            lead = services.lead_assign(actor=request.user, lead=lead, owner=form.cleaned_data["owner"],
                                        reason=form.cleaned_data["reason"])
            messages.success(request, _("Lead assigned to %(name)s.") % {
                "name": lead.owner.user.display_name if lead.owner else _("nobody (no team matches)")})
            if selectors.lead_list(actor=request.user).filter(pk=lead.pk).exists():
                return redirect("customers:lead_detail", lead.pk)
            return redirect("customers:leads")
    elif action == "disqualify":
        forms["disqualify"] = form = ReasonForm(request.POST, prefix="dq")
        if form.is_valid():
            services.lead_disqualify(actor=request.user, lead=lead, reason=form.cleaned_data["reason"])
            messages.success(request, _("Lead disqualified."))
            return redirect("customers:lead_detail", lead.pk)
    elif action == "qualify":
        forms["qualify"] = form = QualifyForm(request.POST, prefix="q")
        if form.is_valid():
            data = form.cleaned_data
            opportunity = services.lead_qualify(
                actor=request.user, lead=lead, name=data["name"],
                expected_monthly_revenue=data["expected_monthly_revenue"] or 0,
                expected_close_date=data["expected_close_date"])
            messages.success(request, _("Opportunity created: add the quoted prices."))
            return redirect("customers:opportunity_detail", opportunity.pk)
    else:
        raise Http404
    return None


# --- pipeline and opportunities ----------------------------------------------------------------

@perm_required("customers.view_opportunity")
def pipeline(request):
    mine = request.GET.get("mine", "1" if request.membership.role == Role.SALES_MANAGER else "")
    board = selectors.pipeline_board(actor=request.user, owner_id=request.membership.pk if mine == "1" else None)
    template = "customers/_pipeline_board.html" if request.htmx else "customers/pipeline.html"
    return render(request, template, {"board": board, "mine": mine})


@perm_required("customers.change_opportunity")
@require_POST
def opportunity_move(request, pk: int):
    """The board's drop target (htmx): move a card to another open stage. Won / lost answer with
    a redirect to the deal's page, where the contract terms or the reason are entered."""
    opportunity = selectors.opportunity_get(actor=request.user, pk=pk)
    stage = request.POST.get("stage", "")
    if stage in (OpportunityStage.WON, OpportunityStage.LOST):
        url = reverse("customers:opportunity_detail", args=[pk]) + f"?close={stage}"
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    try:
        services.opportunity_move(actor=request.user, opportunity=opportunity, stage=stage)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    mine = request.POST.get("mine", "")
    board = selectors.pipeline_board(actor=request.user, owner_id=request.membership.pk if mine == "1" else None)
    response = render(request, "customers/_pipeline_board.html", {"board": board, "mine": mine, "flash": True})
    return response


@perm_required("customers.add_opportunity")
def opportunity_create(request, pk: int):
    customer = selectors.customer_get(pk=pk)
    form = OpportunityForm(request.POST or None, initial={"name": customer.name})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            opportunity = services.opportunity_create(
                actor=request.user, customer=customer, name=data["name"] or customer.name,
                expected_monthly_parcels=data["expected_monthly_parcels"] or 0,
                expected_monthly_revenue=data["expected_monthly_revenue"] or 0,
                expected_close_date=data["expected_close_date"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return redirect("customers:opportunity_detail", opportunity.pk)
    return render(request, "customers/opportunity_form.html", {"form": form, "customer": customer})


@perm_required("customers.view_opportunity")
def opportunity_detail(request, pk: int):
    opportunity = selectors.opportunity_get(actor=request.user, pk=pk)
    editable = can_change(request.user, opportunity)
    new_account = opportunity.customer_id is None
    forms = {"activity": ActivityForm(prefix="act"), "lane": LaneForm(prefix="lane"),
             "win": WinForm(prefix="win", new_account=new_account), "lose": LoseForm(prefix="lose")}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            response = _opportunity_action(request, opportunity, action, forms, new_account)
        except ValidationError as exc:
            apply_service_errors(forms.get(action, forms["activity"]), exc)
            response = None
        if response is not None:
            return response
        status = 400
    return render(request, "customers/opportunity_detail.html", {
        "opp": opportunity, "editable": editable, "forms": forms, "close": request.GET.get("close", ""),
        "activities": selectors.activity_list(opportunity=opportunity)[:50],
        "stages": [s for s in OpportunityStage.choices if s[0] not in ("won", "lost")],
    }, status=status)


def _opportunity_action(request, opportunity, action, forms, new_account):
    if action == "activity":
        forms["activity"] = form = ActivityForm(request.POST, prefix="act")
        if form.is_valid():
            services.activity_log(actor=request.user, opportunity=opportunity, **form.cleaned_data)
            messages.success(request, _("Follow-up recorded."))
            return redirect("customers:opportunity_detail", opportunity.pk)
    elif action == "lane":
        forms["lane"] = form = LaneForm(request.POST, prefix="lane")
        if form.is_valid():
            services.quote_line_add(actor=request.user, opportunity=opportunity, **form.cleaned_data)
            messages.success(request, _("Price added to the quote."))
            return redirect("customers:opportunity_detail", opportunity.pk)
    elif action == "remove_lane":
        line = get_object_or_404(QuoteLine.objects.filter(opportunity=opportunity),
                                 pk=int(request.POST.get("line", "0") or 0) if request.POST.get(
                                     "line", "").isdecimal() else 0)
        services.quote_line_remove(actor=request.user, line=line)
        return redirect("customers:opportunity_detail", opportunity.pk)
    elif action == "move":
        services.opportunity_move(actor=request.user, opportunity=opportunity, stage=request.POST.get("stage", ""))
        messages.success(request, _("Stage changed."))
        return redirect("customers:opportunity_detail", opportunity.pk)
    elif action == "win":
        forms["win"] = form = WinForm(request.POST, prefix="win", new_account=new_account)
        if form.is_valid():
            opportunity = services.opportunity_win(actor=request.user, opportunity=opportunity, **form.cleaned_data)
            messages.success(request, _("Deal won: account %(number)s and contract %(contract)s are in place.") % {
                "number": opportunity.customer.number, "contract": opportunity.contract.number})
            return redirect("customers:detail", opportunity.customer_id)
    elif action == "lose":
        forms["lose"] = form = LoseForm(request.POST, prefix="lose")
        if form.is_valid():
            services.opportunity_lose(actor=request.user, opportunity=opportunity, **form.cleaned_data)
            messages.success(request, _("Deal marked as lost."))
            return redirect("customers:opportunity_detail", opportunity.pk)
    else:
        raise Http404
    return None


@perm_required("customers.view_lead")
@require_POST
def activity_done(request, pk: int):
    activity = get_object_or_404(Activity.objects.all(), pk=pk)
    try:
        services.activity_complete(actor=request.user, activity=activity)
    except PermissionDenied as exc:
        raise Http404 from exc
    if request.htmx:
        return HttpResponse(format_html('<span class="badge text-bg-success">{}</span>', _("Done")))
    messages.success(request, _("Marked as done."))
    target = request.POST.get("next", "")
    return redirect(target if target.startswith("/") and not target.startswith("//") else "customers:workspace")


# --- sales teams -------------------------------------------------------------------------------

@perm_required("customers.view_lead")
def team_list(request):
    return render(request, "customers/team_list.html", {
        "teams": selectors.sales_team_list(), "can_manage": request.user.has_perm("customers.manage_sales_teams")})


@perm_required("customers.manage_sales_teams")
def team_edit(request, pk: int | None = None):
    team = get_object_or_404(SalesTeam.objects.all(), pk=pk) if pk else None
    initial = {}
    if team:
        initial = {"name": team.name, "provinces": team.provinces, "industries": team.industries,
                   "priority": team.priority, "leader": team.leader, "is_active": team.is_active,
                   "members": [tm.membership for tm in team.team_members.select_related("membership")]}
    form = SalesTeamForm(request.POST or None, initial=initial or {"is_active": True, "priority": 100})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        args = {"name": data["name"], "provinces": data["provinces"], "industries": data["industries"],
                "priority": data["priority"], "leader": data["leader"], "members": list(data["members"])}
        try:
            if team:
                services.sales_team_update(actor=request.user, team=team, is_active=data["is_active"], **args)
            else:
                services.sales_team_create(actor=request.user, **args)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Team saved."))
            return redirect("customers:teams")
    return render(request, "customers/team_form.html", {"form": form, "team": team})


# --- the public lead form ----------------------------------------------------------------------

def _all_lead_errors(form, tenant) -> None:
    """When the form itself is invalid (e.g. consent not ticked), still show the field checks of
    the service, so the visitor fixes everything in one round."""
    fields = ("company_name", "contact_name", "phone", "email", "province", "city", "industry",
              "estimated_monthly_parcels", "message")
    try:
        with tenant_scope(tenant):
            lead_validate(**{name: form.data.get(name, "") for name in fields})
    except ValidationError as exc:
        for name, errors in exc.message_dict.items():
            if name in form.fields and name not in form.errors:
                form.add_error(name, errors)


def public_lead_form(request, tenant_code: str):
    """A company's public "ship with us" form: no login; throttled per IP; a hidden honeypot
    field catches bots. Runs in that company's tenant scope explicitly."""
    tenant = get_object_or_404(Tenant.objects.filter(is_active=True), code=tenant_code)
    form = PublicLeadForm(request.POST or None)
    done = False
    if request.method == "POST":
        if rate_exceeded("public_lead", client_ip(request) or "unknown"):
            form.is_valid()
            form.add_error(None, _("Too many requests from your network. Please try again in a few minutes."))
        elif not form.is_valid():
            _all_lead_errors(form, tenant)
        else:
            data = dict(form.cleaned_data)
            honeypot = data.pop("website", "")
            data.pop("consent", None)
            if honeypot:
                done = True  # answer like a success; store nothing
            else:
                try:
                    with tenant_scope(tenant):
                        services.lead_create(actor=None, source=LeadSource.WEB_FORM, **data)
                except ValidationError as exc:
                    apply_service_errors(form, exc)
                else:
                    done = True
    return render(request, "customers/public_lead_form.html", {
        "tenant": tenant, "form": form, "done": done,
        "city_options": regions.city_names(form["province"].value() or "") if not done else [],
    }, status=400 if request.method == "POST" and not done else 200)


