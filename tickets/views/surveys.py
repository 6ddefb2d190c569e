"""Pages of satisfaction surveys: the staff list, and the public answer page reached by a signed
link (no login; the link names its tenant, and the page runs in that tenant's scope)."""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import path
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tenancy.forms import apply_service_errors
from tenancy.models import Tenant
from tenancy.scoping import tenant_scope
from tenancy.throttling import rate_exceeded
from tenancy.views import client_ip, perm_required

from .. import rules
from ..forms.surveys import SurveyAnswerForm, SurveyFilterForm
from ..models import SurveyKind, SurveyStatus
from ..selectors import exceptions as ticket_reads
from ..selectors import surveys as selectors
from ..services import surveys as services
from ..survey_tokens import SurveyLinkExpired, SurveyLinkInvalid, survey_token_read

PAGE_SIZE = 50
TEMPLATE = "tickets/surveys/answer.html"


@perm_required("tickets.view_survey")
def survey_list(request):
    form = SurveyFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.survey_list(membership=request.membership, kind=filters.get("kind") or None,
                               status=filters.get("status") or None, band=filters.get("band") or None,
                               date_from=filters.get("date_from"), date_to=filters.get("date_to"))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "tickets/surveys/list.html", {"form": form, "page": page},
                  status=400 if form.errors else 200)


@perm_required("tickets.view_survey")
def ticket_survey_panel(request, pk: int):
    """The survey panel of a ticket page (loaded by htmx): the CSAT survey and its answer."""
    ticket = ticket_reads.ticket_get(membership=request.membership, pk=pk)
    return render(request, "tickets/surveys/_ticket_panel.html",
                  {"ticket": ticket, "survey": selectors.survey_for_ticket(ticket)})


def _page(request, context: dict, status: int = 200):
    return render(request, TEMPLATE, context, status=status)


def _page_language(request) -> None:
    """Chinese unless the person chose English with the page's switch (its cookie): the links go
    to a Chinese company's customers, whatever language their phone's browser announces."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    translation.activate(language)
    request.LANGUAGE_CODE = language


def survey_answer(request, token: str):
    """The public answer page. Invalid link → 404; expired → 410; answered → says so, changes
    nothing; a bad score → the form again with the comment kept."""
    _page_language(request)
    try:
        link = survey_token_read(token)
    except (SurveyLinkInvalid, SurveyLinkExpired):
        return _page(request, {"state": "invalid"}, status=404)
    tenant = Tenant.objects.filter(pk=link.tenant_id, is_active=True).first()
    if tenant is None:
        return _page(request, {"state": "invalid"}, status=404)
    with tenant_scope(tenant):
        valid_days = rules.SURVEY_LINK_VALID_DAYS.value()
        comment_max = rules.SURVEY_COMMENT_MAX_LENGTH.value()
        survey = selectors.survey_by_public_id(link.public_id)
    context = {"tenant": tenant, "survey": survey}
    if survey is None:
        return _page(request, {**context, "state": "invalid"}, status=404)
    if survey.answered_at is not None:
        return _page(request, {**context, "state": "answered"})
    try:
        survey_token_read(token, max_age=dt.timedelta(days=valid_days))
    except SurveyLinkExpired:
        return _page(request, {**context, "state": "expired"}, status=410)
    now = timezone.now()
    if survey.status == SurveyStatus.FAILED or (survey.expires_at is not None and survey.expires_at <= now):
        return _page(request, {**context, "state": "expired"}, status=410)
    form = SurveyAnswerForm(request.POST if request.method == "POST" else None, kind=survey.kind,
                            comment_max_length=comment_max)
    context.update(form=form, state="open", is_csat=survey.kind == SurveyKind.CSAT)
    if request.method != "POST":
        return _page(request, context)
    if rate_exceeded("public_survey", client_ip(request) or "unknown"):
        form.is_valid()
        form.add_error(None, _("Too many requests from your network. Please try again in a few minutes."))
        return _page(request, context, status=429)
    if not form.is_valid():
        return _page(request, context, status=400)
    try:
        with tenant_scope(tenant):
            survey = services.survey_answer(survey=survey, score=form.cleaned_data["score"],
                                            comment=form.cleaned_data["comment"], now=now)
    except services.SurveyAlreadyAnswered:
        return _page(request, {**context, "state": "answered"}, status=409)
    except services.SurveyExpired:
        return _page(request, {**context, "state": "expired"}, status=410)
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return _page(request, context, status=400)
    return _page(request, {**context, "survey": survey, "state": "thanks",
                           "low": survey.follow_up_ticket_id is not None})


urlpatterns = [
    path("surveys/", survey_list, name="survey_list"),
    path("tickets/<int:pk>/survey/", ticket_survey_panel, name="ticket_survey_panel"),
]

public_urlpatterns = [
    path("s/<str:token>/", survey_answer, name="survey_answer"),
]
