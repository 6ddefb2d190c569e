"""The public survey page in Chromium on a phone-sized screen (issue 10).

- A customer who agreed to surveys has a ticket closed; its CSAT survey is sent through the file
  gateway. On a phone the page shows big score buttons; sending without a score is refused (the
  comment kept), a low score thanks the person and says someone will call, and a follow-up
  complaint ticket exists with the comment. Opening the link again says it was answered.
- An expired link shows a clear "closed" page (410), a tampered one "not valid" (404).
- The language switch shows the page in English."""
import json
import tempfile

import pytest

from ..served import MANAGE, free_port, manage_output, served_database, serving
from .helpers import shot, watch

pytestmark = pytest.mark.browser

COMMENT = "快递员没有打电话就放在门口了"

SETUP = """
import datetime as dt, json
from django.utils import timezone
from compliance.services.consent import consent_record
from customers import services
from customers.models import CustomerKind
from tenancy.models import Tenant, User
from tenancy.scoping import tenant_scope
from tickets.models import Survey
from tickets.services import core, intake, surveys
from tickets.survey_tokens import survey_token

tenant = Tenant.objects.get(code="shunda")
admin = User.objects.get(username="shunda_admin")
out = {}
for label in ("open", "expired"):
    with tenant_scope(tenant, user=admin):
        person = services.customer_create(actor=admin, kind=CustomerKind.PERSON, name="赵小满",
                                          phones=["1370000%s" % ("7701" if label == "open" else "7702")],
                                          province="上海", city="浦东新区")
        consent_record(actor=admin, purpose="surveys", granted=True, source="phone_call", customer=person)
        ticket = intake.ticket_create(actor=admin, draft=intake.TicketDraft(
            channel="web", category="other", subject="e2e 调查 " + label, customer_id=person.pk), acknowledge=False)
        ticket = core.ticket_transition(actor=admin, ticket=ticket, to_status="resolved", note="已处理")
        ticket = core.ticket_transition(actor=admin, ticket=ticket, to_status="closed")
        survey = surveys.survey_csat_create(ticket_id=ticket.pk)
        assert surveys.survey_send(survey_id=survey.pk)
        survey.refresh_from_db()
        if label == "expired":
            Survey.objects.filter(pk=survey.pk).update(expires_at=timezone.now() - dt.timedelta(hours=1))
        out[label] = survey_token(tenant_id=tenant.pk, public_id=survey.public_id)
        out[label + "_id"] = survey.pk
print(json.dumps(out))
"""

CHECK = """
import json
from tenancy.models import Tenant
from tenancy.scoping import tenant_scope
from tickets.models import Survey

with tenant_scope(Tenant.objects.get(code="shunda")):
    s = Survey.objects.select_related("follow_up_ticket").get(pk=%d)
    print(json.dumps({"score": s.score, "comment": s.comment, "status": s.status,
                      "follow_up": s.follow_up_ticket.description if s.follow_up_ticket else None,
                      "category": s.follow_up_ticket.category if s.follow_up_ticket else None}))
"""


@pytest.fixture(scope="module")
def served():
    with served_database("e2e_surveys") as env:
        env = dict(env, CRM_SURVEY_GATEWAY="file", CRM_SURVEY_OUTBOX_DIR=tempfile.mkdtemp(prefix="e2e-survey-"))
        known = json.loads(manage_output(env, "shell", "-c", SETUP).splitlines()[-1])
        port = free_port()
        with serving([*MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"], dict(env, DJANGO_DEBUG="1"),
                     port) as url:
            yield url, known, env


@pytest.fixture
def phone(chromium):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True,
                                   has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def test_answer_on_a_phone_low_score_opens_follow_up(served, phone):
    url, known, env = served
    problems = watch(phone)
    link = f"{url}/s/{known['open']}/"
    response = phone.goto(link)
    assert response.status == 200
    options = phone.locator(".score-option")
    assert options.count() == 5
    box = options.first.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 300                  # one big button per row on a phone
    assert phone.locator("meta[name=viewport]").count() == 1
    phone.fill("textarea[name=comment]", COMMENT)
    phone.click("#survey-submit")                                         # no score chosen
    phone.wait_for_selector("#score-error")
    assert phone.input_value("textarea[name=comment]") == COMMENT
    shot(phone, "survey-refused")
    phone.locator(".score-option").first.click()                          # 1 · very dissatisfied
    phone.click("#survey-submit")
    phone.wait_for_selector("#survey-thanks")
    assert "联系" in phone.inner_text("#survey-thanks") or "contact" in phone.inner_text("#survey-thanks")
    shot(phone, "survey-thanks")
    state = json.loads(manage_output(env, "shell", "-c", CHECK % known["open_id"]).splitlines()[-1])
    assert state["score"] == 1 and state["comment"] == COMMENT and state["status"] == "answered"
    assert state["category"] == "complaint" and COMMENT in state["follow_up"]
    phone.goto(link)
    phone.wait_for_selector("#survey-already-answered")
    assert problems == [], problems


def test_expired_and_tampered_links(served, phone):
    url, known, _env = served
    response = phone.goto(f"{url}/s/{known['expired']}/")
    assert response.status == 410
    phone.wait_for_selector("#survey-expired")
    shot(phone, "survey-expired")
    response = phone.goto(f"{url}/s/{known['open'][:-4]}abcd/")
    assert response.status == 404
    phone.wait_for_selector("#survey-invalid")


def test_language_switch(served, phone):
    url, known, _env = served
    phone.goto(f"{url}/s/{known['expired']}/")
    with phone.expect_navigation():
        phone.click("#lang-en")
    assert "This survey has closed" in phone.inner_text("main")
    with phone.expect_navigation():
        phone.click("#lang-zh")
