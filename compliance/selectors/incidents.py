"""Reads of the data-leak incident register: the list with its filters, one incident with its
timeline, remedial actions, affected records by type and the authority clock, and the counts the
compliance overview shows. The authority clock: a leak is reported to the postal authority within
`INCIDENT_AUTHORITY_HOURS` of its detection (DOMAIN.md §6)."""
from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from tenancy.models import Branch, Membership

from .. import rules
from ..models import AffectedRecord, Incident, IncidentSeverity, IncidentStatus


def authority_hours() -> int:
    return rules.INCIDENT_AUTHORITY_HOURS.value()


def authority_overdue_q(*, now: dt.datetime, hours: int) -> Q:
    """Not closed, not reported, and detected longer ago than the authority clock allows."""
    return (~Q(status=IncidentStatus.CLOSED) & Q(authority_notified_at__isnull=True)
            & Q(detected_at__lt=now - dt.timedelta(hours=hours)))


def incident_list(*, status: str | None = None, severity: str | None = None, branch: Branch | None = None,
                  overdue: bool | None = None, q: str = "", now: dt.datetime | None = None,
                  hours: int | None = None) -> QuerySet[Incident]:
    """Incidents newest detected first. `branch` takes its subtree; `overdue` True keeps the
    incidents whose authority report is overdue (False the others)."""
    qs = Incident.objects.select_related("branch", "owner__user").order_by("-detected_at", "-id")
    if status:
        qs = qs.filter(status=status)
    if severity:
        qs = qs.filter(severity=severity)
    if branch is not None:
        qs = qs.filter(branch__path__startswith=branch.path)
    if overdue is not None:
        condition = authority_overdue_q(now=now or timezone.now(), hours=authority_hours() if hours is None else hours)
        qs = qs.filter(condition) if overdue else qs.exclude(condition)
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(title__icontains=q))
    return qs


def incident_get(*, pk: int) -> Incident:
    """One incident of this company (Incident.DoesNotExist otherwise: a 404 to the caller)."""
    return (Incident.objects.select_related("branch", "owner__user", "created_by", "violation_case")
            .get(pk=pk))


def authority_clock(incident: Incident, *, now: dt.datetime | None = None, hours: int | None = None) -> dict:
    """When the report to the authority is due, and where the incident stands: `reported` (and
    whether late), `overdue`, or `due` (still in time)."""
    now = now or timezone.now()
    hours = authority_hours() if hours is None else hours
    due_at = incident.detected_at + dt.timedelta(hours=hours)
    if incident.authority_notified_at is not None:
        state = "reported"
    elif incident.status == IncidentStatus.CLOSED:
        state = "closed"
    else:
        state = "overdue" if now > due_at else "due"
    return {"hours": hours, "due_at": due_at, "state": state,
            "late": incident.authority_notified_at is not None and incident.authority_notified_at > due_at}


def affected_by_type(incident: Incident) -> list[dict]:
    """Records and distinct people per record type — one aggregate query."""
    return list(
        AffectedRecord.objects.filter(incident=incident).values("target_type")
        .annotate(records=Count("id"), people=Count("person_key", distinct=True, filter=~Q(person_key="")))
        .order_by("target_type"))


def affected_records(incident: Incident) -> QuerySet[AffectedRecord]:
    """The affected records (ids and types only), in the order they were found."""
    return AffectedRecord.objects.filter(incident=incident).only("id", "target_type", "target_id").order_by("id")


def incident_detail(incident: Incident, *, now: dt.datetime | None = None) -> dict:
    """Everything the incident page and the API detail show beside the incident itself."""
    return {
        "events": list(incident.events.select_related("actor").order_by("created_at", "id")),
        "actions": list(incident.actions.select_related("owner__user").order_by("done_at", "due_on", "id")),
        "affected_by_type": affected_by_type(incident),
        "clock": authority_clock(incident, now=now),
    }


def incident_overview(*, now: dt.datetime | None = None) -> dict:
    """For the compliance overview: incidents not closed, by severity; how many authority reports
    are overdue — one query."""
    now = now or timezone.now()
    not_closed = ~Q(status=IncidentStatus.CLOSED)
    aggregates = {f"open_{value}": Count("id", filter=not_closed & Q(severity=value))
                  for value in IncidentSeverity.values}
    aggregates["open_total"] = Count("id", filter=not_closed)
    aggregates["authority_overdue"] = Count("id", filter=authority_overdue_q(now=now, hours=authority_hours()))
    row = Incident.objects.aggregate(**aggregates)
    return {
        "open_by_severity": {value: row[f"open_{value}"] for value in IncidentSeverity.values},
        "open_total": row["open_total"],
        "authority_overdue": row["authority_overdue"],
    }


def incident_member_choices() -> QuerySet[Membership]:
    """Employees an incident, an action or a violation proposal can name."""
    return Membership.objects.filter(is_active=True).select_related("user").order_by("user__username")


def incident_actor_choices() -> list[Membership]:
    """Everyone who works or worked here (an access-log query may concern a former employee)."""
    return list(Membership.objects.select_related("user").order_by("user__username"))


def incident_branch_choices() -> QuerySet[Branch]:
    return Branch.objects.filter(is_active=True).order_by("path")


def affected_query_summary(query: dict) -> list[tuple[str, str]]:
    """The stored affected-records query as (label, value) pairs a person can read: the kind, the
    window, the branch and employee by name, how many customer numbers."""
    from django.utils.translation import gettext as _

    from tenancy.models import Branch, User

    from ..forms.incidents import QUERY_KINDS

    if not query.get("kind"):
        return []
    parts = [(_("Search"), str(dict(QUERY_KINDS).get(query["kind"], query["kind"])))]
    if query.get("actor"):
        user = User.objects.filter(pk=query["actor"]).first()
        parts.append((_("Employee"), (user.display_name or user.username) if user else str(query["actor"])))
    if query.get("branch"):
        branch = Branch.objects.filter(pk=query["branch"]).first()
        parts.append((_("Branch"), branch.name if branch else str(query["branch"])))
    if query.get("from"):
        parts.append((_("From"), str(query["from"]).replace("T", " ")))
    if query.get("to"):
        parts.append((_("To"), str(query["to"]).replace("T", " ")))
    if query.get("numbers"):
        parts.append((_("Customer numbers"), str(len(query["numbers"]))))
    return parts
