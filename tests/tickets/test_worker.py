"""The service desk's background work through a real Celery worker and the real Redis broker,
on a served copy of the demo database: the beat's SLA sweep marks breaches and escalates, the
outbound sweep gets every pending reply delivered — and running both again changes nothing."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from ..served import BASE_DIR, manage_output, served_database, stop_process

pytestmark = pytest.mark.worker

# Redis database of this test's broker alone: no other consumer takes its messages.
BROKER_DB = 14

SETUP = """
import datetime as dt
from django.utils import timezone
from tenancy.models import Tenant
from tenancy.scoping import tenant_scope
from tickets.models import Ticket, OutboundMessage
past = timezone.now() - dt.timedelta(hours=1)
with tenant_scope(Tenant.objects.get(code="shunda")):
    late = list(Ticket.objects.filter(status__in=["new", "assigned", "in_progress"], first_responded_at=None)
                .order_by("id").values_list("id", flat=True)[:3])
    Ticket.objects.filter(pk__in=late).update(first_response_due=past, first_response_warn_at=past)
    OutboundMessage.objects.filter(status="pending").update(created_at=past)
    print(len(late))
"""

STATE = """
import json
from tenancy.models import Tenant
from tenancy.scoping import tenant_scope
from tickets.models import Ticket, TicketEvent, OutboundMessage
with tenant_scope(Tenant.objects.get(code="shunda")):
    print(json.dumps({
        "breached": Ticket.objects.filter(first_response_breached=True).count(),
        "breach_events": TicketEvent.objects.filter(kind="sla_breached").count(),
        "escalations": TicketEvent.objects.filter(kind="escalated").count(),
        "pending": OutboundMessage.objects.filter(status="pending").count(),
        "delivered": OutboundMessage.objects.exclude(status="pending").count(),
        "attempts": sum(OutboundMessage.objects.values_list("attempts", flat=True)),
    }))
"""

KICK = """
from tickets.tasks import platform_outbound_sweep, platform_sla_sweep
platform_sla_sweep.delay()
platform_outbound_sweep.delay()
"""


def _broker(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{BROKER_DB}"))


def _state(env) -> dict:
    return json.loads(manage_output(env, "shell", "-c", STATE).splitlines()[-1])


def _wait_for(env, done, timeout=60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = _state(env)
        if done(state) or time.monotonic() > deadline:
            return state
        time.sleep(1)


def test_sla_and_outbound_sweeps_through_a_real_worker():
    with served_database("worker") as served_env:
        env = dict(served_env, REDIS_URL=_broker(served_env["REDIS_URL"]))
        flush = "import os, redis; redis.Redis.from_url(os.environ['REDIS_URL']).flushdb()"
        subprocess.run([sys.executable, "-c", flush], env=env, check=True)
        made_late = int(manage_output(env, "shell", "-c", SETUP).splitlines()[-1])
        before = _state(env)
        assert made_late == 3 and before["pending"] > 0 and before["breached"] == 0
        log = tempfile.TemporaryFile()
        worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "courier_crm", "worker", "--pool", "solo",
                                   "--loglevel", "info", "--without-heartbeat", "--without-gossip", "--without-mingle"],
                                  env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT)
        try:
            manage_output(env, "shell", "-c", KICK)
            after = _wait_for(env, lambda s: s["breached"] >= 3 and s["pending"] == 0)
            log.seek(0)
            output = log.read().decode(errors="replace")[-4000:]
            assert after["breached"] == 3, output
            assert after["breach_events"] == before["breach_events"] + 3, output
            assert after["escalations"] >= before["escalations"] + 3, output
            assert after["pending"] == 0 and after["delivered"] == before["delivered"] + before["pending"], output
            # The beat fires again: nothing new happens, nothing is sent twice.
            manage_output(env, "shell", "-c", KICK)
            time.sleep(5)
            again = _wait_for(env, lambda s: True)
            assert again == after, output
        finally:
            stop_process(worker, timeout=20)
            log.close()
