"""Merging two customer records keeps consent whole: the merged record's insert-only answers stay
with it, and the survivor receives a copy of each, so the person's newest answer still decides."""
import datetime as dt

from django.utils import timezone

from compliance.models import ConsentRecord
from compliance.selectors.consent import consent_allows
from compliance.services.consent import consent_record
from customers.models import Customer, CustomerKind
from customers.services.dedup import customer_merge
from tenancy.scoping import tenant_scope


def test_merge_copies_consent_answers_to_the_survivor(world):
    tw = world.a
    admin = tw.user("tenant_admin")
    with tenant_scope(tw.tenant, user=admin):
        survivor = Customer(number="C-MERGE-S", kind=CustomerKind.PERSON, name="合并甲")
        survivor.save()
        merged = Customer(number="C-MERGE-M", kind=CustomerKind.PERSON, name="合并甲")
        merged.save()
        earlier = timezone.now() - dt.timedelta(days=3)
        consent_record(actor=admin, purpose="surveys", granted=False, source="phone_call", customer=survivor,
                       recorded_at=earlier)
        consent_record(actor=admin, purpose="surveys", granted=True, source="web_form", customer=merged,
                       note="app opt-in")
        assert consent_allows("surveys", customer_id=survivor.pk) is False
        customer_merge(actor=admin, survivor=survivor, merged=merged, reason="same person")
        # The newer yes, given on the merged record, now decides for the survivor.
        assert consent_allows("surveys", customer_id=survivor.pk) is True
        copies = ConsentRecord.objects.filter(customer=survivor, source="web_form")
        assert copies.count() == 1 and copies.get().note == "app opt-in"
        assert ConsentRecord.objects.filter(customer=merged).count() == 1  # its history stays
    with tenant_scope(world.b.tenant):
        assert ConsentRecord.objects.count() == 0
