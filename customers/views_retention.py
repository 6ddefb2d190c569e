"""HTML pages of retention work: the task list (tabs mine / team queue / all open / closed,
filters risk and overdue) and one task's page (customer, reasons in words, suggested actions,
the close and reassign forms). Thin: parse → service/selector → render."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenancy.forms import apply_service_errors
from tenancy.views import perm_required

from .forms import RetentionCloseForm, RetentionFilterForm, RetentionReassignForm
from .models import RetentionAction
from .selectors import customer_get
from .selectors import retention as selectors
from .services import retention as services

PAGE_SIZE = 50


@perm_required("customers.view_retentiontask")
def retention_list(request):
    form = RetentionFilterForm(request.GET or None)
    filters = form.filters()
    qs = selectors.retention_task_list(membership=request.membership, **filters)
    after = form.cleaned_data.get("after") if form.is_valid() else None
    if filters["tab"] == "closed":
        # Closed tasks newest first: paged by id like the other tabs so the page stays index-backed.
        qs = qs.order_by("-id")
        if after:
            qs = qs.filter(pk__lt=after)
    else:
        qs = qs.order_by("due_date", "id")
        if after:
            qs = qs.filter(pk__gt=after)
    rows = list(qs[:PAGE_SIZE + 1])
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    query = request.GET.copy()
    query.pop("after", None)
    base_query = request.GET.copy()
    for key in ("after", "tab"):
        base_query.pop(key, None)
    return render(request, "customers/retention_list.html", {
        "form": form, "rows": rows, "filters": filters, "tabs": RetentionFilterForm.TABS,
        "counts": selectors.retention_tab_counts(membership=request.membership),
        "has_next": has_next, "next_after": rows[-1].pk if has_next else None, "query": query.urlencode(),
        "base_query": base_query.urlencode(), "today": timezone.localdate(),
        "action_labels": dict(RetentionAction.choices),
    })


def _task_page(request, task, *, close_form=None, reassign_form=None, status=200):
    can_work = services.retention_task_can_work(request.user, task, request.membership)
    return render(request, "customers/retention_task.html", {
        "task": task, "customer": task.customer, "reasons": selectors.reason_sentences(task.alert.reasons),
        "current_reasons": selectors.reason_sentences(selectors.churn_reasons(task.customer)),
        "actions": [RetentionAction(code).label for code in task.suggested_actions if code in RetentionAction.values],
        "can_work": can_work and task.status == "open",
        "close_form": close_form or RetentionCloseForm(),
        "reassign_form": reassign_form or RetentionReassignForm(),
        "today": timezone.localdate(),
    }, status=status)


@perm_required("customers.view_retentiontask")
def retention_task(request, pk: int):
    return _task_page(request, selectors.retention_task_get(pk=pk))


@perm_required("customers.work_retention_task")
@require_POST
def retention_task_close(request, pk: int):
    task = selectors.retention_task_get(pk=pk)
    form = RetentionCloseForm(request.POST)
    if form.is_valid():
        try:
            services.retention_task_close(actor=request.user, task=task, outcome=form.cleaned_data["outcome"],
                                          note=form.cleaned_data["note"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Outcome recorded; the task is closed."))
            return redirect("customers:retention_task", task.pk)
    return _task_page(request, task, close_form=form, status=400)


@perm_required("customers.work_retention_task")
@require_POST
def retention_task_reassign(request, pk: int):
    task = selectors.retention_task_get(pk=pk)
    form = RetentionReassignForm(request.POST)
    if form.is_valid():
        try:
            services.retention_task_reassign(actor=request.user, task=task, assignee=form.cleaned_data["assignee"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Task reassigned."))
            return redirect("customers:retention_task", task.pk)
    return _task_page(request, task, reassign_form=form, status=400)


@perm_required("customers.view_customer")
def customer_churn_history(request, pk: int):
    """The customer 360's churn card rows (htmx, loaded after the page so the 360 stays within its
    query budget): the open retention task and the recent alerts with their outcomes."""
    customer = customer_get(pk=pk)
    if not request.htmx:
        return redirect(f"{reverse('customers:detail', args=[customer.pk])}#churn-panel")
    return render(request, "customers/retention_customer_history.html", {
        "customer": customer, "churn": selectors.customer_churn_panel(customer=customer)})
