"""The ticket page: timeline (with merged tickets'), reply box with macros and knowledge-base
suggestions, details, assignment, status, merge, split, attachments, and the customer 360 side
panel. Every action is a POST with `action=<name>`; an error re-renders the page with what was
typed kept (status 400). Thin: parse → service → redirect."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _

from shipments.selectors import customer_recent_waybills, waybill_timeline
from tenancy.forms import apply_service_errors
from tenancy.models import Membership
from tenancy.views import perm_required

from ..forms.console import AttachmentForm, DetailsForm, MergeForm, ReplyForm, SplitForm
from ..forms.exceptions import TicketAssignForm, TicketStatusForm
from ..models import Macro, Team, TicketStatus
from ..selectors import exceptions as ticket_reads
from ..selectors import queues
from ..selectors.claims import claims_of_ticket
from ..services import conversation, core, intake, merge

MAX_UPLOAD_READ = 60 * 1024 * 1024


def _forms(request, ticket, *, members, allowed, teams, candidates, data=None, action=""):
    def bound(name):
        return data if action == name else None

    return {
        "reply": ReplyForm(bound("reply"), prefix="reply"),
        "details": DetailsForm(bound("details"), teams=teams, prefix="details", initial={
            "category": ticket.category, "priority": ticket.priority, "team": ticket.team_id or 0,
            "tags": ", ".join(ticket.tags), "waybill_number": ticket.waybill.number if ticket.waybill_id else ""}),
        "assign": TicketAssignForm(bound("assign"), choices=members, prefix="assign"),
        "status": TicketStatusForm(bound("status"), allowed=allowed, prefix="status"),
        "merge": MergeForm(bound("merge"), candidates=candidates, prefix="merge"),
        "split": SplitForm(bound("split"), prefix="split"),
        "attach": AttachmentForm(bound("attach"), request.FILES if action == "attach" else None, prefix="attach"),
    }


@perm_required("tickets.view_ticket")
def ticket_page(request, pk: int):
    membership = request.membership
    ticket = ticket_reads.ticket_get(membership=membership, pk=pk)
    may_change = request.user.has_perm("tickets.change_ticket")
    allowed = [s for s in TicketStatus.values if s in core.ALLOWED_TRANSITIONS.get(ticket.status, ())]
    members = queues.assignable_for(ticket=ticket) if may_change and ticket.is_open else []
    teams = list(Team.objects.filter(is_active=True).order_by("name")) if may_change else []
    candidates = (queues.merge_candidates(ticket=ticket, membership=membership)
                  if request.user.has_perm("tickets.merge_ticket") and ticket.is_open and not ticket.merged_into_id
                  else [])
    action = request.POST.get("action", "") if request.method == "POST" else ""
    forms = _forms(request, ticket, members=members, allowed=allowed, teams=teams, candidates=candidates,
                   data=request.POST if request.method == "POST" else None, action=action)
    status = 200
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied
        if action not in forms:
            raise Http404
        response = _act(request, ticket, action, forms[action])
        if response is not None:
            return response
        status = 400
    merged = queues.merged_ticket_ids(ticket)
    customer = ticket.customer
    return render(request, "tickets/ticket_page.html", {
        "ticket": ticket, "forms": forms, "action": action,
        "events": queues.ticket_full_timeline(ticket=ticket, merged=merged),
        "attachments": queues.ticket_attachments(ticket=ticket, merged=merged),
        "merged": merged,
        "waybill_events": waybill_timeline(waybill_id=ticket.waybill_id) if ticket.waybill_id else None,
        "customer": customer,
        "customer_waybills": customer_recent_waybills(customer_id=customer.pk, limit=5) if customer else [],
        "customer_tickets": queues.customer_recent_tickets(customer_id=customer.pk, limit=5, exclude_id=ticket.pk)
        if customer else [],
        "macros": queues.macros_for(membership=membership) if may_change else [],
        "can_change": may_change and ticket.is_open and not ticket.merged_into_id,
        "can_status": may_change and bool(allowed) and not ticket.merged_into_id,
        "candidates": candidates,
        "sla": ticket_reads.sla_of(ticket, now=timezone.now()) if ticket.is_open else None,
        "claims": claims_of_ticket(ticket_id=ticket.pk) if request.user.has_perm("tickets.view_claim") else None,
    }, status=status)


def _act(request, ticket, action, form):
    if not form.is_valid():
        return None
    data = form.cleaned_data
    user = request.user
    try:
        if action == "reply":
            macro = Macro.objects.filter(pk=data.get("macro_id")).first() if data.get("macro_id") else None
            if macro is not None:
                # The macro decides reply or note and what it sets; the agent's edits of its text stand.
                conversation.macro_apply(actor=user, ticket=ticket, macro=macro, body=data["body"])
                messages.success(request, _("Macro “%(name)s” applied.") % {"name": macro.name})
            elif data["kind"] == "note":
                conversation.ticket_note(actor=user, ticket=ticket, body=data["body"])
                messages.success(request, _("Internal note added."))
            else:
                conversation.ticket_reply(actor=user, ticket=ticket, body=data["body"], stage=data["stage"],
                                          then_status=data["then_status"], kb_article_ids=data["kb_articles"])
                messages.success(request, _("Reply sent to the customer."))
        elif action == "details":
            intake.ticket_update(actor=user, ticket=ticket, category=data["category"], priority=data["priority"],
                                 team_id=data["team"] or None, tags=data["tags"],
                                 waybill_number=data["waybill_number"], reason=data["reason"])
            messages.success(request, _("Details saved."))
        elif action == "assign":
            # the form only accepts one of `members`, the people in reach
            assignee = Membership.objects.select_related("user").get(pk=data["assignee"])
            core.ticket_assign(actor=user, ticket=ticket, assignee=assignee, note=data["note"])
            messages.success(request, _("Ticket assigned to %(name)s.") % {"name": assignee.user.display_name})
        elif action == "status":
            ticket = core.ticket_transition(actor=user, ticket=ticket, to_status=data["status"], note=data["note"])
            messages.success(request, _("Status changed to “%(status)s”.") % {
                "status": TicketStatus(ticket.status).label})
        elif action == "merge":
            duplicates = list(ticket_reads.ticket_list(membership=request.membership)
                              .filter(pk__in=data["duplicates"]))
            merge.tickets_merge(actor=user, target=ticket, duplicates=duplicates, reason=data["reason"])
            messages.success(request, _("%(n)d ticket(s) merged into this one.") % {"n": len(duplicates)})
        elif action == "split":
            new = merge.ticket_split(actor=user, ticket=ticket, subject=data["subject"],
                                     description=data["description"], category=data["category"])
            messages.success(request, _("New ticket %(number)s opened.") % {"number": new.number})
            return redirect("tickets:detail", new.pk)
        elif action == "attach":
            upload = data["file"]
            conversation.attachment_add(actor=user, ticket=ticket, name=upload.name,
                                        content=upload.read(MAX_UPLOAD_READ))
            messages.success(request, _("File attached."))
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return None
    return redirect("tickets:detail", ticket.pk)


@perm_required("tickets.view_ticketattachment")
def attachment_download(request, pk: int):
    attachment = queues.attachment_get(membership=request.membership, pk=pk)
    handle = conversation.attachment_open(actor=request.user, attachment=attachment)
    response = FileResponse(handle, content_type=attachment.content_type, as_attachment=True,
                            filename=attachment.name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@perm_required("tickets.change_ticket")
def macro_render(request, pk: int):
    """htmx: a macro's text for the ticket, to drop into the reply box (the agent may edit it)."""
    ticket = ticket_reads.ticket_get(membership=request.membership, pk=pk)
    macro = get_object_or_404(Macro.objects.filter(is_active=True), pk=request.GET.get("macro") or 0)
    return HttpResponse(conversation.macro_render(macro=macro, ticket=ticket, actor=request.user),
                        content_type="text/plain; charset=utf-8")


@perm_required("tickets.view_ticket")
def ticket_timeline_fragment(request, pk: int):
    ticket = ticket_reads.ticket_get(membership=request.membership, pk=pk)
    return render(request, "tickets/_timeline.html", {
        "ticket": ticket, "events": queues.ticket_full_timeline(ticket=ticket)})


@perm_required("tickets.view_ticket")
def customer_tickets(request, customer_id: int):
    """The customer 360's tickets rows (htmx, loaded after the page so the 360 stays within its
    query budget): open tickets first, then the latest, in this member's reach."""
    from customers.selectors import customer_get

    customer = customer_get(pk=customer_id)
    if not request.htmx:
        return redirect("customers:detail", customer.pk)
    return render(request, "tickets/_customer_tickets.html", {
        "customer": customer, **ticket_reads.customer_tickets(membership=request.membership, customer_id=customer.pk)})


urlpatterns = [
    path("tickets/<int:pk>/", ticket_page, name="detail"),
    path("customers/<int:customer_id>/tickets/", customer_tickets, name="customer_tickets"),
    path("tickets/<int:pk>/timeline/", ticket_timeline_fragment, name="timeline"),
    path("tickets/<int:pk>/macro/", macro_render, name="macro_render"),
    path("tickets/attachments/<int:pk>/", attachment_download, name="attachment"),
]
