"""The job-monitoring page: each periodic job's last run in this company, its next run, and the
company's failed tasks (dead letters) with "send again" and "dismiss" (each confirmed first)."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from .jobs import DeadLetterResolution
from .models import DeadLetter
from .selectors_jobs import dead_letter_get, dead_letter_list, job_rows
from .services import dead_letter_dismiss, dead_letter_retry
from .views import perm_required

DEAD_LETTERS_PER_PAGE = 20

ACTIONS = {
    "retry": (dead_letter_retry, _("The task was sent again.")),
    "dismiss": (dead_letter_dismiss, _("The failed task was dismissed.")),
}


def _jobs_context(request) -> dict:
    page = Paginator(dead_letter_list(open_only=True), DEAD_LETTERS_PER_PAGE).get_page(request.GET.get("page"))
    return {"rows": job_rows(), "page": page, "can_resolve": request.user.has_perm("tenancy.change_deadletter")}


@perm_required("tenancy.view_jobs")
def jobs(request):
    return render(request, "tenancy/jobs.html", _jobs_context(request))


@perm_required("tenancy.view_jobs")
def jobs_panel(request):
    """The jobs table and open dead letters alone (htmx refreshes them every 30 seconds)."""
    return render(request, "tenancy/_jobs_panel.html", _jobs_context(request))


def _dead_letter_or_404(pk: int) -> DeadLetter:
    try:
        return dead_letter_get(pk=pk)
    except DeadLetter.DoesNotExist as exc:
        raise Http404 from exc


@perm_required("tenancy.change_deadletter")
def dead_letter_action(request, pk: int, action: str):
    """GET asks to confirm; POST sends the task again or dismisses it."""
    if action not in ACTIONS:
        raise Http404
    letter = _dead_letter_or_404(pk)
    if request.method == "POST":
        service, done = ACTIONS[action]
        try:
            service(actor=request.user, dead_letter=letter)
        except ValidationError as exc:
            for text in exc.messages:
                messages.error(request, text)
            return redirect("tenancy:jobs")
        messages.success(request, done)
        return redirect("tenancy:jobs")
    resolution_label = (DeadLetterResolution(letter.resolution).label
                        if letter.resolution in DeadLetterResolution.values else letter.resolution)
    return render(request, "tenancy/dead_letter_confirm.html",
                  {"letter": letter, "action": action, "resolution_label": resolution_label})
