"""Partial indexes (open tickets only) for the agent's queue (tickets.selectors.queues).

Queue rows: `ORDER BY sla_paused_at NULLS FIRST, <next due> NULLS LAST, id` (the clock that runs
out first; queues._next_due) with LIMIT 50. With the sort key in an index per assignee and per
team the first 50 are read in order; before, every open ticket of the queue (~1,000 mine,
~26,000 for a team) was fetched and sorted on each request.

Tab counts (queue_counts): they read every open ticket of the agent (~1,000) and of their teams
(~26,000 with 200 agents in 8 teams, benchmarks issue 6). With the flags the counts test in
INCLUDE, both parts are index-only scans of an index holding the open tickets only; before, a
bitmap heap scan visited the ~15,000 heap pages of those rows on every queue request.

Plain SQL without model state (not in Ticket.Meta.indexes yet; moving them there needs
SeparateDatabaseAndState so the index is not created twice). Built concurrently so a deployment
does not lock the ticket table."""
from django.db import migrations

OPEN = "NOT (status IN ('resolved', 'closed'))"
# queues._next_due() as Django writes it (the planner matches the expression, not its text)
NEXT_DUE = ("CASE WHEN first_responded_at IS NULL THEN LEAST(first_response_due, resolution_due) "
            "ELSE resolution_due END")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0003_event_kinds"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ticket_queue_mine_next ON tickets_ticket "
            f"(tenant_id, assignee_id, sla_paused_at NULLS FIRST, ({NEXT_DUE}) NULLS LAST, id) WHERE {OPEN}",
            "DROP INDEX CONCURRENTLY IF EXISTS ticket_queue_mine_next",
        ),
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ticket_queue_team_next ON tickets_ticket "
            f"(tenant_id, team_id, sla_paused_at NULLS FIRST, ({NEXT_DUE}) NULLS LAST, id) WHERE {OPEN}",
            "DROP INDEX CONCURRENTLY IF EXISTS ticket_queue_team_next",
        ),
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ticket_counts_mine ON tickets_ticket "
            "(tenant_id, assignee_id) INCLUDE (first_response_breached, resolution_breached, first_responded_at, "
            f"first_response_due, resolution_due, sla_paused_at) WHERE {OPEN}",
            "DROP INDEX CONCURRENTLY IF EXISTS ticket_counts_mine",
        ),
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ticket_counts_team ON tickets_ticket "
            "(tenant_id, team_id) INCLUDE (assignee_id, status, first_response_breached, resolution_breached) "
            f"WHERE {OPEN}",
            "DROP INDEX CONCURRENTLY IF EXISTS ticket_counts_team",
        ),
    ]
