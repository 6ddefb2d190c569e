import datetime as dt
from decimal import Decimal

from shipments.models import TrackingEvent, Waybill
from shipments.services import tracking_events_ingest
from tenancy.scoping import tenant_scope
from tickets.models import Ticket

from .conftest import ev

H = dt.timedelta(hours=1)


def test_smoke(world, t0):
    a = world.a
    with tenant_scope(a.tenant):
        batch = [
            ev("e1", "SF1000001", "created", t0, waybill={"sender_name": "张三", "receiver_phone": "13800001111",
                                                          "receiver_address": "上海市浦东新区1号", "service_fee": "12.50",
                                                          "origin": a.branch.code, "destination": a.other_branch.code}),
            ev("e3", "SF1000001", "arrived_at_site", t0 + 2 * H, site=a.branch.code),
            ev("e2", "SF1000001", "picked_up", t0 + H),
            ev("e4", "SF1000001", "damaged", t0 + 3 * H, site=a.branch.code),
            {"event_id": "bad", "waybill_number": "x", "event_type": "created", "event_time": "2020"},
        ]
        result = tracking_events_ingest(batch)
        print(result)
        assert result.stored == 4 and len(result.rejected) == 1
        waybill = Waybill.objects.get(number="SF1000001")
        assert waybill.status == "exception" and waybill.service_fee == Decimal("12.50")
        assert waybill.receiver_phone == "+8613800001111"
        assert Ticket.objects.filter(waybill=waybill, exception_kind="damaged").count() == 1
        again = tracking_events_ingest(batch)
        assert again.stored == 0 and again.tickets_opened == 0
        assert TrackingEvent.objects.count() == 4
    with tenant_scope(world.b.tenant):
        assert not Waybill.objects.exists() and not TrackingEvent.objects.exists()
