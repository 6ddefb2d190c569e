"""The SLA sweep of one tenant (tickets.tasks runs it every 5 minutes): warn once per target at
its warning time, mark a missed target once, escalate (notify the team lead or else the branch's
managers, raise the priority one step, optionally hand the ticket to the lead, bump the
escalation level; rules SLA_BREACH_*), with the timeline rows and notifications.

Set-based: two statements per tenant whatever the number of tickets (UPDATE … RETURNING in
data-modifying CTEs, the timeline rows and notifications inserted by the same statement). Rows
another transaction holds (a ticket being changed right now) are skipped (SKIP LOCKED) and caught
by the next run; every effect is recorded on the ticket (warned / breached flags) and
notifications are unique per key, so a second run changes nothing more. Paused tickets
(waiting for the customer) are left alone."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.models import Membership, Notification, User
from tenancy.scoping import current_tenant_id

from .. import rules
from ..models import Team, Ticket, TicketEvent


@dataclass
class SweepResult:
    warned: int = 0        # warnings given (a ticket may get one per target)
    breached: int = 0      # targets newly marked breached
    escalated: int = 0     # tickets escalated
    reassigned: int = 0    # tickets handed to their team lead
    notified: int = 0      # notifications created

    def as_dict(self) -> dict:
        return asdict(self)


def _tables() -> dict[str, str]:
    return {"ticket": Ticket._meta.db_table, "event": TicketEvent._meta.db_table, "team": Team._meta.db_table,
            "membership": Membership._meta.db_table, "notification": Notification._meta.db_table,
            "user": User._meta.db_table}


def _ticket_url() -> str:
    return reverse("tickets:detail", args=[987654321]).replace("987654321", "{id}")


# A due time as the timeline and notifications show it: in the site's time zone.
_DUE_TEXT = "to_char(({due}) AT TIME ZONE %(tz)s, 'YYYY-MM-DD HH24:MI')"

_BREACH_SQL = """
WITH due AS (
    SELECT t.id, t.number, t.subject, t.status, t.priority AS old_priority, t.assignee_id AS old_assignee,
           t.branch_id, t.first_response_due, t.resolution_due, t.escalation_level,
           (t.first_responded_at IS NULL AND NOT t.first_response_breached
            AND t.first_response_due < %(now)s) AS fr,
           (NOT t.resolution_breached AND t.resolution_due < %(now)s) AS rs,
           lead.id AS lead_id, lead_user.display_name AS lead_name
    FROM {ticket} t
    LEFT JOIN {team} tm ON tm.id = t.team_id
    LEFT JOIN {membership} lead ON lead.id = tm.lead_id AND lead.is_active
    LEFT JOIN {user} lead_user ON lead_user.id = lead.user_id
    WHERE t.tenant_id = %(tenant)s AND NOT t.status IN ('resolved', 'closed') AND t.sla_paused_at IS NULL
      AND ((t.first_responded_at IS NULL AND NOT t.first_response_breached AND t.first_response_due < %(now)s)
           OR (NOT t.resolution_breached AND t.resolution_due < %(now)s))
    ORDER BY t.id
    FOR UPDATE OF t SKIP LOCKED
), upd AS (
    UPDATE {ticket} t SET
        first_response_breached = t.first_response_breached OR d.fr,
        resolution_breached = t.resolution_breached OR d.rs,
        priority = CASE WHEN %(raise)s THEN CASE t.priority WHEN 'low' THEN 'normal' WHEN 'normal' THEN 'high'
                                                            ELSE 'urgent' END
                        ELSE t.priority END,
        assignee_id = CASE WHEN %(reassign)s AND d.rs AND d.lead_id IS NOT NULL THEN d.lead_id
                           ELSE t.assignee_id END,
        status = CASE WHEN %(reassign)s AND d.rs AND d.lead_id IS NOT NULL AND t.status = 'new' THEN 'assigned'
                      ELSE t.status END,
        escalation_level = t.escalation_level + 1,
        escalated_at = %(now)s,
        updated_at = %(now)s
    FROM due d
    WHERE t.id = d.id
    RETURNING t.id, t.priority, t.assignee_id, t.status, t.escalation_level
), recipients AS (
    -- The team lead; without one, the managers of the ticket's branch.
    SELECT d.id AS ticket_id, d.lead_id AS membership_id FROM due d WHERE d.lead_id IS NOT NULL
    UNION
    SELECT d.id, m.id FROM due d JOIN {membership} m
        ON m.tenant_id = %(tenant)s AND m.branch_id = d.branch_id AND m.role = 'branch_manager' AND m.is_active
    WHERE d.lead_id IS NULL
), notified AS (
    -- Each ticket's recipients as one array (joined once, not looked up per ticket).
    SELECT r.ticket_id, array_agg(r.membership_id ORDER BY r.membership_id) AS ids
    FROM recipients r GROUP BY r.ticket_id
), events AS (
    INSERT INTO {event} (tenant_id, ticket_id, kind, actor_id, from_status, to_status, body, data, created_at)
    SELECT %(tenant)s, e.ticket_id, e.kind, NULL, e.from_status, e.to_status, e.body, e.data, %(now)s
    FROM (
        SELECT d.id AS ticket_id, x.seq, 'sla_breached' AS kind, '' AS from_status, '' AS to_status,
               replace(x.body, '{{due}}', {due_x}) AS body,
               jsonb_build_object('target', x.target, 'due', x.due) AS data
        FROM due d CROSS JOIN LATERAL (VALUES
            (1, 'first_response', d.fr, d.first_response_due, %(fr_breach_body)s),
            (2, 'resolution', d.rs, d.resolution_due, %(rs_breach_body)s)) AS x(seq, target, hit, due, body)
        WHERE x.hit
        UNION ALL
        SELECT d.id, 3, 'escalated', d.status, u.status,
               replace(%(escalated_body)s, '{{level}}', u.escalation_level::text),
               jsonb_build_object('level', u.escalation_level, 'from_priority', d.old_priority,
                                  'to_priority', u.priority,
                                  'targets', to_jsonb(array_remove(ARRAY[CASE WHEN d.fr THEN 'first_response' END,
                                                                         CASE WHEN d.rs THEN 'resolution' END],
                                                                   NULL)),
                                  'notified', to_jsonb(COALESCE(n.ids, '{{}}')))
        FROM due d JOIN upd u ON u.id = d.id LEFT JOIN notified n ON n.ticket_id = d.id
        UNION ALL
        SELECT d.id, 4, 'assigned', d.status, u.status, %(reassigned_body)s,
               jsonb_build_object('from', d.old_assignee, 'to', u.assignee_id, 'to_name', d.lead_name,
                                  'reason', 'sla_escalation')
        FROM due d JOIN upd u ON u.id = d.id
        WHERE u.assignee_id IS DISTINCT FROM d.old_assignee
    ) e
    ORDER BY e.ticket_id, e.seq
    RETURNING 1
), notes AS (
    INSERT INTO {notification} (tenant_id, membership_id, title, body, url, dedup_key, created_at)
    SELECT %(tenant)s, r.membership_id, left(replace(%(title)s, '{{number}}', d.number), 200),
           replace(replace(%(note_body)s, '{{subject}}', d.subject), '{{level}}', u.escalation_level::text),
           left(replace(%(url)s, '{{id}}', d.id::text), 300),
           'sla:' || d.id || ':escalated:' || u.escalation_level, %(now)s
    FROM recipients r JOIN due d ON d.id = r.ticket_id JOIN upd u ON u.id = d.id
    ON CONFLICT (tenant_id, membership_id, dedup_key) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FILTER (WHERE fr) + count(*) FILTER (WHERE rs) FROM due),
       (SELECT count(*) FROM upd),
       (SELECT count(*) FROM upd u JOIN due d ON d.id = u.id WHERE u.assignee_id IS DISTINCT FROM d.old_assignee),
       (SELECT count(*) FROM notes),
       (SELECT count(*) FROM events)
"""

_WARN_SQL = """
WITH hit AS (
    SELECT t.id, t.number, t.subject, t.branch_id, t.first_response_due, t.resolution_due,
           (t.first_responded_at IS NULL AND NOT t.first_response_breached AND NOT t.first_response_warned
            AND t.first_response_warn_at <= %(now)s) AS fw,
           (NOT t.resolution_breached AND NOT t.resolution_warned AND t.resolution_warn_at <= %(now)s) AS rw,
           assignee.id AS assignee_id, lead.id AS lead_id
    FROM {ticket} t
    LEFT JOIN {membership} assignee ON assignee.id = t.assignee_id AND assignee.is_active
    LEFT JOIN {team} tm ON tm.id = t.team_id
    LEFT JOIN {membership} lead ON lead.id = tm.lead_id AND lead.is_active
    WHERE t.tenant_id = %(tenant)s AND NOT t.status IN ('resolved', 'closed') AND t.sla_paused_at IS NULL
      AND ((t.first_responded_at IS NULL AND NOT t.first_response_breached AND NOT t.first_response_warned
            AND t.first_response_warn_at <= %(now)s)
           OR (NOT t.resolution_breached AND NOT t.resolution_warned AND t.resolution_warn_at <= %(now)s))
    ORDER BY t.id
    FOR UPDATE OF t SKIP LOCKED
), upd AS (
    UPDATE {ticket} t SET first_response_warned = t.first_response_warned OR h.fw,
                          resolution_warned = t.resolution_warned OR h.rw
    FROM hit h WHERE t.id = h.id
    RETURNING t.id
), targets AS (
    SELECT h.*, x.seq, x.target, x.due, x.body
    FROM hit h CROSS JOIN LATERAL (VALUES
        (1, 'first_response', h.fw, h.first_response_due, %(fr_body)s),
        (2, 'resolution', h.rw, h.resolution_due, %(rs_body)s)) AS x(seq, target, hit, due, body)
    WHERE x.hit
), events AS (
    INSERT INTO {event} (tenant_id, ticket_id, kind, actor_id, from_status, to_status, body, data, created_at)
    SELECT %(tenant)s, g.id, 'sla_warning', NULL, '', '', replace(g.body, '{{due}}', {due_g}),
           jsonb_build_object('target', g.target, 'due', g.due), %(now)s
    FROM targets g
    ORDER BY g.id, g.seq
    RETURNING 1
), recipients AS (
    -- The assignee; unassigned, the team lead; without one either, the branch's managers.
    SELECT g.id AS ticket_id, g.target, g.due, g.assignee_id AS membership_id
    FROM targets g WHERE g.assignee_id IS NOT NULL
    UNION ALL
    SELECT g.id, g.target, g.due, g.lead_id FROM targets g WHERE g.assignee_id IS NULL AND g.lead_id IS NOT NULL
    UNION ALL
    SELECT g.id, g.target, g.due, m.id FROM targets g JOIN {membership} m
        ON m.tenant_id = %(tenant)s AND m.branch_id = g.branch_id AND m.role = 'branch_manager' AND m.is_active
    WHERE g.assignee_id IS NULL AND g.lead_id IS NULL
), notes AS (
    INSERT INTO {notification} (tenant_id, membership_id, title, body, url, dedup_key, created_at)
    SELECT %(tenant)s, r.membership_id,
           left(replace(CASE r.target WHEN 'first_response' THEN %(fr_title)s ELSE %(rs_title)s END,
                        '{{number}}', h.number), 200),
           replace(replace(%(note_body)s, '{{subject}}', h.subject), '{{due}}', {due_r}),
           left(replace(%(url)s, '{{id}}', h.id::text), 300),
           'sla:' || h.id || ':' || r.target || ':warn:' || floor(extract(epoch FROM r.due))::bigint, %(now)s
    FROM recipients r JOIN hit h ON h.id = r.ticket_id
    ON CONFLICT (tenant_id, membership_id, dedup_key) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM targets), (SELECT count(*) FROM notes), (SELECT count(*) FROM upd),
       (SELECT count(*) FROM events)
"""


def sla_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    """Warn, mark breaches and escalate the current tenant's open tickets (set-based; see the
    module's docstring). Paused tickets are left alone. Returns what it did."""
    now = now or timezone.now()
    tenant_id = current_tenant_id()
    today = timezone.localdate(now)
    tables = _tables()
    common = {"tenant": tenant_id, "now": now, "tz": settings.TIME_ZONE, "url": _ticket_url()}
    result = SweepResult()
    with transaction.atomic(), connection.cursor() as cursor:
        # Two large statements whose estimated cost is far above jit_above_cost: PostgreSQL's JIT
        # would spend seconds compiling them (measured 5 s for 2,000 open tickets) for plans that
        # run in milliseconds. Off for this transaction only, restored at the end.
        cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
        jit_before = cursor.fetchone()[0]
        breach_sql = _BREACH_SQL.format(**tables, due_x=_DUE_TEXT.format(due="x.due"))
        cursor.execute(breach_sql, {
            **common,
            "raise": bool(rules.SLA_BREACH_RAISES_PRIORITY.value(on=today)),
            "reassign": bool(rules.SLA_BREACH_REASSIGNS_TO_LEAD.value(on=today)),
            "fr_breach_body": _("The first response was due at {due} and is late."),
            "rs_breach_body": _("The resolution was due at {due} and is late."),
            "escalated_body": _("Escalated to level {level} after a missed SLA target."),
            "reassigned_body": _("Handed to the team lead after a missed resolution target."),
            "title": _("SLA breached: ticket {number} escalated"),
            "note_body": _("{subject} — escalation level {level}."),
        })
        breached, escalated, reassigned, notified, _events = cursor.fetchone()
        result.breached, result.escalated, result.reassigned = breached, escalated, reassigned
        result.notified += notified
        warn_sql = _WARN_SQL.format(**tables, due_g=_DUE_TEXT.format(due="g.due"),
                                    due_r=_DUE_TEXT.format(due="r.due"))
        cursor.execute(warn_sql, {
            **common,
            "fr_body": _("First response due at {due}."),
            "rs_body": _("Resolution due at {due}."),
            "fr_title": _("SLA warning: ticket {number} needs a first response"),
            "rs_title": _("SLA warning: ticket {number} is due for resolution"),
            "note_body": _("{subject} — due at {due}."),
        })
        warned, notified, _updated, _events = cursor.fetchone()
        result.warned = warned
        result.notified += notified
        cursor.execute("SELECT set_config('jit', %s, true)", [jit_before])
    return result


