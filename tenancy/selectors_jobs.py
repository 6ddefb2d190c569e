"""Reads of the job-monitoring page and API: each periodic job with the current company's
`JobState` of its tenant tasks, and the company's dead letters."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from .jobs import PeriodicJob, tenant_jobs
from .models import DeadLetter, JobState


@dataclass(frozen=True)
class TaskRun:
    task: str
    state: JobState | None

    @property
    def outcome(self) -> str:
        return self.state.last_outcome if self.state else ""


@dataclass(frozen=True)
class JobRow:
    job: PeriodicJob
    next_run: dt.datetime
    tasks: tuple[TaskRun, ...]

    @property
    def failures(self) -> int:
        return sum(run.state.failures for run in self.tasks if run.state)


def job_rows(*, now: dt.datetime | None = None) -> list[JobRow]:
    """One row per periodic job that works per company, with the state of its tenant tasks in the
    current company (one query for all of them)."""
    now = now or timezone.now()
    jobs = tenant_jobs()
    names = {name for job in jobs for name in job.tenant_tasks}
    states = {state.task: state for state in JobState.objects.filter(task__in=names)}
    return [JobRow(job=job, next_run=job.next_run(now),
                   tasks=tuple(TaskRun(task=name, state=states.get(name)) for name in job.tenant_tasks))
            for job in jobs]


def dead_letter_list(*, open_only: bool = False) -> QuerySet[DeadLetter]:
    """The company's dead letters, newest first (open ones only when asked)."""
    letters = DeadLetter.objects.select_related("resolved_by")
    if open_only:
        letters = letters.filter(resolved_at__isnull=True)
    return letters.order_by("-created_at", "-id")


def dead_letter_get(*, pk: int) -> DeadLetter:
    """One of the company's dead letters; DeadLetter.DoesNotExist for another company's id."""
    return dead_letter_list().get(pk=pk)
