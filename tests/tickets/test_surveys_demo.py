"""The demo surveys: the trend has answers, none before its ticket closed, detractors have follow-ups, and the
other tenant gets nothing."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.tickets.test_surveys import closed_ticket, person
from tickets.models import Survey
from tickets.selectors.surveys import survey_trend
from tickets.surveys_demo import seed_surveys_demo

pytestmark = pytest.mark.django_db


def test_seed_surveys_demo(world):
    for i in range(30):
        closed_ticket(world.a, person(world.a, f"1370000{i:04d}", email=f"demo{i}@example.com", consent=None))
    made = seed_surveys_demo(world.a.tenant)
    assert made["csat"] == 30
    with tenant_scope(world.a.tenant, user=world.a.user(Role.EXECUTIVE)):
        today = timezone.localdate()
        rows = survey_trend(kind="csat", start=today - dt.timedelta(days=200), end=today)
        assert sum(r["answered"] for r in rows) > 0
        for survey in Survey.objects.select_related("ticket"):
            assert survey.created_at >= survey.ticket.closed_at and survey.created_at <= timezone.now()
        assert Survey.objects.filter(follow_up_ticket__isnull=False).count() == made["follow_ups"]
    with tenant_scope(world.b.tenant):
        assert not Survey.objects.exists()
