"""Writes of contracts and their agreement prices."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.models import User
from tenancy.services import number_next, require_perm

from .. import regions
from ..models import Contract, ContractLane, ContractStatus, Customer, CustomerKind, CustomerStatus, SettlementType

MONEY_PLACES = Decimal("0.01")


def contract_number_next() -> str:
    year = timezone.localdate().year
    return f"HT{year}-{number_next(f'contract-{year}'):05d}"


def _decimal(value, field: str, *, places=MONEY_PLACES) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({field: _("Enter a number.")}) from exc
    if not number.is_finite() or number < 0:
        raise ValidationError({field: _("Enter a number of zero or more.")})
    return number.quantize(places)


def clean_lane(*, origin_province: str, destination_province: str, min_weight_kg, max_weight_kg,
               first_weight_price, additional_kg_price) -> dict:
    """Normalise one lane / weight band / price row; every problem names its field."""
    errors, cleaned = {}, {}
    for field, value in (("origin_province", origin_province), ("destination_province", destination_province)):
        try:
            cleaned[field] = regions.normalize_province(value or "")
            if not cleaned[field]:
                errors[field] = [_("Choose a province.")]
        except ValidationError as exc:
            errors[field] = exc.messages
    for field, value in (("min_weight_kg", min_weight_kg), ("max_weight_kg", max_weight_kg),
                         ("first_weight_price", first_weight_price), ("additional_kg_price", additional_kg_price)):
        try:
            cleaned[field] = _decimal(value if value not in (None, "") else "0", field)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if ("min_weight_kg" in cleaned and "max_weight_kg" in cleaned
            and cleaned["max_weight_kg"] <= cleaned["min_weight_kg"]):
        errors["max_weight_kg"] = [_("The upper weight must be above the lower weight.")]
    if cleaned.get("max_weight_kg", Decimal(1)) > Decimal("99999"):
        errors["max_weight_kg"] = [_("Enter at most 99999 kg.")]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _overlaps(lanes, cleaned: dict, exclude_pk=None) -> bool:
    for lane in lanes:
        if exclude_pk is not None and lane.pk == exclude_pk:  # unsaved lanes (pk None) are compared too
            continue
        if (lane.origin_province, lane.destination_province) != (cleaned["origin_province"],
                                                                 cleaned["destination_province"]):
            continue
        if lane.min_weight_kg < cleaned["max_weight_kg"] and cleaned["min_weight_kg"] < lane.max_weight_kg:
            return True
    return False


def contract_create(*, actor: User, customer: Customer, start_date: dt.date, end_date: dt.date,
                    monthly_commitment: int = 0, settlement_type: str = SettlementType.MONTHLY,
                    notes: str = "", lanes: list[dict] | tuple = (), activate: bool = False,
                    opportunity=None) -> Contract:
    """A draft contract (or an active one with `activate`) with its lane prices."""
    require_perm(actor, "customers.add_contract")
    errors = {}
    if customer.kind != CustomerKind.ACCOUNT or customer.status == CustomerStatus.MERGED:
        errors["customer"] = [_("Contracts are made with B-end accounts.")]
    if not start_date:
        errors["start_date"] = [_("Enter the start date.")]
    if not end_date:
        errors["end_date"] = [_("Enter the end date.")]
    elif start_date and end_date < start_date:
        errors["end_date"] = [_("The contract cannot end before it starts.")]
    if monthly_commitment is None or int(monthly_commitment) < 0:
        errors["monthly_commitment"] = [_("Enter zero or more parcels.")]
    if settlement_type not in SettlementType.values:
        errors["settlement_type"] = [_("Choose one of the listed values.")]
    cleaned_lanes = []
    for index, lane in enumerate(lanes or ()):
        try:
            cleaned = clean_lane(**lane)
        except ValidationError as exc:
            errors.update({f"lanes[{index}].{k}": v for k, v in exc.message_dict.items()})
            continue
        if _overlaps([ContractLane(**c) for c in cleaned_lanes], cleaned):
            errors[f"lanes[{index}].min_weight_kg"] = [_("This weight band overlaps another band of the same lane.")]
        cleaned_lanes.append(cleaned)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        contract = Contract.objects.create(
            customer=customer, number=contract_number_next(), start_date=start_date, end_date=end_date,
            monthly_commitment=int(monthly_commitment), settlement_type=settlement_type, notes=(notes or "").strip(),
            created_by=actor, opportunity=opportunity)
        ContractLane.objects.bulk_create([ContractLane(contract=contract, **c) for c in cleaned_lanes])
        if activate:
            contract = contract_activate(actor=actor, contract=contract)
    return contract


def contract_activate(*, actor: User, contract: Contract) -> Contract:
    """Put a draft in force. Two active contracts of one account may not overlap in time."""
    require_perm(actor, "customers.change_contract")
    with transaction.atomic():
        contract = Contract.objects.select_for_update().get(pk=contract.pk)
        if contract.status != ContractStatus.DRAFT:
            raise ValidationError(_("Only a draft contract can be activated."))
        if not contract.lanes.exists():
            raise ValidationError(_("Add at least one agreement price before activating the contract."))
        # Lock the account so two activations of its contracts queue.
        Customer.objects.select_for_update().get(pk=contract.customer_id)
        clash = Contract.objects.filter(customer_id=contract.customer_id, status=ContractStatus.ACTIVE,
                                        start_date__lte=contract.end_date, end_date__gte=contract.start_date)
        if clash.exists():
            raise ValidationError({"start_date": _("Another active contract (%(number)s) covers part of this period.")
                                   % {"number": clash.first().number}})
        contract.status = ContractStatus.ACTIVE
        contract.signed_at = timezone.now()
        contract.save(update_fields=["status", "signed_at"])
        Customer.objects.filter(pk=contract.customer_id, status=CustomerStatus.PROSPECT).update(
            status=CustomerStatus.ACTIVE)
        Customer.objects.filter(pk=contract.customer_id).update(settlement_type=contract.settlement_type)
    return contract


def contract_terminate(*, actor: User, contract: Contract, on: dt.date | None = None, reason: str = "") -> Contract:
    require_perm(actor, "customers.change_contract")
    on = on or timezone.localdate()
    with transaction.atomic():
        contract = Contract.objects.select_for_update().get(pk=contract.pk)
        if contract.status != ContractStatus.ACTIVE:
            raise ValidationError(_("Only an active contract can be terminated."))
        if on < contract.start_date:
            raise ValidationError({"on": _("The end cannot be before the contract starts.")})
        contract.status = ContractStatus.TERMINATED
        contract.terminated_at = timezone.now()
        contract.end_date = min(contract.end_date, on)
        if reason.strip():
            contract.notes = (contract.notes + "\n" if contract.notes else "") + _("Terminated: %(reason)s") % {
                "reason": reason.strip()}
        contract.save(update_fields=["status", "terminated_at", "end_date", "notes"])
    return contract


def contract_lane_add(*, actor: User, contract: Contract, **lane) -> ContractLane:
    require_perm(actor, "customers.change_contract")
    cleaned = clean_lane(**lane)
    with transaction.atomic():
        contract = Contract.objects.select_for_update().get(pk=contract.pk)
        if contract.status != ContractStatus.DRAFT:
            raise ValidationError(_("Prices of a signed contract cannot change: make a new contract."))
        if _overlaps(contract.lanes.all(), cleaned):
            raise ValidationError({"min_weight_kg": _("This weight band overlaps another band of the same lane.")})
        return ContractLane.objects.create(contract=contract, **cleaned)


def contract_lane_remove(*, actor: User, lane: ContractLane) -> None:
    require_perm(actor, "customers.change_contract")
    if lane.contract.status != ContractStatus.DRAFT:
        raise ValidationError(_("Prices of a signed contract cannot change: make a new contract."))
    lane.delete()
