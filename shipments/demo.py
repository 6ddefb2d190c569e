"""Demo waybills for `make run` (called by seed_demo inside the company's scope): two weeks of
parcels of the demo customers travelling between the company's branches, sent through the real
ingest service, with every kind of exception so the branch managers' queues have work."""
from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from customers.models import Customer, CustomerKind
from tenancy.models import Branch, BranchKind

from .services import exception_sweep, tracking_events_ingest

# How each demo parcel's journey ends; the exceptions open tickets through the rules.
ENDINGS = (["delivered"] * 30 + ["delivered_to_locker"] * 3 + ["moving"] * 12 + ["stalled"] * 4
           + ["damaged", "damaged", "lost", "refused", "returned", "exception", "overdue", "overdue"])
STREETS = ["人民路", "解放路", "中山路", "建设路"]


def seed_shipments(*, prefix: str) -> dict:
    """Returns the ingest totals and the sweep's ticket counts."""
    rng = random.Random(prefix)  # noqa: S311 — reproducible demo data, not a secret
    now = timezone.now().replace(second=0, microsecond=0)
    branches = list(Branch.objects.filter(kind=BranchKind.BRANCH).order_by("code"))
    accounts = list(Customer.objects.filter(kind=CustomerKind.ACCOUNT).order_by("number")[:8])
    persons = list(Customer.objects.filter(kind=CustomerKind.PERSON).order_by("number")[:10])
    events = []
    for index, ending in enumerate(ENDINGS):
        origin, destination = rng.sample(branches, 2)
        sender = accounts[index % len(accounts)]
        receiver = persons[index % len(persons)]
        number = f"{prefix}{(now - dt.timedelta(days=index % 12)):%y%m%d}{index:05d}"
        start = now - dt.timedelta(days=2 + index % 12, hours=rng.randint(0, 8))
        if ending == "stalled":
            start = now - dt.timedelta(days=3, hours=rng.randint(0, 6))
        elif ending == "moving":                     # on its way, scanned within the last day
            start = now - dt.timedelta(hours=rng.randint(10, 20))
        steps = [("created", None), ("picked_up", origin), ("departed_site", origin),
                 ("arrived_at_site", destination)]
        if ending not in ("moving", "stalled"):
            steps.append(("out_for_delivery", destination))
        if ending in ("delivered", "delivered_to_locker", "damaged", "lost", "refused", "returned", "exception"):
            steps.append((ending, destination))
        if ending == "overdue":
            steps = steps[:4]
        details = {"sender_customer": sender.number, "sender_name": sender.name, "receiver_name": receiver.name,
                   "receiver_phone": f"1370{rng.randint(1000000, 9999999)}",
                   "receiver_address": f"{destination.city}{rng.choice(STREETS)}{rng.randint(1, 300)}号",
                   "receiver_province": destination.province, "receiver_city": destination.city,
                   "origin": origin.code, "destination": destination.code,
                   "product": rng.choice(["standard", "standard", "next_day", "economy"]),
                   "weight_kg": f"{rng.uniform(0.2, 12):.2f}", "declared_value": str(rng.choice([0, 200, 800, 3000])),
                   "insured_amount": str(rng.choice([0, 0, 500])),
                   "service_fee": rng.choice(["8.00", "12.00", "15.50"]),
                   "promised_date": (start + dt.timedelta(days=1 if ending == "overdue" else 3)).date().isoformat()}
        when = start
        for step_no, (event_type, site) in enumerate(steps):
            when = min(when + dt.timedelta(hours=rng.randint(2, 4 if ending == "moving" else 9)),
                       now - dt.timedelta(minutes=5))
            if ending == "stalled" and step_no == len(steps) - 1:
                when = now - dt.timedelta(hours=30)
            event = {"event_id": f"{number}-{step_no}", "waybill_number": number, "event_type": event_type,
                     "event_time": when.isoformat(), "operator": rng.choice(["张师傅", "李师傅", "王师傅"])}
            if site is not None:
                event["site"] = site.code
            if event_type == "created":
                event["waybill"] = details
            if event_type in ("damaged", "exception"):
                event["attributes"] = {"note": "外包装破损" if event_type == "damaged" else "地址不详，联系不上收件人"}
            events.append(event)
    result = tracking_events_ingest(events)
    return {"stored": result.stored, "tickets": result.tickets_opened, **exception_sweep()}
