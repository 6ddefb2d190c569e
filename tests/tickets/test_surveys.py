"""Satisfaction surveys: creation rules, sending through the file gateway, the signed link and the
public answer page, follow-ups, privacy, the staff list and the API — always with tenant B present
and untouched."""
from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from compliance.services.consent import consent_record
from customers import services as customer_services
from customers.models import CustomerKind
from shipments.models import Waybill
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tenancy.services import rule_set
from tests.factories.shipments import ingest, waybill_events
from tickets import rules
from tickets.models import Survey, SurveyStatus, Ticket, TicketEvent, TicketEventKind, TicketStatus
from tickets.selectors import surveys as survey_reads
from tickets.services import core, intake
from tickets.services import surveys as survey_services
from tickets.survey_tokens import SALT, survey_token

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(autouse=True)
def outbox(settings, tmp_path):
    settings.CRM_SURVEY_GATEWAY = "file"
    settings.CRM_SURVEY_OUTBOX_DIR = str(tmp_path / "outbox")
    return tmp_path / "outbox"


# --- helpers ------------------------------------------------------------------------------------

def person(tw, phone: str, *, email: str | None = None, consent: bool | None = True):
    admin = tw.user(Role.TENANT_ADMIN)
    with tenant_scope(tw.tenant, user=admin):
        customer = customer_services.customer_create(actor=admin, kind=CustomerKind.PERSON, name="王小明",
                                                     phones=[phone], province="上海", city="上海", email=email)
        if consent is not None:
            consent_record(actor=admin, purpose="surveys", granted=consent, source="phone_call", customer=customer)
    return customer


def closed_ticket(tw, customer=None, *, email: str = "", phone: str = "", channel: str = "web",
                  external_ref: str = "") -> Ticket:
    agent = tw.user(Role.AGENT)
    with tenant_scope(tw.tenant, user=agent, membership=tw.members[Role.AGENT]):
        ticket = intake.ticket_create(actor=agent, draft=intake.TicketDraft(
            channel=channel, category="tracking_inquiry", subject="包裹到哪了", description="查询",
            customer_id=customer.pk if customer else None, caller_email=email, caller_phone=phone,
            external_ref=external_ref, assignee_id=tw.members[Role.AGENT].pk), acknowledge=False)
        ticket = core.ticket_transition(actor=agent, ticket=ticket, to_status=TicketStatus.RESOLVED, note="已告知")
        ticket = core.ticket_transition(actor=agent, ticket=ticket, to_status=TicketStatus.CLOSED)
    return ticket


def delivered(tw, number: str, receiver_phone: str) -> Waybill:
    ingest(tw, waybill_events(number, start=timezone.now() - dt.timedelta(hours=5), site=tw.branch.code,
                              final="delivered", receiver_phone=receiver_phone))
    with tenant_scope(tw.tenant):
        return Waybill.objects.get(number=number)


def set_rule(tw, rule, value):
    admin = tw.user(Role.TENANT_ADMIN)
    with tenant_scope(tw.tenant, user=admin):
        rule_set(actor=admin, key=rule.key, value=value, effective_from=timezone.localdate())


def create_csat(tw, ticket):
    with tenant_scope(tw.tenant):
        return survey_services.survey_csat_create(ticket_id=ticket.pk)


def surveys_of(tw):
    with tenant_scope(tw.tenant):
        return list(Survey.objects.order_by("id"))


def send(tw, survey) -> bool:
    with tenant_scope(tw.tenant):
        return survey_services.survey_send(survey_id=survey.pk)


def token_of(survey) -> str:
    return survey_token(tenant_id=survey.tenant_id, public_id=survey.public_id)


# --- creation -----------------------------------------------------------------------------------

def test_csat_needs_consent_and_is_one_per_ticket(world):
    granted = person(world.a, "13900000001", email="ok@example.com")
    silent = person(world.a, "13900000002", email="no@example.com", consent=None)
    refused = person(world.a, "13900000003", email="re@example.com", consent=False)
    other = person(world.b, "13900000001", email="ok@example.com")
    t1, t2, t3 = (closed_ticket(world.a, c) for c in (granted, silent, refused))
    b_ticket = closed_ticket(world.b, other)

    first = create_csat(world.a, t1)
    assert first is not None and first.channel == "email" and first.status == SurveyStatus.PENDING
    assert create_csat(world.a, t1) is None                       # once per ticket
    assert create_csat(world.a, t2) is None                       # no answer: surveys default to no
    assert create_csat(world.a, t3) is None                       # withdrawn
    with tenant_scope(world.a.tenant):
        assert survey_services.surveys_create_due() == {"csat": 0, "nps": 0}   # the sweep adds nothing
    assert [s.ticket_id for s in surveys_of(world.a)] == [t1.pk]
    with tenant_scope(world.a.tenant):
        assert Survey.objects.get().email == "ok@example.com"
    assert surveys_of(world.b) == []                              # tenant B untouched
    with tenant_scope(world.b.tenant):
        assert survey_services.surveys_create_due()["csat"] == 1  # B's own sweep finds B's ticket
        assert Survey.objects.get().ticket_id == b_ticket.pk


def test_csat_channel_by_address(world):
    by_phone = person(world.a, "13900000011")
    ticket = closed_ticket(world.a, by_phone)
    survey = create_csat(world.a, ticket)
    assert survey.channel == "sms"
    with tenant_scope(world.a.tenant):
        assert survey.phone == "+8613900000011"
    wechat = person(world.a, "13900000012", email="wx@example.com")
    ticket = closed_ticket(world.a, wechat, channel="wechat", external_ref="wx-openid-1")
    assert create_csat(world.a, ticket).channel == "wechat"


def test_cooldown_one_survey_per_person_counting_the_same_batch(world):
    customer = person(world.a, "13900000021", email="c@example.com")
    t1, t2 = closed_ticket(world.a, customer), closed_ticket(world.a, customer)
    with tenant_scope(world.a.tenant):
        assert survey_services.surveys_create_due()["csat"] == 1     # two tickets, one person: one survey
        assert survey_services.surveys_create_due()["csat"] == 0
        Survey.objects.update(created_at=timezone.now() - dt.timedelta(days=31))
        assert survey_services.surveys_create_due()["csat"] == 1     # the cooldown has passed
    assert {s.ticket_id for s in surveys_of(world.a)} == {t1.pk, t2.pk}


def test_nps_sampling_rate_0_and_100_and_one_per_delivery(world):
    phones = [f"1390000010{i}" for i in range(4)]
    admin = world.a.user(Role.TENANT_ADMIN)
    with tenant_scope(world.a.tenant, user=admin):
        for phone in phones:
            consent_record(actor=admin, purpose="surveys", granted=True, source="phone_call", phone=phone)
    waybills = [delivered(world.a, f"SF9000{i}", phone) for i, phone in enumerate(phones)]
    delivered(world.b, "SF90000", phones[0])
    set_rule(world.a, rules.SURVEY_NPS_SAMPLE_PERCENT, 0)
    with tenant_scope(world.a.tenant):
        assert survey_services.surveys_create_due()["nps"] == 0
    set_rule(world.a, rules.SURVEY_NPS_SAMPLE_PERCENT, 100)
    with tenant_scope(world.a.tenant):
        assert survey_services.surveys_create_due()["nps"] == 4
        assert survey_services.surveys_create_due()["nps"] == 0       # twice: still one per delivery
        rows = list(Survey.objects.values_list("waybill_id", "channel", "branch_id"))
    assert sorted(r[0] for r in rows) == sorted(w.pk for w in waybills)
    assert {r[1] for r in rows} == {"sms"}
    assert {r[2] for r in rows} == {waybills[0].destination_branch_id}
    assert surveys_of(world.b) == []


def test_nps_sample_is_deterministic():
    picks = [survey_services.nps_sampled(tenant_id=7, waybill_id=i, percent=30) for i in range(2000)]
    assert picks == [survey_services.nps_sampled(tenant_id=7, waybill_id=i, percent=30) for i in range(2000)]
    assert 450 < sum(picks) < 750
    assert not any(survey_services.nps_sampled(tenant_id=7, waybill_id=i, percent=0) for i in range(100))
    assert all(survey_services.nps_sampled(tenant_id=7, waybill_id=i, percent=100) for i in range(100))


def test_nps_sample_matches_sql_bucket(world):
    admin = world.a.user(Role.TENANT_ADMIN)
    phones = [f"1390000020{i}" for i in range(8)]
    with tenant_scope(world.a.tenant, user=admin):
        for phone in phones:
            consent_record(actor=admin, purpose="surveys", granted=True, source="phone_call", phone=phone)
    waybills = [delivered(world.a, f"SF9100{i}", phone) for i, phone in enumerate(phones)]
    set_rule(world.a, rules.SURVEY_NPS_SAMPLE_PERCENT, 50)
    with tenant_scope(world.a.tenant):
        survey_services.surveys_create_due()
        chosen = set(Survey.objects.values_list("waybill_id", flat=True))
    expected = {w.pk for w in waybills
                if survey_services.nps_sampled(tenant_id=world.a.tenant.pk, waybill_id=w.pk, percent=50)}
    assert chosen == expected


def test_closing_a_ticket_queues_the_csat_task(world, django_capture_on_commit_callbacks):
    customer = person(world.a, "13900000031", email="q@example.com")
    agent = world.a.user(Role.AGENT)
    with tenant_scope(world.a.tenant, user=agent):
        ticket = intake.ticket_create(actor=agent, draft=intake.TicketDraft(
            channel="web", category="other", subject="s", customer_id=customer.pk), acknowledge=False)
        ticket = core.ticket_transition(actor=agent, ticket=ticket, to_status=TicketStatus.RESOLVED, note="ok")
    with django_capture_on_commit_callbacks() as callbacks:
        with tenant_scope(world.a.tenant, user=agent):
            core.ticket_transition(actor=agent, ticket=ticket, to_status=TicketStatus.CLOSED)
    assert len(callbacks) == 1
    from tickets.tasks import survey_csat_create

    assert survey_csat_create(tenant_id=world.a.tenant.pk, ticket_id=ticket.pk) is True
    assert [s.ticket_id for s in surveys_of(world.a)] == [ticket.pk]


# --- sending ------------------------------------------------------------------------------------

def test_send_through_file_gateway_exactly_one_file(world, outbox):
    customer = person(world.a, "13900000041", email="f@example.com")
    ticket = closed_ticket(world.a, customer)
    survey = create_csat(world.a, ticket)
    assert send(world.a, survey) is True
    assert send(world.a, survey) is False                        # sent already: nothing happens
    files = sorted(p.name for p in outbox.glob("*.json"))
    assert files == [f"{survey.public_id}.json"]
    message = json.loads((outbox / files[0]).read_text())
    assert message["recipient"] == "f@example.com" and "/s/" in message["link"]
    with tenant_scope(world.a.tenant):
        survey.refresh_from_db()
        assert survey.status == SurveyStatus.SENT and survey.attempts == 1 and survey.expires_at
        assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.SURVEY_SENT).count() == 1


def test_file_gateway_honours_the_key_after_a_lost_commit(world, outbox):
    """A worker killed after delivering but before committing: the retry writes nothing new."""
    customer = person(world.a, "13900000042", email="k@example.com")
    survey = create_csat(world.a, closed_ticket(world.a, customer))
    outbox.mkdir(parents=True, exist_ok=True)
    (outbox / f"{survey.public_id}.json").write_text("{}")
    assert send(world.a, survey) is True
    assert len(list(outbox.glob("*.json"))) == 1
    assert (outbox / f"{survey.public_id}.json").read_text() == "{}"     # not written a second time


def test_permanent_and_transient_failures(world, settings, outbox):
    from tickets.gateways import GatewayTransientError

    customer = person(world.a, "13900000043", email="t@example.com")
    survey = create_csat(world.a, closed_ticket(world.a, customer))
    blocker = Path(str(outbox))
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where the folder should be")          # the outbox cannot be written
    set_rule(world.a, rules.SURVEY_MAX_SEND_ATTEMPTS, 2)
    with tenant_scope(world.a.tenant):
        # Raised after the survey's own savepoint: the caller that goes on (the batch task)
        # commits the counted attempt.
        with pytest.raises(GatewayTransientError):
            survey_services.survey_send(survey_id=survey.pk)
        survey.refresh_from_db()
        assert (survey.status, survey.attempts) == (SurveyStatus.PENDING, 1) and survey.last_error
    assert send(world.a, survey) is False                             # second attempt: the rule's max
    with tenant_scope(world.a.tenant):
        survey.refresh_from_db()
        assert (survey.status, survey.attempts) == (SurveyStatus.FAILED, 2)
    # Permanent: WeChat without a webhook in live mode.
    settings.CRM_SURVEY_GATEWAY = "live"
    settings.CRM_WECHAT_WEBHOOK_URL = ""
    wechat = person(world.a, "13900000044", email="w@example.com")
    survey = create_csat(world.a, closed_ticket(world.a, wechat, channel="wechat", external_ref="wx-2"))
    assert send(world.a, survey) is False
    with tenant_scope(world.a.tenant):
        survey.refresh_from_db()
        assert survey.status == SurveyStatus.FAILED and "webhook" in survey.last_error


def test_dispatch_pending_and_batch_task(world, outbox, django_capture_on_commit_callbacks):
    from tickets.tasks import surveys_send_batch

    customers = [person(world.a, f"1390000005{i}", email=f"d{i}@example.com") for i in range(3)]
    for c in customers:
        create_csat(world.a, closed_ticket(world.a, c))
    with django_capture_on_commit_callbacks() as callbacks, tenant_scope(world.a.tenant):
        assert survey_services.surveys_dispatch_pending(older_than=dt.timedelta(hours=1)) == 0
        assert survey_services.surveys_dispatch_pending(older_than=dt.timedelta(0)) == 3
    assert len(callbacks) == 1
    ids = [s.pk for s in surveys_of(world.a)]
    assert surveys_send_batch(tenant_id=world.a.tenant.pk, survey_ids=ids) == {"sent": 3, "retrying": 0}
    assert surveys_send_batch(tenant_id=world.a.tenant.pk, survey_ids=ids) == {"sent": 0, "retrying": 0}
    assert len(list(outbox.glob("*.json"))) == 3 and not list(outbox.glob(".sending-*"))


# --- link and public page -----------------------------------------------------------------------

def sent_survey(tw, phone, *, email=None, kind="csat"):
    customer = person(tw, phone, email=email or f"{phone}@example.com")
    survey = create_csat(tw, closed_ticket(tw, customer))
    send(tw, survey)
    with tenant_scope(tw.tenant):
        survey.refresh_from_db()
    return survey


def test_token_tampering_and_expiry(world):
    survey = sent_survey(world.a, "13900000061")
    client = Client()
    url = reverse("public:survey_answer", args=[token_of(survey)])
    assert client.get(url).status_code == 200
    assert client.get(url[:-3] + "xx/").status_code == 404                    # tampered
    forged = signing.dumps({"t": survey.tenant_id, "p": str(uuid.uuid4())}, salt=SALT)
    assert client.get(reverse("public:survey_answer", args=[forged])).status_code == 404
    other_salt = signing.dumps({"t": survey.tenant_id, "p": str(survey.public_id)}, salt="other")
    assert client.get(reverse("public:survey_answer", args=[other_salt])).status_code == 404
    with tenant_scope(world.a.tenant):
        Survey.objects.filter(pk=survey.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    response = client.get(url)
    assert response.status_code == 410 and b"survey-expired" in response.content
    assert client.post(url, {"score": "5"}).status_code == 410
    with tenant_scope(world.a.tenant):
        assert Survey.objects.get(pk=survey.pk).answered_at is None


def test_token_older_than_link_validity(world, monkeypatch):
    survey = sent_survey(world.a, "13900000062")
    token = token_of(survey)
    later = timezone.now() + dt.timedelta(days=15)
    monkeypatch.setattr("time.time", lambda: later.timestamp())
    response = Client().get(reverse("public:survey_answer", args=[token]))
    assert response.status_code == 410


def test_answer_low_csat_opens_follow_up_once(world):
    survey = sent_survey(world.a, "13900000063")
    untouched = sent_survey(world.b, "13900000063")
    client = Client()
    url = reverse("public:survey_answer", args=[token_of(survey)])
    page = client.get(url)
    assert b'name="score"' in page.content and b"viewport" in page.content
    bad = client.post(url, {"score": "9", "comment": "送得太慢了"})
    assert bad.status_code == 400 and "送得太慢了" in bad.content.decode()       # comment kept
    done = client.post(url, {"score": "1", "comment": "送得太慢了"})
    assert done.status_code == 200 and b"survey-thanks" in done.content
    again = client.post(url, {"score": "5", "comment": "改主意"})
    assert b"survey-already-answered" in again.content
    with tenant_scope(world.a.tenant):
        survey = Survey.objects.select_related("follow_up_ticket").get(pk=survey.pk)
        assert (survey.score, survey.comment, survey.status) == (1, "送得太慢了", SurveyStatus.ANSWERED)
        follow_up = survey.follow_up_ticket
        assert follow_up.category == "complaint" and follow_up.customer_id == survey.customer_id
        assert "送得太慢了" in follow_up.description and survey.ticket.number in follow_up.description
        assert TicketEvent.objects.filter(ticket_id=survey.ticket_id, kind=TicketEventKind.SURVEY_ANSWERED).count() == 1
        assert Ticket.objects.filter(category="complaint", tags__contains=["survey-follow-up"]).count() == 1
    with tenant_scope(world.b.tenant):
        assert Survey.objects.get(pk=untouched.pk).answered_at is None
        assert not Ticket.objects.filter(tags__contains=["survey-follow-up"]).exists()


def test_answer_high_score_no_follow_up(world):
    survey = sent_survey(world.a, "13900000064")
    response = Client().post(reverse("public:survey_answer", args=[token_of(survey)]), {"score": "5"})
    assert response.status_code == 200
    with tenant_scope(world.a.tenant):
        survey.refresh_from_db()
        assert survey.score == 5 and survey.follow_up_ticket_id is None


def test_nps_answer_detractor_and_score_range(world):
    admin = world.a.user(Role.TENANT_ADMIN)
    with tenant_scope(world.a.tenant, user=admin):
        consent_record(actor=admin, purpose="surveys", granted=True, source="phone_call", phone="13900000071")
    waybill = delivered(world.a, "SF92000", "13900000071")
    set_rule(world.a, rules.SURVEY_NPS_SAMPLE_PERCENT, 100)
    with tenant_scope(world.a.tenant):
        survey_services.surveys_create_due()
        survey = Survey.objects.get(waybill=waybill)
        assert survey_services.survey_send(survey_id=survey.pk)
        survey.refresh_from_db()
    url = reverse("public:survey_answer", args=[token_of(survey)])
    page = Client().get(url).content.decode()
    assert 'value="0"' in page and 'value="10"' in page
    assert Client().post(url, {"score": "11"}).status_code == 400
    assert Client().post(url, {"score": "6", "comment": "一般"}).status_code == 200
    with tenant_scope(world.a.tenant):
        survey.refresh_from_db()
        assert survey.score == 6 and survey.follow_up_ticket.waybill_id == waybill.pk


def test_comment_too_long_is_a_form_error(world):
    survey = sent_survey(world.a, "13900000065")
    response = Client().post(reverse("public:survey_answer", args=[token_of(survey)]),
                             {"score": "4", "comment": "长" * 1001})
    assert response.status_code == 400
    with tenant_scope(world.a.tenant):
        assert Survey.objects.get(pk=survey.pk).answered_at is None


# --- reads --------------------------------------------------------------------------------------

def test_trend_and_agent_csat(world):
    surveys = [sent_survey(world.a, f"1390000008{i}") for i in range(3)]
    with tenant_scope(world.a.tenant):
        for survey, score in zip(surveys, (5, 4, 1), strict=True):
            survey_services.survey_answer(survey=survey, score=score)
        today = timezone.localdate()
        rows = survey_reads.survey_trend(kind="csat", start=today.replace(day=1), end=today)
        agent = survey_reads.agent_csat(membership=world.a.members[Role.AGENT])
        nps = survey_reads.survey_trend(kind="nps", start=today, end=today)
    assert len(rows) == 1 and rows[0]["sent"] == 3 and rows[0]["answered"] == 3
    assert str(rows[0]["response_rate"]) == "100.0" and str(rows[0]["average"]) == "3.33"
    assert agent == {"answered": 3, "average": rows[0]["average"]}
    assert nps[0]["nps"] == 0 and nps[0]["sent"] == 0


def test_staff_list_masks_and_is_query_guarded(world, django_assert_max_num_queries):
    for i in range(4):
        sent_survey(world.a, f"1390000009{i}", email=f"list{i}@example.com")
    sent_survey(world.b, "13900000090", email="bbb@example.com")
    client = world.client_for(world.a.user(Role.EXECUTIVE))
    with django_assert_max_num_queries(25):
        response = client.get(reverse("tickets:survey_list"))
    body = response.content.decode()
    assert response.status_code == 200 and body.count("data-survey=") == 4
    assert "list0@example.com" not in body and "l***" in body or "l*" in body
    assert client.get(reverse("tickets:survey_list"), {"band": "nope"}).status_code == 400
    sales = world.client_for(world.a.user(Role.SALES_MANAGER))
    assert sales.get(reverse("tickets:survey_list")).status_code == 403


def test_ticket_panel_and_cross_tenant_404(world):
    survey = sent_survey(world.a, "13900000095")
    b_survey = sent_survey(world.b, "13900000095")
    client = world.client_for(world.a.user(Role.AGENT))
    panel = client.get(reverse("tickets:ticket_survey_panel", args=[survey.ticket_id]))
    assert panel.status_code == 200 and b"ticket-survey-status" in panel.content
    assert client.get(reverse("tickets:ticket_survey_panel", args=[b_survey.ticket_id])).status_code == 404


def test_api_masks_and_other_tenant_is_404(world):
    survey = sent_survey(world.a, "13900000096", email="api@example.com")
    b_survey = sent_survey(world.b, "13900000097")
    client = world.client_for(world.a.user(Role.AUDITOR))
    listing = client.get("/api/v1/surveys/")
    assert listing.status_code == 200
    rows = listing.json()["results"]
    assert [r["id"] for r in rows] == [survey.pk]
    assert rows[0]["email"] != "api@example.com" and "@example.com" in rows[0]["email"]
    assert "13900000096" not in json.dumps(rows) and rows[0]["phone"].endswith("0096")
    assert client.get(f"/api/v1/surveys/{survey.pk}/").status_code == 200
    assert client.get(f"/api/v1/surveys/{b_survey.pk}/").status_code == 404
    assert client.post("/api/v1/surveys/", {}).status_code in (403, 405)


# --- privacy ------------------------------------------------------------------------------------

def test_privacy_collect_and_erase(world):
    from compliance.subject import Subject
    from tickets import privacy

    survey = sent_survey(world.a, "13900000098", email="gone@example.com")
    b_survey = sent_survey(world.b, "13900000098", email="gone@example.com")
    with tenant_scope(world.a.tenant):
        survey_services.survey_answer(survey=survey, score=4, comment="还行")
        subject = Subject(customer_ids={survey.customer_id})
        assert privacy.count(subject)["surveys"] == 1
        assert privacy.collect(subject)["surveys"][0]["comment"] == "还行"
        privacy.erase(subject, timezone.now())
        survey.refresh_from_db()
        assert (survey.phone, survey.email, survey.phone_bidx, survey.comment) == (None, None, None, "")
        assert survey.score == 4 and survey.answered_at and survey.personal_data_erased_at
    with tenant_scope(world.b.tenant):
        b_survey.refresh_from_db()
        assert b_survey.email == "gone@example.com"


def test_outbox_dir_setting_used(world, outbox):
    survey = sent_survey(world.a, "13900000099")
    assert os.path.exists(outbox / f"{survey.public_id}.json")


def test_answer_page_is_chinese_unless_the_person_chose_english(world):
    survey = sent_survey(world.a, "13900000069")
    url = reverse("public:survey_answer", args=[token_of(survey)])
    browser_in_english = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    page = browser_in_english.get(url)
    assert page.status_code == 200 and b'<html lang="zh-hans">' in page.content
    browser_in_english.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"               # the page's EN switch
    assert b'<html lang="en">' in browser_in_english.get(url).content
