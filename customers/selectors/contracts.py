"""Reads of contracts: lists, expiry, and the price a shipment gets under the active contract."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .. import regions, rules
from ..models import Contract, ContractLane, ContractStatus, Customer


def contract_list(*, customer_id: int | None = None, status: str = "", owner_id: int | None = None,
                  expiring_within_days: int | None = None) -> QuerySet[Contract]:
    qs = Contract.objects.select_related("customer", "customer__owner__user").annotate(lane_count=Count("lanes"))
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if status == "expired":
        qs = qs.filter(status=ContractStatus.ACTIVE, end_date__lt=timezone.localdate())
    elif status:
        qs = qs.filter(status=status)
    if owner_id:
        qs = qs.filter(customer__owner_id=owner_id)
    if expiring_within_days is not None:
        today = timezone.localdate()
        qs = qs.filter(status=ContractStatus.ACTIVE, end_date__gte=today,
                       end_date__lte=today + dt.timedelta(days=expiring_within_days))
    return qs.order_by("-start_date", "-id")


def contract_get(*, pk: int) -> Contract:
    return get_object_or_404(Contract.objects.select_related("customer", "created_by").prefetch_related("lanes"),
                             pk=pk)


def contracts_expiring(*, owner_id: int | None = None) -> QuerySet[Contract]:
    """Active contracts ending within the tenant's warning period (default 30 days)."""
    days = rules.CONTRACT_EXPIRY_WARNING_DAYS.value()
    return contract_list(owner_id=owner_id, expiring_within_days=days).order_by("end_date", "id")


def active_contract(customer: Customer, on: dt.date | None = None) -> Contract | None:
    on = on or timezone.localdate()
    return (Contract.objects.filter(customer=customer, status=ContractStatus.ACTIVE, start_date__lte=on,
                                    end_date__gte=on).order_by("-start_date", "-id").first())


@dataclass(frozen=True)
class PriceQuote:
    contract: Contract
    lane: ContractLane
    weight_kg: Decimal
    charged_weight_kg: Decimal
    amount: Decimal  # CNY


def charged_weight(weight_kg: Decimal, step: Decimal) -> Decimal:
    """The actual weight rounded up to the tenant's step (never below one step)."""
    steps = (weight_kg / step).to_integral_value(rounding=ROUND_CEILING)
    return max(steps, Decimal(1)) * step


def price_quote(*, customer: Customer, origin_province: str, destination_province: str, weight_kg,
                on: dt.date | None = None) -> PriceQuote | None:
    """The price a parcel of this weight on this lane gets under the customer's contract in
    force on `on`: first-kg price + additional kg × price per kg of the matching weight band.
    None when no contract is in force or it has no price for the lane and weight."""
    weight = Decimal(str(weight_kg))
    if weight <= 0:
        raise ValueError("weight must be positive")
    contract = active_contract(customer, on)
    if contract is None:
        return None
    origin = regions.normalize_province(origin_province)
    destination = regions.normalize_province(destination_province)
    lane = (contract.lanes.filter(origin_province=origin, destination_province=destination,
                                  min_weight_kg__lt=weight, max_weight_kg__gte=weight)
            .order_by("min_weight_kg").first())
    if lane is None:
        return None
    charged = charged_weight(weight, rules.WEIGHT_STEP_KG.value(on=on))
    extra_kg = max(charged - Decimal(1), Decimal(0))
    amount = (lane.first_weight_price + extra_kg * lane.additional_kg_price).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP)
    return PriceQuote(contract=contract, lane=lane, weight_kg=weight, charged_weight_kg=charged, amount=amount)
