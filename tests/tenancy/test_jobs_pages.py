"""The job-monitoring page and API: who sees them, what they show of the current company only,
and the dead-letter actions (send again through the broker after the commit, dismiss)."""
from __future__ import annotations

import json

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tenancy.models import DeadLetter, JobOutcome, JobState, Role
from tenancy.scoping import tenant_scope
from tenancy.tasks import tenant_key_age_check

JOBS_URL = "/jobs/"
JOBS_API = "/api/v1/jobs/"
LETTERS_API = "/api/v1/dead-letters/"
KEY_TASK = "tenancy.tasks.tenant_key_age_check"


def _letter(tw, *, task=KEY_TASK, error="connection refused", **extra) -> DeadLetter:
    with tenant_scope(tw.tenant):
        return DeadLetter.objects.create(task=task, task_id="abc", kwargs={"tenant_id": tw.tenant.pk, **extra},
                                         error_type="OperationalError", error=error, attempts=6)


def _state(tw, task=KEY_TASK, **values) -> JobState:
    now = timezone.now()
    defaults = {"last_started_at": now, "last_finished_at": now, "last_duration_ms": 1234,
                "last_outcome": JobOutcome.OK, "last_success_at": now, "runs": 3, "failures": 1}
    with tenant_scope(tw.tenant):
        return JobState.objects.create(task=task, **{**defaults, **values})


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("celery")
    yield client
    client.delete("celery")


def _queued(broker) -> list[dict]:
    return [json.loads(m) for m in broker.lrange("celery", 0, -1)]


# --- access ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("role", "page", "api"), [
    (Role.TENANT_ADMIN, 200, 200), (Role.AUDITOR, 200, 200), (Role.AGENT, 403, 403),
    (Role.SALES_MANAGER, 403, 403), (Role.BRANCH_MANAGER, 403, 403), (Role.EXECUTIVE, 403, 403),
])
def test_who_sees_the_jobs(world, role, page, api):
    client = world.client_for(world.a.user(role))
    assert client.get(JOBS_URL).status_code == page
    assert client.get(JOBS_API).status_code == api
    assert client.get(LETTERS_API).status_code == api


def test_auditor_reads_but_never_resolves(world):
    letter = _letter(world.a)
    auditor = world.client_for(world.a.user(Role.AUDITOR))
    assert "Send again" not in auditor.get(JOBS_URL).content.decode()
    assert auditor.post(f"{LETTERS_API}{letter.pk}/dismiss/").status_code == 403
    assert auditor.post(reverse("tenancy:dead_letter_action", args=[letter.pk, "dismiss"])).status_code == 403
    with tenant_scope(world.a.tenant):
        assert DeadLetter.objects.get(pk=letter.pk).resolved_at is None


# --- the page ----------------------------------------------------------------------------------

def test_page_shows_this_companys_jobs_and_dead_letters_only(world):
    _state(world.a, last_detail="[]")
    _state(world.b, failures=7, last_outcome=JobOutcome.FAILED, last_detail="OperationalError: beta only")
    mine = _letter(world.a, error="alpha failure")
    theirs = _letter(world.b, error="beta failure")

    html = world.client_for(world.a.user(Role.TENANT_ADMIN)).get(JOBS_URL).content.decode()
    assert f'data-task="{KEY_TASK}"' in html and "1234 毫秒" in html  # the page is in Chinese by default
    assert 'data-job="tickets-sla-sweep"' in html and "每 5 分钟" in html and "每天 04:05" in html
    assert 'data-job="platform-clear-expired-sessions"' not in html
    assert f'data-dead-letter="{mine.pk}"' in html and "alpha failure" in html
    assert f'data-dead-letter="{theirs.pk}"' not in html and "beta" not in html

    panel = world.client_for(world.b.user(Role.TENANT_ADMIN)).get(reverse("tenancy:jobs_panel")).content.decode()
    assert "beta failure" in panel and "alpha failure" not in panel and 'data-outcome="failed"' in panel


def test_api_lists_jobs_with_the_state_of_this_company(world):
    _state(world.a, runs=9)
    rows = world.client_for(world.a.user(Role.TENANT_ADMIN)).get(JOBS_API).json()
    by_key = {row["key"]: row for row in rows}
    key_job = by_key["platform-key-age-report"]
    assert key_job["schedule"] == "每天 04:05" and key_job["next_run"]  # the user's language (zh-hans)
    assert key_job["tasks"][0]["task"] == KEY_TASK and key_job["tasks"][0]["runs"] == 9
    assert key_job["tasks"][0]["outcome"] == "ok" and key_job["failures"] == 1
    assert by_key["tickets-sla-sweep"]["tasks"][0]["outcome"] == ""  # never ran here
    assert len(by_key["penalties-detectors"]["tasks"]) == 2
    other = world.client_for(world.b.user(Role.TENANT_ADMIN)).get(JOBS_API).json()
    assert {row["key"]: row for row in other}["platform-key-age-report"]["tasks"][0]["runs"] == 0


# --- actions -----------------------------------------------------------------------------------

def test_retry_from_the_page_asks_first_then_queues_the_task_after_commit(world, broker,
                                                                           django_capture_on_commit_callbacks):
    letter = _letter(world.a)
    admin_user = world.a.user(Role.TENANT_ADMIN)
    client = world.client_for(admin_user)
    url = reverse("tenancy:dead_letter_action", args=[letter.pk, "retry"])
    confirm = client.get(url)
    assert confirm.status_code == 200 and 'id="dead-letter-confirm"' in confirm.content.decode()
    assert _queued(broker) == []  # asking changes nothing

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 302 and response["Location"] == JOBS_URL
    [message] = _queued(broker)
    assert message["headers"]["task"] == KEY_TASK
    assert str(world.a.tenant.pk) in message["headers"]["kwargsrepr"]
    with tenant_scope(world.a.tenant):
        letter.refresh_from_db()
    assert letter.resolution == "retried" and letter.resolved_by == admin_user and letter.resolved_at

    # Once handled it leaves the page and cannot be sent twice.
    assert f'data-dead-letter="{letter.pk}"' not in client.get(JOBS_URL).content.decode()
    broker.delete("celery")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url)
    assert _queued(broker) == []


def test_retried_task_runs_in_the_current_company_whatever_the_stored_kwargs(world, broker,
                                                                              django_capture_on_commit_callbacks):
    letter = _letter(world.a)
    with tenant_scope(world.a.tenant):
        DeadLetter.objects.filter(pk=letter.pk).update(kwargs={"tenant_id": world.b.tenant.pk})
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client_for(world.a.user(Role.TENANT_ADMIN)).post(f"{LETTERS_API}{letter.pk}/retry/")
    assert response.status_code == 200 and response.json()["resolution"] == "retried"
    [message] = _queued(broker)
    assert message["headers"]["kwargsrepr"] == repr({"tenant_id": world.a.tenant.pk})
    # And the effect: the re-sent task, run in-process, records its run for company a.
    tenant_key_age_check.apply(kwargs={"tenant_id": world.a.tenant.pk}).get()
    with tenant_scope(world.a.tenant):
        assert JobState.objects.get(task=KEY_TASK).last_outcome == JobOutcome.OK


def test_dismiss_through_the_api_and_refusals(world, broker, django_capture_on_commit_callbacks):
    letter = _letter(world.a)
    gone = _letter(world.a, task="tests.jobs.no_such_task")
    admin = world.client_for(world.a.user(Role.TENANT_ADMIN))

    with django_capture_on_commit_callbacks(execute=True):
        dismissed = admin.post(f"{LETTERS_API}{letter.pk}/dismiss/")
    assert dismissed.status_code == 200
    body = dismissed.json()
    assert body["resolution"] == "dismissed"
    assert body["resolved_by_username"] == world.a.user(Role.TENANT_ADMIN).username
    assert _queued(broker) == []

    again = admin.post(f"{LETTERS_API}{letter.pk}/retry/")
    assert again.status_code == 400 and "dead_letter" in again.json()["error"]["fields"]
    unknown = admin.post(f"{LETTERS_API}{gone.pk}/retry/")
    assert unknown.status_code == 400 and "task" in unknown.json()["error"]["fields"]
    with tenant_scope(world.a.tenant):
        assert DeadLetter.objects.get(pk=gone.pk).resolved_at is None

    assert [r["id"] for r in admin.get(LETTERS_API, {"open": "true"}).json()["results"]] == [gone.pk]
    assert [r["id"] for r in admin.get(LETTERS_API, {"open": "false"}).json()["results"]] == [letter.pk]
    assert admin.get(LETTERS_API, {"open": "maybe"}).status_code == 400


def test_another_companys_dead_letter_is_404_everywhere(world, broker):
    theirs = _letter(world.b)
    admin = world.client_for(world.a.user(Role.TENANT_ADMIN))
    assert admin.get(f"{LETTERS_API}{theirs.pk}/").status_code == 404
    assert admin.post(f"{LETTERS_API}{theirs.pk}/retry/").status_code == 404
    assert admin.post(f"{LETTERS_API}{theirs.pk}/dismiss/").status_code == 404
    for action in ("retry", "dismiss"):
        url = reverse("tenancy:dead_letter_action", args=[theirs.pk, action])
        assert admin.get(url).status_code == 404 and admin.post(url).status_code == 404
    assert admin.get(reverse("tenancy:dead_letter_action", args=[theirs.pk, "explode"])).status_code == 404
    assert admin.get(LETTERS_API).json()["results"] == []
    with tenant_scope(world.b.tenant):
        assert DeadLetter.objects.get(pk=theirs.pk).resolved_at is None
    assert _queued(broker) == []


# --- query counts ------------------------------------------------------------------------------

def test_page_and_api_queries_do_not_grow_with_rows(world, django_assert_max_num_queries):
    client = world.client_for(world.a.user(Role.TENANT_ADMIN))
    _letter(world.a)
    _state(world.a)
    with CaptureQueriesContext(connection) as few_page:
        assert client.get(JOBS_URL).status_code == 200
    with CaptureQueriesContext(connection) as few_api:
        assert client.get(LETTERS_API).status_code == 200
    for i in range(15):
        _letter(world.a, error=f"failure {i}")
    for name in ("shipments.tasks.exception_sweep", "tickets.tasks.sla_sweep_tenant",
                 "penalties.tasks.detectors_tenant"):
        _state(world.a, task=name)
    with django_assert_max_num_queries(len(few_page.captured_queries)):
        page = client.get(JOBS_URL)
    assert page.content.decode().count("data-dead-letter=") == 16
    with django_assert_max_num_queries(len(few_api.captured_queries)):
        assert len(client.get(LETTERS_API).json()["results"]) == 16
    with django_assert_max_num_queries(len(few_page.captured_queries)):
        assert client.get(JOBS_API).status_code == 200
