"""Background-job plumbing: run tracking of periodic tenant tasks (JobState), dead letters after
the last retry, the job registry next to the beat schedule, and next-run computation."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.db import OperationalError

from courier_crm.celery import JOBS, app
from tenancy.jobs import next_fire_time, periodic_jobs, schedule_in_words, tenant_jobs, tracked_task_names
from tenancy.models import Branch, DeadLetter, JobOutcome, JobState, Tenant
from tenancy.scoping import tenant_scope
from tenancy.tasks import TRANSIENT_RETRY, TenantTask

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALLS: list[int] = []


@app.task(base=TenantTask, bind=True, name="tests.jobs.tracked_ok", track_runs=True)
def tracked_ok(self, *, tenant_id: int, code: str) -> dict:
    return {"branches": Branch.objects.filter(code__startswith=code).count()}


@app.task(base=TenantTask, bind=True, name="tests.jobs.tracked_writes_then_fails", track_runs=True)
def tracked_writes_then_fails(self, *, tenant_id: int) -> None:
    Branch.objects.filter(code__endswith="-B1").update(name="renamed by a failing task")
    raise ValueError("broken input")


@app.task(base=TenantTask, bind=True, name="tests.jobs.flaky_database", track_runs=True, **TRANSIENT_RETRY)
def flaky_database(self, *, tenant_id: int, waybill_id: int) -> str:
    CALLS.append(self.request.retries)
    raise OperationalError("server closed the connection unexpectedly")


@app.task(base=TenantTask, bind=True, name="tests.jobs.recovers", track_runs=True, **TRANSIENT_RETRY)
def recovers(self, *, tenant_id: int) -> str:
    CALLS.append(self.request.retries)
    if self.request.retries < 2:
        raise OperationalError("deadlock detected")
    return "done"


@app.task(base=TenantTask, bind=True, name="tests.jobs.untracked")
def untracked(self, *, tenant_id: int) -> int:
    return 1


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()
    yield
    CALLS.clear()


def _state(tenant, task) -> JobState | None:
    with tenant_scope(tenant):
        return JobState.objects.filter(task=task.name).first()


def _letters(tenant) -> list[DeadLetter]:
    with tenant_scope(tenant):
        return list(DeadLetter.objects.all())


# --- run tracking ------------------------------------------------------------------------------

def test_tracked_task_records_its_runs_in_its_own_tenant(world):
    a, b = world.a.tenant, world.b.tenant
    assert tracked_ok.apply(kwargs={"tenant_id": a.pk, "code": "ALPHA"}).get() == {"branches": 4}
    tracked_ok.apply(kwargs={"tenant_id": a.pk, "code": "ALPHA"}).get()

    state = _state(a, tracked_ok)
    assert state.last_outcome == JobOutcome.OK and state.runs == 2 and state.failures == 0
    assert state.last_started_at <= state.last_finished_at == state.last_success_at
    assert state.last_duration_ms is not None and state.last_failure_at is None
    assert state.last_detail == '{"branches": 4}'
    assert _state(b, tracked_ok) is None  # the other company keeps no state of a's runs


def test_a_failing_task_keeps_its_state_and_its_body_is_rolled_back(world):
    a = world.a.tenant
    result = tracked_writes_then_fails.apply(kwargs={"tenant_id": a.pk})
    assert result.failed()

    state = _state(a, tracked_writes_then_fails)
    assert state.last_outcome == JobOutcome.FAILED and state.runs == 1 and state.failures == 1
    assert state.last_failure_at and state.last_success_at is None
    assert state.last_detail == "ValueError: broken input"
    with tenant_scope(a):
        assert not Branch.objects.filter(name="renamed by a failing task").exists()
    [letter] = _letters(a)
    assert (letter.task, letter.error_type, letter.error, letter.attempts) == (
        "tests.jobs.tracked_writes_then_fails", "ValueError", "broken input", 1)
    assert letter.kwargs == {"tenant_id": a.pk} and letter.args == [] and letter.resolved_at is None


def test_untracked_task_records_nothing(world):
    assert untracked.apply(kwargs={"tenant_id": world.a.tenant.pk}).get() == 1
    assert _state(world.a.tenant, untracked) is None


def test_a_task_of_an_inactive_company_records_nothing(world):
    Tenant.objects.filter(pk=world.b.tenant.pk).update(is_active=False)
    assert tracked_ok.apply(kwargs={"tenant_id": world.b.tenant.pk, "code": "BETA"}).get() is None
    with tenant_scope(world.b.tenant):
        assert not JobState.objects.exists()


# --- retries and dead letters ------------------------------------------------------------------

def test_transient_errors_are_retried_and_then_become_one_dead_letter(world):
    a, b = world.a.tenant, world.b.tenant
    result = flaky_database.apply(kwargs={"tenant_id": a.pk, "waybill_id": 42})
    assert result.failed() and isinstance(result.result, OperationalError)
    assert CALLS == [0, 1, 2, 3, 4, 5]  # the first try and five retries

    [letter] = _letters(a)
    assert letter.task == "tests.jobs.flaky_database" and letter.attempts == 6
    assert letter.kwargs == {"tenant_id": a.pk, "waybill_id": 42}
    assert letter.error_type == "OperationalError" and "closed the connection" in letter.error
    state = _state(a, flaky_database)
    assert state.last_outcome == JobOutcome.FAILED and state.runs == 6 and state.failures == 6
    assert _letters(b) == []


def test_a_retry_that_succeeds_leaves_no_dead_letter(world):
    a = world.a.tenant
    assert recovers.apply(kwargs={"tenant_id": a.pk}).get() == "done"
    assert CALLS == [0, 1, 2]
    state = _state(a, recovers)
    assert state.last_outcome == JobOutcome.OK and state.failures == 2 and state.runs == 3
    assert _letters(a) == []


def test_on_retry_marks_the_job_retrying(world):
    a = world.a.tenant
    # The handler Celery calls between tries (eager runs go straight on to the next try).
    recovers.on_retry(OperationalError("lock timeout"), "task-1", (), {"tenant_id": a.pk}, None)
    state = _state(a, recovers)
    assert state.last_outcome == JobOutcome.RETRYING and state.last_detail == "OperationalError: lock timeout"


def test_a_failure_without_a_tenant_is_only_logged(world, caplog):
    result = flaky_database.apply(kwargs={"waybill_id": 1})
    assert result.failed() and isinstance(result.result, TypeError)
    assert "failed without a tenant" in caplog.text
    assert _letters(world.a.tenant) == [] and _letters(world.b.tenant) == []


def test_retry_policy_defaults():
    assert TRANSIENT_RETRY["autoretry_for"] == (OperationalError,)
    assert flaky_database.max_retries == 5 and flaky_database.retry_backoff is True
    assert flaky_database.retry_backoff_max == 600 and flaky_database.retry_jitter is True
    assert settings.CELERY_TASK_PUBLISH_RETRY_POLICY["max_retries"] <= 2
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options["visibility_timeout"] > TRANSIENT_RETRY["retry_backoff_max"]
    assert options["socket_connect_timeout"] <= 5


# --- the registry ------------------------------------------------------------------------------

def test_registry_covers_exactly_the_beat_schedule():
    assert set(JOBS) == set(app.conf.beat_schedule)
    for key, (label, description, tenant_tasks) in JOBS.items():
        assert str(label) and str(description), key
        assert all(isinstance(name, str) for name in tenant_tasks), key


def test_every_tenant_task_of_the_schedule_exists_and_tracks_its_runs():
    app.loader.import_default_modules()
    platform = {job.platform_task for job in periodic_jobs()}
    missing = sorted((platform | set(tracked_task_names())) - set(app.tasks))
    assert missing == [], f"beat tasks not registered: {missing}"
    untracked_tasks = sorted(name for name in tracked_task_names()
                             if not (isinstance(app.tasks[name], TenantTask) and app.tasks[name].track_runs))
    assert untracked_tasks == [], f"periodic tenant tasks without track_runs=True: {untracked_tasks}"


def test_tenant_jobs_leave_out_platform_only_entries():
    keys = {job.key for job in tenant_jobs()}
    assert "platform-clear-expired-sessions" not in keys and "shipments-tracking-partitions" not in keys
    assert {"tickets-sla-sweep", "customers-churn-scan", "tickets-survey-sweep", "reports-rollup"} <= keys


# --- schedule in words and next run ------------------------------------------------------------

@pytest.mark.parametrize(("schedule", "words"), [
    (crontab(minute="*/5"), "every 5 minutes"),
    (crontab(minute="*/1"), "every minute"),
    (crontab(hour=2, minute=40), "daily at 02:40"),
    (crontab(minute=25), "hourly at :25"),
    (crontab(hour="8-20", minute=5), "hourly at :05, 08:00–20:59"),
    (crontab(hour=3, minute=0, day_of_week=1), "cron 0 3 * * 1"),
])
def test_schedule_in_words(schedule, words):
    from django.utils import translation

    with translation.override("en"):
        assert schedule_in_words(schedule) == words
    with translation.override("zh-hans"):
        assert schedule_in_words(schedule) != words or words.startswith("cron")  # translated


@pytest.mark.parametrize(("schedule", "now", "expected"), [
    (crontab(hour=2, minute=40), dt.datetime(2026, 12, 8, 2, 39, 30), dt.datetime(2026, 12, 8, 2, 40)),
    (crontab(hour=2, minute=40), dt.datetime(2026, 12, 8, 2, 40, 0), dt.datetime(2026, 12, 9, 2, 40)),
    (crontab(hour=2, minute=40), dt.datetime(2026, 12, 31, 23, 0), dt.datetime(2027, 1, 1, 2, 40)),
    (crontab(minute="*/5"), dt.datetime(2026, 12, 8, 10, 7, 12), dt.datetime(2026, 12, 8, 10, 10)),
    (crontab(minute="*/30"), dt.datetime(2026, 12, 8, 23, 45), dt.datetime(2026, 12, 9, 0, 0)),
    (crontab(hour="8-20", minute=5), dt.datetime(2026, 12, 8, 20, 30), dt.datetime(2026, 12, 9, 8, 5)),
])
def test_next_fire_time_in_the_schedule_time_zone(schedule, now, expected):
    schedule.app = app
    local_now = now.replace(tzinfo=SHANGHAI)
    assert next_fire_time(schedule, local_now) == expected.replace(tzinfo=SHANGHAI)
    # The same instant given in UTC fires at the same moment (02:40 in Shanghai is 18:40 UTC).
    assert next_fire_time(schedule, local_now.astimezone(dt.UTC)) == expected.replace(tzinfo=SHANGHAI)


def test_publishing_gives_up_quickly_when_the_broker_is_down():
    """A web request that queues a task must not hang while Redis is down: the project's publish
    retry policy and connect timeout, against a port where nothing listens."""
    import time

    from celery import Celery
    from kombu.exceptions import OperationalError as BrokerError

    probe = Celery("broker-down-probe")
    probe.config_from_object("django.conf:settings", namespace="CELERY")
    probe.conf.broker_url = "redis://127.0.0.1:1/0"
    started = time.monotonic()
    with pytest.raises(BrokerError):
        probe.send_task("tenancy.tasks.tenant_key_age_check", kwargs={"tenant_id": 1})
    assert time.monotonic() - started < 5
