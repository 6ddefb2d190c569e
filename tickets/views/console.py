"""The agent console: queues sorted by SLA time left with live counts, the phone-call flow
(lookup → customer, recent waybills and tickets → new ticket), marking oneself away, and the
public web form of a company. Thin: parse → service/selector → render."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers.selectors import customer_lookup
from shipments.selectors import customer_recent_waybills, waybill_search
from tenancy.forms import apply_service_errors
from tenancy.models import Tenant
from tenancy.normalize import normalize_phone
from tenancy.scoping import tenant_scope
from tenancy.throttling import rate_exceeded
from tenancy.views import client_ip, perm_required

from .. import rules
from ..forms.console import LookupForm, PublicTicketForm, TicketCreateForm
from ..models import TicketChannel
from ..selectors import queues
from ..services import desk, intake

QUEUE_PAGE = 50


def _queue_context(request, view: str) -> dict:
    membership = request.membership
    team_ids = queues.team_ids_of(membership)
    try:
        page = max(1, int(request.GET.get("page", 1)))
    except ValueError:
        page = 1
    rows = queues.queue_rows(membership=membership, view=view, limit=QUEUE_PAGE + 1, offset=(page - 1) * QUEUE_PAGE,
                             team_ids=team_ids)
    return {"view": view, "rows": rows[:QUEUE_PAGE], "has_next": len(rows) > QUEUE_PAGE, "page": page,
            "counts": queues.queue_counts(membership=membership, team_ids=team_ids), "now": timezone.now(),
            "amber": rules.SLA_AMBER_PERCENT.value(), "has_team": bool(team_ids)}


@perm_required("tickets.view_ticket")
def console(request):
    view = request.GET.get("view", "mine")
    if view not in queues.QUEUE_VIEWS:
        view = "mine"
    context = _queue_context(request, view)
    template = "tickets/console/_queue.html" if request.headers.get("HX-Request") else "tickets/console/queue.html"
    return render(request, template, context)


@perm_required("tickets.view_ticket")
def console_counts(request):
    """htmx (polled): the numbers on the queue tabs."""
    return render(request, "tickets/console/_counts.html", {
        "counts": queues.queue_counts(membership=request.membership), "view": request.GET.get("view", "mine")})


@perm_required("tickets.add_ticket")
def call(request):
    """The phone-call flow: type what the caller says (number, waybill, name) → candidates with
    their recent waybills and tickets → new ticket for one of them or for an unknown caller."""
    form = LookupForm(request.GET or None)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    found, waybills, phone = [], [], ""
    if query:
        found = customer_lookup(query, limit=8)
        waybills = list(waybill_search(q=query)[:5])
        try:
            phone = normalize_phone(query)
        except ValidationError:
            phone = ""
    cards = [{"customer": c, "waybills": customer_recent_waybills(customer_id=c.pk, limit=5),
              "tickets": queues.customer_recent_tickets(customer_id=c.pk, limit=5)} for c in found[:5]]
    template = "tickets/console/_lookup.html" if request.headers.get("HX-Request") else "tickets/console/call.html"
    return render(request, template, {"form": form, "query": query, "cards": cards, "waybills": waybills,
                                      "phone": phone})


@perm_required("tickets.add_ticket")
def ticket_new(request):
    initial = {k: request.GET[k] for k in ("customer_id", "caller_phone", "waybill_number", "category")
               if request.GET.get(k)}
    form = TicketCreateForm(request.POST or None, initial=initial)
    customer = None
    customer_id = (form.data.get("customer_id") if form.is_bound else initial.get("customer_id")) or ""
    if str(customer_id).isdecimal():
        from customers.models import Customer

        customer = Customer.objects.filter(pk=int(customer_id)).first()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        draft = intake.TicketDraft(
            channel=data["channel"], category=data["category"], priority=data["priority"], subject=data["subject"],
            description=data["description"], customer_id=data["customer_id"], caller_phone=data["caller_phone"],
            caller_name=data["caller_name"], waybill_number=data["waybill_number"], tags=data["tags"])
        try:
            ticket = intake.ticket_create(actor=request.user, draft=draft)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Ticket %(number)s opened.") % {"number": ticket.number})
            return redirect("tickets:detail", ticket.pk)
    return render(request, "tickets/console/new.html", {"form": form, "customer": customer},
                  status=400 if request.method == "POST" else 200)


@require_POST
@perm_required("tickets.view_ticket")
def away_toggle(request):
    membership = desk.away_set(membership=request.membership, away=request.POST.get("away") == "1")
    messages.info(request, _("You are marked away: no new tickets are assigned to you automatically.")
                  if membership.is_away else _("Welcome back: new tickets are assigned to you again."))
    return redirect(request.POST.get("next") or "tickets:console")


def public_ticket_form(request, tenant_code: str):
    """A company's public "contact customer service" form: no login; throttled per IP; a hidden
    honeypot catches bots. Runs in that company's tenant scope explicitly."""
    tenant = get_object_or_404(Tenant.objects.filter(is_active=True), code=tenant_code)
    with tenant_scope(tenant):
        enabled = rules.PUBLIC_FORM_ENABLED.value()
    if not enabled:
        return render(request, "tickets/public_form.html", {"tenant": tenant, "closed": True}, status=404)
    form = PublicTicketForm(request.POST or None)
    ticket = None
    if request.method == "POST":
        if rate_exceeded("public_ticket", client_ip(request) or "unknown"):
            form.is_valid()
            form.add_error(None, _("Too many requests from your network. Please try again in a few minutes."))
        elif form.is_valid():
            data = form.cleaned_data
            if data["website"]:
                return render(request, "tickets/public_form.html", {"tenant": tenant, "done": True})
            draft = intake.TicketDraft(
                channel=TicketChannel.WEB, category=data["category"],
                subject=data["description"].strip().splitlines()[0][:80] if data["description"].strip() else "",
                description=data["description"], caller_name=data["name"], caller_phone=data["phone"],
                caller_email=data["email"], waybill_number=data["waybill_number"])
            try:
                with tenant_scope(tenant):
                    match = customer_lookup(data["phone"], limit=2) if data["phone"] else []
                    draft.customer_id = match[0].pk if len(match) == 1 else None
                    ticket = intake.ticket_create(actor=None, draft=draft)
            except ValidationError as exc:
                apply_service_errors(form, exc)
    return render(request, "tickets/public_form.html", {
        "tenant": tenant, "form": form, "done": ticket is not None, "ticket": ticket,
    }, status=400 if request.method == "POST" and ticket is None else 200)


urlpatterns = [
    path("console/", console, name="console"),
    path("console/counts/", console_counts, name="console_counts"),
    path("console/call/", call, name="call"),
    path("console/new/", ticket_new, name="new"),
    path("console/away/", away_toggle, name="away"),
]

public_urlpatterns = [
    path("p/<slug:tenant_code>/support/", public_ticket_form, name="ticket_form"),
]
