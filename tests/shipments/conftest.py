import datetime as dt

import pytest
from django.utils import timezone


@pytest.fixture
def t0():
    """A fixed recent moment (events must be within the ingest window)."""
    return (timezone.now() - dt.timedelta(days=3)).replace(microsecond=0)


def ev(event_id, number, event_type, when, site="", **extra):
    event = {"event_id": event_id, "waybill_number": number, "event_type": event_type,
             "event_time": when.isoformat(), **extra}
    if site:
        event["site"] = site
    return event
