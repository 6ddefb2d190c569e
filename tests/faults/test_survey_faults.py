"""Survey sending survives a broker that dies and a worker that dies mid-task, through real Celery
workers on a served database and a private Redis (tests/faults/harness.py), with the file gateway.

Exactly once, three ways: one `<public_id>.json` per survey in the outbox, one line per survey in
one message file per survey, and every survey `sent` in the database — while the other company's surveys stay as
they were. Lost messages are recovered by the sweep, not by Redis (ARCHITECTURE.md §6)."""
from __future__ import annotations

import time

import pytest

from .harness import Rig, fault_rig, wait_until

pytestmark = pytest.mark.worker

TENANT = "fault-a"
OTHER = "fault-b"
OTHER_SURVEYS = 20

# Two companies, each with delivered waybills (receiver phone) and one pending NPS survey by SMS per
# waybill — the cheapest valid survey: no tickets, no customers. Rows go in with bulk_insert (one
# statement, sealed phones and blind indexes), surveys created a minute ago so they are due.
SETUP = """
import datetime as dt, json
from django.utils import timezone
from customers.importing import bulk_insert
from shipments.models import Waybill, WaybillStatus
from tenancy.scoping import tenant_scope
from tenancy.services import platform_tenant_create
from tickets.models import Survey, SurveyChannel, SurveyKind
from tickets.services.surveys import surveys_dispatch_pending

now = timezone.now()
delivered = now - dt.timedelta(hours=20)
tenant_ids = {{}}
for code, count in (({tenant!r}, {count}), ({other!r}, {other_count})):
    tenant = platform_tenant_create(code=code, name=code, name_en=code)
    tenant_ids[code] = tenant.pk
    with tenant_scope(tenant):
        phones = [f"+86139{{i:08d}}" for i in range(count)]
        waybills = [Waybill(number=f"FT{{i:07d}}", status=WaybillStatus.DELIVERED, status_at=delivered,
                            delivered_at=delivered, receiver_name="李四", receiver_phone=phone)
                    for i, phone in enumerate(phones)]
        bulk_insert(Waybill, waybills)
        bulk_insert(Survey, [Survey(kind=SurveyKind.NPS, waybill_id=w.pk, channel=SurveyChannel.SMS, phone=phone,
                                    created_at=now - dt.timedelta(minutes=1))
                             for w, phone in zip(waybills, phones)])
with tenant_scope(tenant_ids[{tenant!r}]):
    queued = surveys_dispatch_pending(older_than=dt.timedelta(0))
print(json.dumps({{"tenant_ids": tenant_ids, "queued": queued}}))
"""

STATE = f"""
import json
from django.db.models import Count, Min, Q, Sum
from tenancy.models import Tenant
from tenancy.scoping import tenant_scope
from tickets.models import Survey
state = {{}}
for code in ({TENANT!r}, {OTHER!r}):
    with tenant_scope(Tenant.objects.get(code=code)):
        surveys = Survey.objects.all()
        state[code] = {{
            "by_status": dict(surveys.order_by().values_list("status").annotate(n=Count("id"))),
            "sent_keys": sorted(str(k) for k in surveys.filter(status="sent").values_list("public_id", flat=True)),
            "all_keys": sorted(str(k) for k in surveys.values_list("public_id", flat=True)),
            **surveys.aggregate(min_attempts=Min("attempts"), attempts=Sum("attempts"),
                                with_sent_at=Count("id", filter=~Q(sent_at=None))),
        }}
print(json.dumps(state))
"""

SWEEP = """
import json
from tickets.tasks import survey_sweep
survey_sweep.delay(tenant_id={tenant_id}, pending_older_than_seconds=0)
print("{{}}")
"""


def _setup(rig: Rig, count: int) -> int:
    made = rig.run(SETUP.format(tenant=TENANT, other=OTHER, count=count, other_count=OTHER_SURVEYS))
    assert made["queued"] == count, made
    return made["tenant_ids"][TENANT]


def _sweep_until_all_sent(rig: Rig, tenant_id: int, count: int, *, rounds: int = 5) -> dict:
    """What beat does after an outage: run the sweep (through the broker) and let the workers work;
    again while the database still holds pending surveys."""
    for _round in range(rounds):
        rig.run(SWEEP.format(tenant_id=tenant_id))
        last, idle_since = -1, time.monotonic()
        while rig.outbox.sent_count() < count and time.monotonic() - idle_since < 10:
            current = rig.outbox.sent_count()
            if current != last:
                last, idle_since = current, time.monotonic()
            time.sleep(0.05)
        state = rig.run(STATE)
        if not state[TENANT]["by_status"].get("pending"):
            return state
    return state


def _assert_each_sent_exactly_once(rig: Rig, state: dict, count: int) -> None:
    ours = state[TENANT]
    output = rig.worker_output()
    assert ours["by_status"] == {"sent": count}, (ours["by_status"], output)
    assert ours["min_attempts"] >= 1 and ours["with_sent_at"] == count, output
    messages = rig.outbox.messages()
    keys = [m["idempotency_key"] for m in messages]
    diagnosis = {"missing": sorted(set(ours["sent_keys"]) - set(keys))[:5], "problems": rig.worker_problems()}
    # One delivery per survey: a whole message per survey, no key twice, exactly our surveys.
    assert len(keys) == count and len(set(keys)) == count, (len(keys), len(set(keys)), diagnosis)
    assert set(keys) == set(ours["sent_keys"]) == set(ours["all_keys"]) == rig.outbox.message_keys()
    # The other company: nothing sent, nothing attempted, no file of theirs.
    theirs = state[OTHER]
    assert theirs["by_status"] == {"pending": OTHER_SURVEYS}
    assert theirs["attempts"] == 0 and theirs["with_sent_at"] == 0
    assert not rig.outbox.message_keys() & set(theirs["all_keys"])


def test_kill_redis_during_dispatch_each_survey_sent_exactly_once():
    count = 1000
    with fault_rig("faults_redis") as rig:
        tenant_id = _setup(rig, count)
        assert rig.redis.queued() == count // 100  # chunks of 100 ids wait in the broker
        rig.worker("w1")
        rig.worker("w2")
        wait_until(lambda: rig.outbox.sent_count() >= 300, timeout=120, interval=0.02,
                   message=lambda: f"sending did not start\n{rig.worker_output()}")
        rig.redis.kill()
        at_kill = rig.outbox.sent_count()
        assert at_kill < count, "everything was sent before Redis died: the test proved nothing"
        # Workers finish the batch they hold (the database and the outbox need no broker), then
        # fail to acknowledge it and keep reconnecting.
        time.sleep(3)
        rig.redis.restart()
        # The restarted Redis is empty: the queued chunks and the unacknowledged ones are gone.
        assert rig.redis.queued() == 0
        at_restart = rig.outbox.sent_count()
        assert at_restart < count, "nothing was left for the sweep to recover"
        state = _sweep_until_all_sent(rig, tenant_id, count)
        _assert_each_sent_exactly_once(rig, state, count)


def test_sigkill_worker_mid_task_effect_happens_once():
    """A worker SIGKILLed inside a batch dies at one of three points for the survey in hand:
    (1) before its transaction wrote anything — the row lock goes with the connection and the
    survey is still pending; (2) after the gateway wrote `<public_id>.json` but before COMMIT — the
    database rolls the status back to pending, and the retry's exclusive create finds the file
    (the gateway's idempotency key is the survey's public id, like a provider that honours
    idempotency keys) so nothing is delivered or logged twice; (3) after COMMIT — the survey is
    `sent`, and the retry's `SELECT … FOR UPDATE SKIP LOCKED … status = pending` no longer sees it.
    The batch's message is never acknowledged (acks_late) and Redis would hand it out again only
    after the visibility timeout; the sweep queues the pending surveys again at once."""
    count = 300
    # 20 ms per send: a batch of 100 takes two seconds or more, so the kill lands inside one.
    with fault_rig("faults_worker", file_delay_ms=20) as rig:
        tenant_id = _setup(rig, count)
        first = rig.worker("w1")
        wait_until(lambda: rig.outbox.sent_count() >= 40, timeout=120, interval=0.01,
                   message=lambda: f"sending did not start\n{rig.worker_output()}")
        first.kill()
        at_kill = rig.outbox.sent_count()
        assert at_kill < 100, "the first batch was finished before the kill"
        rig.worker("w2")
        state = _sweep_until_all_sent(rig, tenant_id, count)
        _assert_each_sent_exactly_once(rig, state, count)
