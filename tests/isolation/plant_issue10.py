"""Objects of issue 10 in both tenants for the leak walk (after the ticket and shipment plants):
a customer's churn state with its alert and open retention task, a CSAT survey on the planted ticket and an NPS survey
on the planted waybill (both answered), a job's last run and a dead letter. Made directly through
the ORM: what the walk needs is rows to aim at, not the jobs that would make them. B's texts
carry the canary."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from django.utils import timezone

from customers.models import ChurnAlert, CustomerChurn, RetentionTask
from tenancy.models import DeadLetter, JobOutcome, JobState
from tenancy.scoping import tenant_scope
from tickets.models import Survey, SurveyChannel, SurveyKind, SurveyStatus

from .walk import CANARY


def plant_issue10_objects(world) -> None:
    now = timezone.now()
    for tw, label, phone in ((world.a, "", "13700000077"), (world.b, CANARY, "13900000077")):
        with tenant_scope(tw.tenant):
            reasons = [{"code": "volume_drop", "recent": 3, "baseline": 40, "drop_pct": 92}]
            CustomerChurn.objects.create(customer=tw.cust.account, risk="high", score=85, reasons=reasons,
                                         scored_at=now)
            alert = ChurnAlert.objects.create(customer=tw.cust.account, raised_on=timezone.localdate(), score=85,
                                              reasons=reasons)
            task = RetentionTask.objects.create(alert=alert, customer=tw.cust.account,
                                                assignee=tw.members["sales_manager"],
                                                due_date=timezone.localdate() + dt.timedelta(days=3),
                                                suggested_actions=["call_back", "offer"],
                                                outcome_note=f"{label}已约拜访")
            csat = Survey.objects.create(kind=SurveyKind.CSAT, ticket=tw.desk.ticket, customer=tw.cust.person,
                                         channel=SurveyChannel.SMS, phone=phone, status=SurveyStatus.ANSWERED,
                                         attempts=1, sent_at=now, expires_at=now + dt.timedelta(days=7), score=2,
                                         comment=f"{label}等了太久", answered_at=now)
            nps = Survey.objects.create(kind=SurveyKind.NPS, waybill=tw.ship.waybill, customer=tw.cust.person,
                                        channel=SurveyChannel.SMS, phone=phone, status=SurveyStatus.ANSWERED,
                                        attempts=1, sent_at=now, expires_at=now + dt.timedelta(days=7), score=9,
                                        comment=f"{label}很快", answered_at=now)
            job = JobState.objects.create(task="customers.tasks.churn_scan", last_started_at=now,
                                          last_finished_at=now, last_duration_ms=120, last_outcome=JobOutcome.OK,
                                          last_detail=f"{label}scored 10", last_success_at=now, runs=1)
            dead = DeadLetter.objects.create(task="tickets.tasks.surveys_send_batch", task_id="walk",
                                             kwargs={"tenant_id": tw.tenant.pk, "survey_ids": [csat.pk]},
                                             error_type="GatewayTransientError", error=f"{label}gateway timeout",
                                             attempts=6)
        tw.issue10 = SimpleNamespace(alert=alert, task=task, csat=csat, nps=nps, job=job, dead=dead)
