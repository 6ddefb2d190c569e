"""SLA clocks through the services (tickets.services.sla), as properties. The calendar arithmetic
itself (add/elapsed inverse, monotone, results inside working periods, the pause shift computed
by hand) is covered in test_calendars.py; here `sla_start`, `sla_pause` and `sla_resume` run on a
ticket under a business-clock policy on the tenant's default calendar (lunch break, China's 2026
holidays and make-up working days): a pause of any length, starting anywhere, moves each due time
not yet passed by exactly the working time of the pause, and the running clock at the new due is
the target again."""
from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tickets.calendars import working_time_for
from tickets.models import BusinessCalendar, SlaClock, SlaPolicy, Ticket, TicketStatus
from tickets.services.sla import sla_pause, sla_resume, sla_start

UTC = dt.UTC
instants = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 11, 30),
                        timezones=st.just(UTC))
FIRST, RESOLUTION = 240, 1500  # working minutes: half a day, about three working days


def test_pause_and_resume_move_every_pending_due_by_the_working_time_of_the_pause(desks):
    tw = desks.a
    admin = tw.user(Role.TENANT_ADMIN)
    with tenant_scope(tw.tenant, user=admin):
        calendar = BusinessCalendar.objects.get(is_default=True)
        policy = SlaPolicy.objects.create(name="丢失·低", category="loss", priority="low", calendar=calendar,
                                          first_response_minutes=FIRST, first_response_clock=SlaClock.BUSINESS,
                                          resolution_minutes=RESOLUTION, resolution_clock=SlaClock.BUSINESS)
        clock = working_time_for(calendar)

        @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(instants, st.integers(min_value=0, max_value=8000), st.integers(min_value=1, max_value=20000),
               st.booleans())
        def check(start, into, length, responded):
            ticket = Ticket(category="loss", priority="low", status=TicketStatus.IN_PROGRESS, created_at=start)
            sla_start(ticket, now=start)
            assert ticket.sla_policy_id == policy.pk
            assert ticket.first_response_due == clock.add(start, FIRST)
            assert ticket.resolution_due == clock.add(start, RESOLUTION)
            assert clock.elapsed(start, ticket.resolution_due) == RESOLUTION
            before = {"first_response": ticket.first_response_due, "resolution": ticket.resolution_due}
            paused = start + dt.timedelta(minutes=into)
            resumed = paused + dt.timedelta(minutes=length)
            if responded:
                ticket.first_responded_at = paused
            sla_pause(ticket, now=paused)
            sla_pause(ticket, now=paused + dt.timedelta(minutes=1))  # pausing twice keeps the first
            assert ticket.sla_paused_at == paused
            sla_resume(ticket, now=resumed)
            assert ticket.sla_paused_at is None
            credit = clock.elapsed_delta(paused, resumed)
            for target, minutes in (("first_response", FIRST), ("resolution", RESOLUTION)):
                due, old = getattr(ticket, f"{target}_due"), before[target]
                if (target == "first_response" and responded) or old <= paused:
                    assert due == old  # met, or already passed when the clock stopped
                    continue
                assert clock.elapsed_delta(old, due) == credit
                assert due >= old and (credit == dt.timedelta(0) or due > resumed)
                running = clock.elapsed_delta(start, due) - clock.elapsed_delta(paused, min(resumed, due))
                assert running == dt.timedelta(minutes=minutes)
                # the warning moved with it and stays before the due time
                assert getattr(ticket, f"{target}_warn_at") <= due

        check()
