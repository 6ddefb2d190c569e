"""The churn scan of one tenant (DOMAIN.md §7; customers.tasks runs it nightly).

Every customer's health comes from five signals, each worth points (customers.rules CHURN_*):
- volume_drop: parcels in the recent window (the 30 days up to yesterday) against the customer's
  own baseline (the 90 days before), normalised to the same number of days;
- open_complaints: complaint tickets not resolved or closed;
- low_satisfaction: a CSAT ≤ 2 or NPS ≤ 6 answer in the recent window;
- claims_paid: claim payouts in the recent window;
- under_commitment: a B-end account shipping less in the recent window than its active
  contract's monthly commitment.
The points add up to a 0–100 score whose band is the risk (low / medium / high). Each reason is
stored as `{"code": …, numbers …}` so a page can say it in the reader's language.

The state lives in `CustomerChurn`, a narrow 1:1 table: no row means low with no reasons, so
customers that never had a signal cost no row at all, and a changed score is a cheap (HOT)
update instead of a rewrite of the wide, heavily indexed customer row.

Set-based, in one transaction with a fixed number of statements whatever the number of
customers: the first (read-only, so PostgreSQL may run it in parallel) aggregates the daily
volume with the two windows; the second scores every customer with volume history or a stored
state, keeps only those whose risk, score or reasons changed (IS DISTINCT FROM) and only then
joins the wide customer table (merged exclusion, kind, owner, segments) for that changed subset;
the third upserts them and — for those newly at high risk — inserts the day's churn alert, an
open retention task (for the account manager, else for C-end VIPs the retention team's queue)
and the notifications, all in data-modifying CTEs of that one statement.
Every effect has a unique key (one alert per customer and day, one open task per customer, one
notification per alert and member), so running the scan twice changes nothing the second time.
Customers without any volume in the two windows (prospects, long-gone customers) are low with
no reasons: there is nothing to compare against."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.models import Membership, Notification
from tenancy.scoping import current_tenant_id

from .. import rules
from ..models import (
    ChurnAlert,
    Contract,
    Customer,
    CustomerChurn,
    CustomerTag,
    RetentionTask,
    SalesTeam,
    SalesTeamMember,
    Tag,
)

# The hash aggregate over the tenant's daily volume wants memory rather than a spill to disk; the
# setting lasts for the scan's transaction only.
SCAN_WORK_MEM = "256MB"


@dataclass
class ChurnScanResult:
    scored: int = 0      # customers considered (not merged)
    changed: int = 0     # customers whose risk, score or reasons were written
    alerts: int = 0      # churn alerts opened (customers newly at high risk)
    tasks: int = 0       # retention tasks opened
    notified: int = 0    # notifications created

    def as_dict(self) -> dict:
        return asdict(self)


def _tables() -> dict[str, str]:
    from shipments.models import CustomerDailyVolume
    from tickets.models import Claim, ClaimPayout, Survey, Ticket

    return {
        "customer": Customer._meta.db_table, "volume": CustomerDailyVolume._meta.db_table,
        "ticket": Ticket._meta.db_table, "survey": Survey._meta.db_table, "claim": Claim._meta.db_table,
        "payout": ClaimPayout._meta.db_table, "contract": Contract._meta.db_table,
        "alert": ChurnAlert._meta.db_table, "task": RetentionTask._meta.db_table,
        "team": SalesTeam._meta.db_table, "team_member": SalesTeamMember._meta.db_table,
        "membership": Membership._meta.db_table, "notification": Notification._meta.db_table,
        "customer_tag": CustomerTag._meta.db_table, "tag": Tag._meta.db_table,
        "churn": CustomerChurn._meta.db_table,
    }


# The signals of every customer with volume history, one row per customer (shared by the scan and
# by the benchmark's bare aggregate, so both measure the same work).
VOLUME_WINDOWS_SQL = """
    SELECT customer_id,
           sum(parcels) FILTER (WHERE day > %(recent_from)s) AS recent,
           sum(parcels) FILTER (WHERE day <= %(recent_from)s) AS baseline
    FROM {volume}
    WHERE tenant_id = %(tenant)s AND day > %(baseline_from)s AND day <= %(last_day)s
    GROUP BY customer_id
"""

_SCAN_SQL = """
WITH vol AS (
    SELECT customer_id, recent, baseline FROM churn_volume
), complaints AS (
    SELECT customer_id, count(*) AS n FROM {ticket}
    WHERE tenant_id = %(tenant)s AND category = 'complaint' AND status NOT IN ('resolved', 'closed')
      AND customer_id IS NOT NULL
    GROUP BY customer_id
), low_sat AS (
    SELECT customer_id, count(*) AS n,
           min(score) FILTER (WHERE kind = 'csat') AS csat, min(score) FILTER (WHERE kind = 'nps') AS nps
    FROM {survey}
    WHERE tenant_id = %(tenant)s AND answered_at >= %(since)s AND customer_id IS NOT NULL
      AND ((kind = 'csat' AND score <= 2) OR (kind = 'nps' AND score <= 6))
    GROUP BY customer_id
), claims AS (
    SELECT coalesce(cl.claimant_id, t.customer_id) AS customer_id, count(*) AS n, sum(p.amount) AS amount
    FROM {payout} p
    JOIN {claim} cl ON cl.id = p.claim_id AND cl.tenant_id = %(tenant)s
    JOIN {ticket} t ON t.id = cl.ticket_id AND t.tenant_id = %(tenant)s
    WHERE p.tenant_id = %(tenant)s AND p.paid_at >= %(since)s
      AND coalesce(cl.claimant_id, t.customer_id) IS NOT NULL
    GROUP BY 1
), commitments AS (
    -- only B-end accounts have a commitment (the few customers with a contract: a small join)
    SELECT ct.customer_id, max(ct.monthly_commitment) AS commitment FROM {contract} ct
    JOIN {customer} c ON c.id = ct.customer_id AND c.tenant_id = %(tenant)s AND c.kind = 'account'
    WHERE ct.tenant_id = %(tenant)s AND ct.status = 'active' AND ct.start_date <= %(today)s
      AND ct.end_date >= %(today)s AND ct.monthly_commitment > 0
    GROUP BY ct.customer_id
), stored AS (
    SELECT id AS customer_id, risk, score, reasons FROM {churn} WHERE tenant_id = %(tenant)s
), signalled AS (
    SELECT customer_id FROM complaints UNION SELECT customer_id FROM low_sat
    UNION SELECT customer_id FROM claims UNION SELECT customer_id FROM commitments
), base AS (
    -- The customers whose state may differ from "low, no reasons": a stored state, a volume
    -- drop (the same test as drop_hit below) or another signal. Everyone else is low with no
    -- reasons and has no row, so there is nothing to score, compare or write — on a normal day
    -- that is most customers, and the reasons are built for the few others only.
    SELECT coalesce(v.customer_id, o.customer_id) AS id, v.customer_id IS NOT NULL AS has_history,
           v.recent, v.baseline, coalesce(o.risk, 'low') AS old_risk, coalesce(o.score, 0) AS old_score,
           coalesce(o.reasons, '[]'::jsonb) AS old_reasons
    FROM vol v FULL JOIN stored o ON o.customer_id = v.customer_id
    WHERE o.customer_id IS NOT NULL
       OR (v.baseline >= %(min_baseline)s
           AND round(100 * (1 - coalesce(v.recent, 0) * %(baseline_days)s::numeric
                                / (v.baseline * %(recent_days)s)))::int >= %(drop_min)s)
       OR v.customer_id IN (SELECT customer_id FROM signalled)
), sig AS (
    SELECT c.id, c.old_risk, c.old_score, c.old_reasons, c.has_history,
           coalesce(c.recent, 0) AS recent,
           -- the baseline as parcels per recent window, so the two compare day for day
           round(coalesce(c.baseline, 0) * %(recent_days)s::numeric / %(baseline_days)s)::int AS baseline,
           CASE WHEN coalesce(c.baseline, 0) >= %(min_baseline)s THEN
                round(100 * (1 - coalesce(c.recent, 0) * %(baseline_days)s::numeric
                                 / (c.baseline * %(recent_days)s)))::int END AS drop_pct,
           -- the recent volume per 30 days, against a monthly commitment
           round(coalesce(c.recent, 0) * 30::numeric / %(recent_days)s)::int AS recent_month,
           coalesce(cp.n, 0) AS complaints, ls.n AS low_sat, ls.csat, ls.nps, cl.n AS claims, cl.amount AS claimed,
           cm.commitment
    FROM base c
    LEFT JOIN complaints cp ON cp.customer_id = c.id
    LEFT JOIN low_sat ls ON ls.customer_id = c.id
    LEFT JOIN claims cl ON cl.customer_id = c.id
    LEFT JOIN commitments cm ON cm.customer_id = c.id
    OFFSET 0
), hit AS (
    SELECT s.*,
           s.has_history AND s.drop_pct >= %(drop_min)s AS drop_hit,
           s.has_history AND s.complaints > 0 AS complaint_hit,
           s.has_history AND s.low_sat IS NOT NULL AS sat_hit,
           s.has_history AND s.claims IS NOT NULL AS claim_hit,
           s.has_history AND s.commitment IS NOT NULL
               AND s.recent_month < s.commitment * %(commit_share)s AS commit_hit
    FROM sig s
    OFFSET 0
), pts AS (
    SELECT h.*,
           CASE WHEN h.drop_hit THEN round(h.drop_pct * %(drop_points)s)::int ELSE 0 END AS drop_points,
           CASE WHEN h.complaint_hit THEN least(h.complaints * %(complaint_points)s, %(complaint_max)s)
                ELSE 0 END AS complaint_points,
           CASE WHEN h.sat_hit THEN %(sat_points)s ELSE 0 END AS sat_points,
           CASE WHEN h.claim_hit THEN %(claim_points)s ELSE 0 END AS claim_points,
           CASE WHEN h.commit_hit THEN %(commit_points)s ELSE 0 END AS commit_points
    FROM hit h
    OFFSET 0
), n AS (
    SELECT p.id, p.old_risk, p.score,
           CASE WHEN p.score >= %(high)s THEN 'high' WHEN p.score >= %(medium)s THEN 'medium' ELSE 'low' END AS risk,
           CASE WHEN NOT (p.drop_hit OR p.complaint_hit OR p.sat_hit OR p.claim_hit OR p.commit_hit)
                THEN '[]'::jsonb ELSE to_jsonb(array_remove(ARRAY[
               CASE WHEN p.drop_hit THEN jsonb_build_object('code', 'volume_drop', 'days', %(recent_days)s,
                   'recent', p.recent,
                   'baseline', p.baseline, 'drop_pct', p.drop_pct, 'points', p.drop_points) END,
               CASE WHEN p.complaint_hit THEN jsonb_build_object('code', 'open_complaints', 'count', p.complaints,
                   'points', p.complaint_points) END,
               CASE WHEN p.sat_hit THEN jsonb_build_object('code', 'low_satisfaction', 'days', %(recent_days)s,
                   'count', p.low_sat,
                   'csat', p.csat, 'nps', p.nps, 'points', p.sat_points) END,
               CASE WHEN p.claim_hit THEN jsonb_build_object('code', 'claims_paid', 'days', %(recent_days)s,
                   'count', p.claims,
                   'amount', p.claimed::text, 'points', p.claim_points) END,
               CASE WHEN p.commit_hit THEN jsonb_build_object('code', 'under_commitment', 'recent', p.recent_month,
                   'commitment', p.commitment,
                   'shortfall_pct', round(100 * (1 - p.recent_month::numeric / p.commitment))::int,
                   'points', p.commit_points) END
           ], NULL)) END AS reasons,
           p.drop_hit OR p.sat_hit AS wants_offer, p.complaint_hit AS wants_fix, p.commit_hit AS wants_review,
           p.old_score, p.old_reasons
    FROM (SELECT pts.*, least(100, drop_points + complaint_points + sat_points + claim_points + commit_points)
                 AS score FROM pts OFFSET 0) p
    OFFSET 0
)
SELECT n.id, c.kind, c.owner_id, c.segments, c.name, n.old_risk, n.risk, n.score, n.reasons,
       n.wants_offer, n.wants_fix, n.wants_review
FROM (SELECT * FROM n WHERE (n.old_risk, n.old_score, n.old_reasons) IS DISTINCT FROM (n.risk, n.score, n.reasons)
      OFFSET 0) n
-- The wide customer row for the changed ones only, by primary key (LIMIT keeps the planner from
-- hashing the whole customer table instead).
JOIN LATERAL (SELECT c.kind, c.owner_id, c.segments, c.name FROM {customer} c
              WHERE c.id = n.id AND c.tenant_id = %(tenant)s AND c.status <> 'merged' LIMIT 1) c ON true
"""  # noqa: S608 — table names from model meta; every value is a bound parameter

# Second statement: everything written, from the changed rows alone.
_WRITE_SQL = """
WITH upd AS (
    INSERT INTO {churn} AS o (id, tenant_id, risk, score, reasons, scored_at)
    SELECT n.id, %(tenant)s, n.risk, n.score, n.reasons, %(now)s FROM churn_scored n ORDER BY n.id
    ON CONFLICT (id) DO UPDATE SET risk = excluded.risk, score = excluded.score, reasons = excluded.reasons,
                                   scored_at = excluded.scored_at
    WHERE (o.risk, o.score, o.reasons) IS DISTINCT FROM (excluded.risk, excluded.score, excluded.reasons)
    RETURNING o.id
), newly_high AS (
    SELECT n.* FROM churn_scored n JOIN upd ON upd.id = n.id
    WHERE n.risk = 'high' AND n.old_risk IS DISTINCT FROM 'high'
), alerts AS (
    INSERT INTO {alert} (tenant_id, customer_id, raised_on, score, reasons, created_at)
    SELECT %(tenant)s, nh.id, %(today)s, nh.score, nh.reasons, %(now)s FROM newly_high nh ORDER BY nh.id
    ON CONFLICT (tenant_id, customer_id, raised_on) DO NOTHING
    RETURNING id, customer_id
), queue AS (
    -- the retention team of C-end VIPs without an account manager: the first by rule order
    SELECT id FROM {team} WHERE tenant_id = %(tenant)s AND retention_queue AND is_active
    ORDER BY priority, id LIMIT 1
), routed AS (
    SELECT a.id AS alert_id, nh.id AS customer_id, m.id AS assignee_id,
           CASE WHEN m.id IS NULL AND nh.kind = 'person'
                     AND ('high_value' = ANY(nh.segments) OR EXISTS (
                         SELECT 1 FROM {customer_tag} ct JOIN {tag} tg ON tg.id = ct.tag_id
                         WHERE ct.tenant_id = %(tenant)s AND ct.customer_id = nh.id AND upper(tg.name) = 'VIP'))
                THEN (SELECT id FROM queue) END AS team_id,
           array_remove(ARRAY['call_back',
                              CASE WHEN nh.wants_fix THEN 'fix_complaint' END,
                              CASE WHEN nh.wants_offer THEN 'offer' END,
                              CASE WHEN nh.wants_review THEN 'review_contract' END], NULL)::varchar(20)[] AS actions
    FROM alerts a JOIN newly_high nh ON nh.id = a.customer_id
    LEFT JOIN {membership} m ON m.id = nh.owner_id AND m.tenant_id = %(tenant)s AND m.is_active
), tasks AS (
    INSERT INTO {task} (tenant_id, alert_id, customer_id, assignee_id, team_id, due_date, suggested_actions,
                        status, outcome, outcome_note, created_at)
    SELECT %(tenant)s, r.alert_id, r.customer_id, r.assignee_id, r.team_id, %(due)s, r.actions,
           'open', '', '', %(now)s
    FROM routed r WHERE r.assignee_id IS NOT NULL OR r.team_id IS NOT NULL ORDER BY r.customer_id
    ON CONFLICT (tenant_id, customer_id) WHERE status = 'open' DO NOTHING
    RETURNING id, alert_id, customer_id, assignee_id, team_id
), recipients AS (
    SELECT t.id AS task_id, t.alert_id, t.customer_id, t.assignee_id AS membership_id
    FROM tasks t WHERE t.assignee_id IS NOT NULL
    UNION
    SELECT t.id, t.alert_id, t.customer_id, tm.membership_id
    FROM tasks t JOIN {team_member} tm ON tm.team_id = t.team_id AND tm.tenant_id = %(tenant)s
    JOIN {membership} m ON m.id = tm.membership_id AND m.is_active
    WHERE t.assignee_id IS NULL
), notes AS (
    INSERT INTO {notification} (tenant_id, membership_id, title, body, url, dedup_key, created_at)
    SELECT %(tenant)s, r.membership_id, left(replace(%(title)s, '{{name}}', n.name), 200), %(body)s,
           left(replace(%(url)s, '{{id}}', r.task_id::text), 300), 'churn:' || r.alert_id, %(now)s
    FROM recipients r JOIN churn_scored n ON n.id = r.customer_id
    ON CONFLICT (tenant_id, membership_id, dedup_key) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM upd), (SELECT count(*) FROM alerts),
       (SELECT count(*) FROM tasks), (SELECT count(*) FROM notes)
"""  # noqa: S608 — table names from model meta; every value is a bound parameter


def churn_scan_params(*, today: dt.date | None = None, now: dt.datetime | None = None) -> dict:
    """The scan's parameters for the current tenant: its rules in force today and the windows."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    recent_days, baseline_days = rules.CHURN_RECENT_DAYS.value(), rules.CHURN_BASELINE_DAYS.value()
    # The windows end yesterday: today's volume is still coming in and would read as a drop.
    last_day = today - dt.timedelta(days=1)
    recent_from = last_day - dt.timedelta(days=recent_days)
    return {
        "tenant": current_tenant_id(), "today": today, "now": now, "last_day": last_day,
        "recent_from": recent_from, "baseline_from": recent_from - dt.timedelta(days=baseline_days),
        "since": now - dt.timedelta(days=recent_days),
        "recent_days": recent_days, "baseline_days": baseline_days,
        "min_baseline": rules.CHURN_MIN_BASELINE_PARCELS.value(),
        "drop_min": rules.CHURN_VOLUME_DROP_MIN_PCT.value(),
        "drop_points": rules.CHURN_VOLUME_DROP_POINTS_PER_PCT.value(),
        "complaint_points": rules.CHURN_COMPLAINT_POINTS.value(),
        "complaint_max": rules.CHURN_COMPLAINT_MAX_POINTS.value(),
        "sat_points": rules.CHURN_LOW_SATISFACTION_POINTS.value(),
        "claim_points": rules.CHURN_CLAIMS_PAID_POINTS.value(),
        "commit_share": rules.CHURN_UNDER_COMMITMENT_SHARE.value(),
        "commit_points": rules.CHURN_UNDER_COMMITMENT_POINTS.value(),
        "medium": rules.CHURN_MEDIUM_SCORE.value(), "high": rules.CHURN_HIGH_SCORE.value(),
        "due": today + dt.timedelta(days=rules.RETENTION_TASK_DUE_DAYS.value()),
    }


def churn_scan(*, today: dt.date | None = None, now: dt.datetime | None = None) -> ChurnScanResult:
    """Score every customer of the current tenant and open alerts and tasks for the newly
    high-risk ones (see the module doc); returns the counts."""
    params = churn_scan_params(today=today, now=now)
    task_url = reverse("customers:retention_task", args=[987654321]).replace("987654321", "{id}")
    params.update({
        "title": _("Churn risk: {name}"),
        "body": _("This customer is now at high churn risk. A retention task is waiting for you."),
        "url": task_url,
    })
    tables = _tables()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{SCAN_WORK_MEM}'")
        # The planner's row estimates for the data-modifying CTEs are far too high (hundreds of
        # millions), which made it JIT-compile the writing statement: over a second spent
        # compiling for ~100 k rows.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("DROP TABLE IF EXISTS pg_temp.churn_volume, pg_temp.churn_scored")
        # Creating a table from a query may use a parallel plan (a statement that writes rows in
        # place may not): the aggregate over the daily volume runs on every core. Scoring then
        # reads its result, and only the changed customers (a few per cent on a normal day) reach
        # the writing statement.
        cursor.execute("CREATE TEMP TABLE churn_volume ON COMMIT DROP AS " + VOLUME_WINDOWS_SQL.format(**tables),
                       params)
        cursor.execute("ANALYZE pg_temp.churn_volume")
        cursor.execute("CREATE TEMP TABLE churn_scored ON COMMIT DROP AS " + _SCAN_SQL.format(**tables), params)
        cursor.execute(f"SELECT count(*) FROM {tables['customer']} WHERE tenant_id = %s "  # noqa: S608
                       "AND status <> 'merged'", [params["tenant"]])
        scored = cursor.fetchone()[0]
        cursor.execute(_WRITE_SQL.format(**tables), params)
        changed, alerts, tasks, notified = cursor.fetchone()
        cursor.execute("DROP TABLE pg_temp.churn_volume, pg_temp.churn_scored")
    return ChurnScanResult(scored=scored, changed=changed, alerts=alerts, tasks=tasks, notified=notified)
