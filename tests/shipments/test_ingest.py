"""Tracking-event ingest through the service: idempotency, order independence, rejections,
waybill creation, daily volume, exception tickets — with two tenants present."""
import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import Customer
from shipments.models import CustomerDailyVolume, DeliveryConsent, TrackingEvent, Waybill
from shipments.services import exception_sweep, tracking_events_ingest
from tenancy.scoping import tenant_scope
from tickets.models import Ticket, TicketStatus

from .conftest import ev

H = dt.timedelta(hours=1)


@pytest.fixture
def senders(world):
    with tenant_scope(world.a.tenant):
        return {label: Customer.objects.create(number=f"B9{i:07d}", kind="account", name=f"发件公司{label}")
                for i, label in enumerate(("ref", "perm", "plain"))}


def _details(world, customer, fee="10.00"):
    return {"sender_customer": customer.number, "sender_name": "王五", "receiver_name": "赵六",
            "receiver_phone": "13900002222", "receiver_address": "杭州市西湖区文三路 1 号",
            "receiver_province": "浙江", "receiver_city": "杭州", "origin": world.a.branch.code,
            "destination": world.a.other_branch.code, "product": "standard", "weight_kg": "1.2",
            "declared_value": "300", "insured_amount": "0", "service_fee": fee}


STATE_FIELDS = ("status", "status_at", "exception_kind", "shipped_at", "delivered_at", "returned_at", "last_scan_at",
                "responsible_branch_id", "volume_day", "volume_returned", "service_fee")


def _states(prefix):
    return {w["number"][len(prefix):]: {k: w[k] for k in STATE_FIELDS}
            for w in Waybill.objects.filter(number__startswith=prefix).values("number", *STATE_FIELDS)}


def _tickets(prefix):
    return sorted((t.waybill.number[len(prefix):], t.exception_kind)
                  for t in Ticket.objects.filter(waybill__number__startswith=prefix).select_related("waybill"))


def _volume(customer):
    return sorted(CustomerDailyVolume.objects.filter(customer=customer).values_list("day", "parcels", "revenue",
                                                                                     "returned"))


# --- order and duplicates do not matter ------------------------------------------------------------

ENDINGS = ["delivered", "delivered_to_locker", "refused", "damaged", "lost", "returned", "exception", None]


@st.composite
def journeys(draw):
    """A few waybills with plausible scan sequences; times may tie (tie-break must be stable)."""
    parcels = []
    for index in range(draw(st.integers(1, 3))):
        steps = ["created", "picked_up"] + ["arrived_at_site", "departed_site"] * draw(st.integers(0, 2))
        if draw(st.booleans()):
            steps.append("out_for_delivery")
        ending = draw(st.sampled_from(ENDINGS))
        if ending:
            steps.append(ending)
        if ending in ("damaged", "exception") and draw(st.booleans()):
            steps += ["arrived_at_site", "delivered"]          # cleared and delivered after all
        gaps = draw(st.lists(st.sampled_from([0, 1, 2, 5]), min_size=len(steps), max_size=len(steps)))
        parcels.append((index, steps, gaps))
    return parcels


def _events(world, parcels, prefix, t0, customer):
    events = []
    for index, steps, gaps in parcels:
        when = t0
        for step_no, (step, gap) in enumerate(zip(steps, gaps, strict=True)):
            when = when + gap * H
            site = "" if step == "created" else (world.a.branch.code if step_no % 2 else world.a.other_branch.code)
            extra = {"waybill": _details(world, customer)} if step == "created" else {}
            events.append(ev(f"{prefix}{index}-{step_no}", f"{prefix}{index:06d}", step, when, site=site, **extra))
    return events


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(parcels=journeys(), data=st.data())
def test_any_order_and_duplication_ends_in_the_clean_state(world, senders, t0, parcels, data):
    with tenant_scope(world.a.tenant):
        tag = f"{abs(hash((str(parcels), data.draw(st.integers(0, 10**9))))) % 10**8:08d}"
        ref_prefix, perm_prefix = f"R{tag}", f"P{tag}"
        ref_volume, perm_volume = _volume(senders["ref"]), _volume(senders["perm"])
        tracking_events_ingest(_events(world, parcels, ref_prefix, t0, senders["ref"]))

        shuffled = data.draw(st.permutations(_events(world, parcels, perm_prefix, t0, senders["perm"])))
        duplicated = shuffled + data.draw(st.lists(st.sampled_from(shuffled), max_size=len(shuffled)))
        cut = sorted(data.draw(st.lists(st.integers(0, len(duplicated)), max_size=3)))
        for start, end in zip([0, *cut], [*cut, len(duplicated)], strict=True):
            if start < end:
                tracking_events_ingest(duplicated[start:end])

        assert _states(perm_prefix) == _states(ref_prefix)
        assert _tickets(perm_prefix) == _tickets(ref_prefix)
        assert (TrackingEvent.objects.filter(source_event_id__startswith=perm_prefix).count()
                == TrackingEvent.objects.filter(source_event_id__startswith=ref_prefix).count())

        def increments(before, after):
            before = {day: (p, r, ret) for day, p, r, ret in before}
            return {day: (p - before.get(day, (0, 0, 0))[0], r - before.get(day, (0, 0, 0))[1],
                          ret - before.get(day, (0, 0, 0))[2]) for day, p, r, ret in after}
        assert increments(perm_volume, _volume(senders["perm"])) == increments(ref_volume, _volume(senders["ref"]))


def test_status_follows_event_time_not_arrival(world, senders, t0):
    with tenant_scope(world.a.tenant):
        tracking_events_ingest([ev("d1", "SF2000001", "delivered", t0 + 5 * H, site=world.a.other_branch.code)])
        tracking_events_ingest([ev("d0", "SF2000001", "created", t0, waybill=_details(world, senders["plain"])),
                                ev("d2", "SF2000001", "arrived_at_site", t0 + 2 * H, site=world.a.branch.code)])
        waybill = Waybill.objects.get(number="SF2000001")
        assert waybill.status == "delivered" and waybill.delivered_at == t0 + 5 * H
        assert waybill.responsible_branch_id == world.a.other_branch.pk
        assert [e.event_type for e in waybill.events.order_by("event_time")] == [
            "created", "arrived_at_site", "delivered"]


def test_unknown_waybill_is_created_in_state_created(world, t0):
    with tenant_scope(world.a.tenant):
        result = tracking_events_ingest([ev("u1", "SF3000001", "created", t0)])
        assert result.waybills_created == 1
        waybill = Waybill.objects.get(number="SF3000001")
        assert waybill.status == "created" and waybill.status_at == t0 and waybill.sender_id is None


# --- replays and rejections -------------------------------------------------------------------------

def test_replay_stores_updates_and_opens_nothing(world, senders, t0):
    with tenant_scope(world.a.tenant):
        batch = [ev("r0", "SF4000001", "created", t0, waybill=_details(world, senders["plain"], fee="12.50")),
                 ev("r1", "SF4000001", "picked_up", t0 + H, site=world.a.branch.code),
                 ev("r2", "SF4000001", "lost", t0 + 9 * H, site=world.a.branch.code)]
        first = tracking_events_ingest(batch)
        assert (first.stored, first.tickets_opened) == (3, 1)
        before = Waybill.objects.values("updated_at", "status").get(number="SF4000001")
        volume = _volume(senders["plain"])
        again = tracking_events_ingest(list(reversed(batch)) + batch)
        assert (again.stored, again.duplicates, again.waybills_updated, again.tickets_opened) == (0, 6, 0, 0)
        assert Waybill.objects.values("updated_at", "status").get(number="SF4000001") == before
        assert _volume(senders["plain"]) == volume
        assert [row[1:] for row in volume] == [(1, Decimal("12.50"), 0)]
        assert Ticket.objects.filter(waybill__number="SF4000001").count() == 1


def test_malformed_events_are_rejected_with_index_and_reason_and_the_rest_stored(world, t0):
    good = ev("ok1", "SF5000001", "picked_up", t0)
    bad = [
        "not an object",
        {**good, "event_id": ""},
        {**good, "event_id": "b2", "waybill_number": "x!"},
        {**good, "event_id": "b3", "event_type": "teleported"},
        {**good, "event_id": "b4", "event_time": "2026-11-20T10:00:00"},            # no offset
        {**good, "event_id": "b5", "event_time": "1999-01-01T00:00:00+08:00"},      # outside the window
        {**good, "event_id": "b6", "site": "bad code!"},
        {**good, "event_id": "b7", "attributes": [1, 2]},
        {**good, "event_id": "b8", "event_type": "created", "waybill": {"receiver_phone": "12"}},
        {**good, "event_id": "b9", "event_type": "created", "waybill": {"service_fee": "-1"}},
        {**good, "event_id": "b10", "waybill": {"service_fee": "1"}},                # details on a scan
        {**good, "event_id": "b11", "event_type": "created", "waybill": {"receiver_province": "火星"}},
        {**good, "event_id": "b12", "attributes": {"note": "a\u0000b"}},
        {**good, "event_id": "b13", "event_type": "created", "waybill": {"weight_kg": "NaN"}},
        {**good, "event_id": "b14", "event_type": ["created"]},
    ]
    with tenant_scope(world.a.tenant):
        result = tracking_events_ingest([good, *bad])
        assert result.stored == 1
        assert [r["index"] for r in result.rejected] == list(range(1, len(bad) + 1))
        fields = [r["field"] for r in result.rejected]
        assert fields == ["", "event_id", "waybill_number", "event_type", "event_time", "event_time", "site",
                          "attributes", "waybill.receiver_phone", "waybill.service_fee", "waybill",
                          "waybill.receiver_province", "attributes", "waybill.weight_kg", "event_type"]
        assert all(r["reason"] for r in result.rejected)
        assert result.rejected[2]["event_id"] == "b2"
        assert list(TrackingEvent.objects.values_list("source_event_id", flat=True)) == ["ok1"]
        assert Waybill.objects.count() == 1


# --- exception tickets -----------------------------------------------------------------------------

@pytest.mark.parametrize(("event_type", "kind", "category"), [
    ("damaged", "damaged", "damage"), ("lost", "lost", "loss"), ("refused", "refused", "other"),
    ("returned", "returned", "other"), ("exception", "exception", "other"),
    ("delivered_to_locker", "locker_no_consent", "other"),
])
def test_each_exception_event_opens_exactly_one_ticket(world, senders, t0, event_type, kind, category):
    with tenant_scope(world.a.tenant):
        tracking_events_ingest([ev("x0", "SF6000001", "created", t0, waybill=_details(world, senders["plain"]))])
        for i in range(3):   # the rule fires three times
            tracking_events_ingest([ev(f"x{i + 1}", "SF6000001", event_type, t0 + (i + 1) * H,
                                       site=world.a.other_branch.code)])
        tickets = list(Ticket.objects.filter(waybill__number="SF6000001"))
        assert [(t.exception_kind, t.category, t.channel, t.status) for t in tickets] == [
            (kind, category, "system", "new")]
        ticket = tickets[0]
        assert ticket.branch_id == world.a.other_branch.pk and ticket.customer_id == senders["plain"].pk
        assert ticket.number.startswith(f"T{ticket.created_at.year}-")
        assert ticket.resolution_due > ticket.created_at and ticket.events.filter(kind="created").count() == 1
    with tenant_scope(world.b.tenant):
        assert not Ticket.objects.exists()


def test_a_resolved_exception_ticket_lets_the_next_occurrence_open_a_new_one(world, t0):
    from tickets.services import ticket_transition

    admin = world.a.user("tenant_admin")
    with tenant_scope(world.a.tenant, user=admin):
        tracking_events_ingest([ev("y1", "SF6100001", "damaged", t0)])
        ticket = Ticket.objects.get()
        ticket_transition(actor=admin, ticket=ticket, to_status=TicketStatus.RESOLVED,
                          note="重新包装")
        tracking_events_ingest([ev("y2", "SF6100001", "damaged", t0 + H)])
        assert sorted(Ticket.objects.values_list("status", flat=True)) == ["new", "resolved"]


def test_locker_drop_with_consent_recorded_before_is_not_an_exception(world, t0):
    with tenant_scope(world.a.tenant):
        tracking_events_ingest([ev("l0", "SF7000001", "out_for_delivery", t0)])
        waybill = Waybill.objects.get(number="SF7000001")
        DeliveryConsent.objects.create(waybill=waybill, method="locker", source="phone", recorded_at=t0 + H)
        result = tracking_events_ingest([ev("l1", "SF7000001", "delivered_to_locker", t0 + 2 * H)])
        assert result.tickets_opened == 0 and not Ticket.objects.exists()
        # A consent recorded after the drop does not count.
        tracking_events_ingest([ev("l2", "SF7000002", "delivered_to_locker", t0 + 2 * H)])
        late = Waybill.objects.get(number="SF7000002")
        DeliveryConsent.objects.create(waybill=late, method="locker", source="phone", recorded_at=t0 + 3 * H)
        assert Ticket.objects.filter(waybill=late, exception_kind="locker_no_consent").count() == 1


def test_sweep_opens_one_delay_ticket_per_stalled_or_overdue_waybill(world, senders, t0):
    now = t0 + 30 * H
    with tenant_scope(world.a.tenant):
        details = _details(world, senders["plain"])
        tracking_events_ingest([
            ev("s0", "SF8000001", "created", t0, waybill=details),
            ev("s1", "SF8000001", "arrived_at_site", t0 + H, site=world.a.branch.code),      # stalled 29 h
            ev("s2", "SF8000002", "arrived_at_site", t0 + 20 * H, site=world.a.branch.code),  # 10 h: fine
            ev("s3", "SF8000003", "created", t0,                                         # not moving, overdue
               waybill={**details, "promised_date": (t0 - 48 * H).date().isoformat()}),
            ev("s4", "SF8000004", "arrived_at_site", t0, site=world.a.branch.code),
            ev("s5", "SF8000004", "delivered", t0 + 2 * H, site=world.a.branch.code),        # delivered: never
        ])
        assert exception_sweep(now=now) == {"no_scan": 1, "overdue": 1}
        assert exception_sweep(now=now + H) == {"no_scan": 0, "overdue": 0}
        opened = sorted(Ticket.objects.values_list("waybill__number", "exception_kind", "category"))
        assert opened == [("SF8000001", "no_scan", "delay"), ("SF8000003", "overdue", "delay")]
    with tenant_scope(world.b.tenant):
        assert exception_sweep(now=now) == {"no_scan": 0, "overdue": 0}


# --- daily volume, partitions, file command ---------------------------------------------------------

def test_daily_volume_counts_each_parcel_and_return_once(world, senders, t0):
    with tenant_scope(world.a.tenant):
        tracking_events_ingest([ev("v1", "SF9000001", "returned", t0 + 5 * H)])   # before its details
        plain = senders["plain"]
        tracking_events_ingest([ev("v0", "SF9000001", "created", t0, waybill=_details(world, plain, "8.80")),
                                ev("v2", "SF9000002", "created", t0, waybill=_details(world, plain, "1.20"))])
        tracking_events_ingest([ev("v3", "SF9000001", "returned", t0 + 6 * H)])
        day = Waybill.objects.get(number="SF9000001").volume_day
        assert _volume(senders["plain"]) == [(day, 2, Decimal("10.00"), 1)]


def test_events_are_stored_in_month_partitions_the_app_role_cannot_reach_directly(world, t0):
    with tenant_scope(world.a.tenant):
        earlier = t0 - dt.timedelta(days=40)
        tracking_events_ingest([ev("m1", "SF9100001", "picked_up", earlier),
                                ev("m2", "SF9100001", "arrived_at_site", t0)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT inhrelid::regclass::text FROM pg_inherits "
                       "WHERE inhparent = 'shipments_trackingevent'::regclass")
        partitions = {row[0] for row in cursor.fetchall()}
        assert {f"shipments_trackingevent_p{earlier:%Y%m}", f"shipments_trackingevent_p{t0:%Y%m}"} <= partitions
        cursor.execute("SAVEPOINT direct")
        with pytest.raises(Exception, match="permission denied"):
            cursor.execute(f"SELECT count(*) FROM shipments_trackingevent_p{t0:%Y%m}")
        cursor.execute("ROLLBACK TO SAVEPOINT direct")


def test_command_reads_json_lines_and_reports_rejections(world, t0, tmp_path, capsys):
    path = tmp_path / "events.jsonl"
    lines = [json.dumps(ev("c1", "SF9200001", "picked_up", t0)), "{broken", "",
             json.dumps(ev("c2", "SF9200001", "arrived_at_site", t0 + H, site=world.a.branch.code))]
    path.write_text("\n".join(lines), encoding="utf-8")
    call_command("ingest_tracking_events", str(path), tenant=world.a.tenant.code)
    out = capsys.readouterr()
    assert "stored 2" in out.out and "rejected 1" in out.out and "line 2" in out.err
    with tenant_scope(world.a.tenant):
        assert Waybill.objects.get(number="SF9200001").status == "in_transit"
    with tenant_scope(world.b.tenant):
        assert not TrackingEvent.objects.exists()
