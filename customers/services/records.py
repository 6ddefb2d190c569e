"""Writes of customer records: create and edit accounts and persons, their phones, addresses,
contacts and tags. Input is normalised on entry (phones E.164, provinces and cities from the
fixed list, credit codes checked), and every error names its field."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tenancy.models import Membership, Role, User
from tenancy.normalize import normalize
from tenancy.services import number_next, require_perm

from .. import regions
from ..models import (
    Address,
    Contact,
    Customer,
    CustomerKind,
    CustomerPhone,
    CustomerStatus,
    CustomerTag,
    Industry,
    SettlementType,
    SourceChannel,
    Tag,
)
from ..validators import normalize_credit_code

NUMBER_PREFIX = {CustomerKind.ACCOUNT: "B", CustomerKind.PERSON: "C"}
EDITABLE_FIELDS = (
    "name", "status", "province", "city", "district", "owner", "source_channel", "credit_code", "industry",
    "credit_rating", "settlement_type", "email", "id_number", "delivery_window", "delivery_notes", "notes",
)


def customer_number_next(kind: str, count: int = 1) -> list[str]:
    last = number_next(f"customer-{kind}", count)
    return [f"{NUMBER_PREFIX[kind]}{n:08d}" for n in range(last - count + 1, last + 1)]


def clean_region(province: str, city: str, *, province_field: str = "province", city_field: str = "city",
                 required: bool = False) -> tuple[str, str]:
    """Canonical (province, city) from the fixed list; ValidationError naming the field."""
    errors = {}
    try:
        province = regions.normalize_province(province or "")
    except ValidationError as exc:
        raise ValidationError({province_field: exc.messages}) from exc
    if required and not province:
        errors[province_field] = _("Choose a province.")
    if city and not province:
        errors[province_field] = _("Choose the province of the city.")
    elif city:
        try:
            city = regions.normalize_city(province, city)
        except ValidationError as exc:
            errors[city_field] = exc.messages
    elif required:
        errors[city_field] = _("Choose a city.")
    if errors:
        raise ValidationError(errors)
    return province, city


def _clean_personal(kind: str, value: str | None, field: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return normalize(kind, value)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc


def _clean_owner(owner: Membership | None) -> Membership | None:
    if owner is None:
        return None
    if not owner.is_active or owner.role not in (Role.SALES_MANAGER, Role.TENANT_ADMIN):
        raise ValidationError({"owner": _("The account manager must be an active sales manager.")})
    return owner


def _clean_fields(kind: str, data: dict) -> dict:
    """Normalise and check the editable fields present in `data` (a partial update passes only
    what changes). Collects every error before raising."""
    errors: dict[str, list[str]] = {}
    cleaned = dict(data)
    if "name" in data:
        name = " ".join((data["name"] or "").split())
        if not name:
            errors["name"] = [_("Enter the name.")]
        elif len(name) > 200:
            errors["name"] = [_("At most 200 characters.")]
        cleaned["name"] = name
    if "province" in data or "city" in data:
        try:
            cleaned["province"], cleaned["city"] = clean_region(data.get("province", ""), data.get("city", ""))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "credit_code" in data:
        try:
            cleaned["credit_code"] = normalize_credit_code(data["credit_code"] or "")
        except ValidationError as exc:
            errors["credit_code"] = exc.messages
        if cleaned.get("credit_code") and kind != CustomerKind.ACCOUNT:
            errors["credit_code"] = [_("Only B-end accounts have a credit code.")]
    for field, personal_kind in (("email", "email"), ("id_number", "id_number")):
        if field in data:
            try:
                cleaned[field] = _clean_personal(personal_kind, data[field], field)
            except ValidationError as exc:
                errors.update(exc.message_dict)
    choices = {"industry": Industry.values, "settlement_type": SettlementType.values,
               "source_channel": SourceChannel.values,
               "status": [s for s in CustomerStatus.values if s != CustomerStatus.MERGED],
               "credit_rating": ["", "AAA", "AA", "A", "B", "C"],
               "delivery_window": ["", "morning", "afternoon", "evening", "weekdays", "weekends"]}
    for field, allowed in choices.items():
        if field in data and (data[field] or "") not in allowed and not (field == "industry" and not data[field]):
            errors[field] = [_("Choose one of the listed values.")]
    if "owner" in data:
        try:
            cleaned["owner"] = _clean_owner(data["owner"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _credit_code_taken(code: str, exclude_pk: int | None = None) -> bool:
    qs = Customer.objects.filter(credit_code=code).exclude(status=CustomerStatus.MERGED)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def customer_validate(*, kind: str, name: str, phones: list[str] | tuple = (), **fields) -> dict:
    """Check a new customer's fields without saving (the form asks about duplicates only once the
    entry itself is valid). Raises ValidationError naming each bad field."""
    if kind not in CustomerKind.values:
        raise ValidationError({"kind": _("Choose B-end account or C-end person.")})
    errors = {}
    try:
        cleaned = _clean_fields(kind, {"name": name, **fields})
    except ValidationError as exc:
        errors.update(exc.message_dict)
        cleaned = {}
    try:
        cleaned["phones"] = _clean_phone_list(phones)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return cleaned


def customer_create(*, actor: User, kind: str, name: str, phones: list[str] | tuple = (), **fields) -> Customer:
    """A new account or person with its phone numbers. `fields` are any of EDITABLE_FIELDS."""
    require_perm(actor, "customers.add_customer")
    if kind not in CustomerKind.values:
        raise ValidationError({"kind": _("Choose B-end account or C-end person.")})
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    cleaned = _clean_fields(kind, {"name": name, **fields})
    phone_values = _clean_phone_list(phones)
    if cleaned.get("credit_code") and _credit_code_taken(cleaned["credit_code"]):
        raise ValidationError({"credit_code": _("Another account already has this credit code.")})
    with transaction.atomic():
        (number,) = customer_number_next(kind)
        customer = Customer(kind=kind, number=number, created_by=actor, **cleaned)
        customer.save()
        for index, phone in enumerate(phone_values):
            CustomerPhone.objects.create(customer=customer, phone=phone, is_primary=index == 0, label="mobile")
    return customer


def _clean_phone_list(phones) -> list[str]:
    values, seen = [], set()
    for raw in phones or ():
        if not (raw or "").strip():
            continue
        value = _clean_personal("phone", raw, "phones")
        if value not in seen:
            seen.add(value)
            values.append(value)
    return values


def customer_update(*, actor: User, customer: Customer, **changes) -> Customer:
    """Change editable fields of a customer (only those passed)."""
    require_perm(actor, "customers.change_customer")
    if customer.status == CustomerStatus.MERGED:
        raise ValidationError(_("This record was merged into another one and can no longer be changed."))
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    if ("province" in changes) != ("city" in changes):
        changes.setdefault("province", customer.province)
        changes.setdefault("city", customer.city)
    cleaned = _clean_fields(customer.kind, changes)
    if cleaned.get("credit_code") and _credit_code_taken(cleaned["credit_code"], exclude_pk=customer.pk):
        raise ValidationError({"credit_code": _("Another account already has this credit code.")})
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        for field, value in cleaned.items():
            setattr(locked, field, value)
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError as exc:
            raise ValidationError({"credit_code": _("Another account already has this credit code.")}) from exc
    return locked


def require_live(customer: Customer) -> None:
    """A merged record is kept only as an audit trail: nothing is added to it any more."""
    if customer.status == CustomerStatus.MERGED:
        raise ValidationError(_("This record was merged into another one and can no longer be changed."))


def customer_phone_add(*, actor: User, customer: Customer, phone: str, label: str = "mobile",
                       primary: bool = False) -> CustomerPhone:
    require_perm(actor, "customers.change_customer")
    require_live(customer)
    value = _clean_personal("phone", phone, "phone")
    if value is None:
        raise ValidationError({"phone": _("Enter a phone number.")})
    if label not in ("mobile", "landline", "work", ""):
        raise ValidationError({"label": _("Choose one of the listed values.")})
    with transaction.atomic():
        existing = [p for p in customer.phones.all() if p.phone == value]
        if existing:
            raise ValidationError({"phone": _("This customer already has this number.")})
        if primary:
            customer.phones.update(is_primary=False)
        has_primary = customer.phones.filter(is_primary=True).exists()
        return CustomerPhone.objects.create(customer=customer, phone=value, label=label,
                                            is_primary=primary or not has_primary)


def customer_phone_remove(*, actor: User, phone: CustomerPhone) -> None:
    require_perm(actor, "customers.change_customer")
    with transaction.atomic():
        customer = phone.customer
        was_primary = phone.is_primary
        phone.delete()
        if was_primary:
            nxt = customer.phones.order_by("id").first()
            if nxt:
                nxt.is_primary = True
                nxt.save(update_fields=["is_primary"])


def address_add(*, actor: User, customer: Customer, province: str, city: str, street: str, district: str = "",
                label: str = "", postal_code: str = "", is_default: bool = False) -> Address:
    require_perm(actor, "customers.change_customer")
    require_live(customer)
    province, city = clean_region(province, city, required=True)
    errors = {}
    street_value = _clean_personal("address", street, "street")
    if not street_value:
        errors["street"] = [_("Enter the street address.")]
    postal_code = (postal_code or "").strip()
    if postal_code and not (len(postal_code) == 6 and postal_code.isdigit()):
        errors["postal_code"] = [_("A postal code has 6 digits.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if is_default:
            customer.addresses.update(is_default=False)
        is_default = is_default or not customer.addresses.exists()
        return Address.objects.create(customer=customer, province=province, city=city, district=district.strip(),
                                      street=street_value, label=label.strip()[:40], postal_code=postal_code,
                                      is_default=is_default)


def address_remove(*, actor: User, address: Address) -> None:
    require_perm(actor, "customers.change_customer")
    address.delete()


def _contact_fields(name, title, phone, email, notes) -> dict:
    errors, cleaned = {}, {}
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = [_("Enter the contact's name.")]
    cleaned["name"] = name[:80]
    cleaned["title"] = (title or "").strip()[:80]
    cleaned["notes"] = (notes or "").strip()[:300]
    for field, kind, value in (("phone", "phone", phone), ("email", "email", email)):
        try:
            cleaned[field] = _clean_personal(kind, value, field)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if not errors and not cleaned["phone"] and not cleaned["email"]:
        errors["phone"] = [_("Give a phone number or an email address.")]
    if errors:
        raise ValidationError(errors)
    return cleaned


def contact_create(*, actor: User, customer: Customer, name: str, title: str = "", phone: str = "",
                   email: str = "", notes: str = "", is_primary: bool = False) -> Contact:
    require_perm(actor, "customers.change_customer")
    require_live(customer)
    if customer.kind != CustomerKind.ACCOUNT:
        raise ValidationError({"customer": _("Contacts belong to B-end accounts.")})
    cleaned = _contact_fields(name, title, phone, email, notes)
    with transaction.atomic():
        if is_primary:
            customer.contacts.update(is_primary=False)
        is_primary = is_primary or not customer.contacts.filter(is_active=True).exists()
        return Contact.objects.create(customer=customer, is_primary=is_primary, **cleaned)


def contact_update(*, actor: User, contact: Contact, name: str, title: str = "", phone: str = "",
                   email: str = "", notes: str = "", is_primary: bool = False, is_active: bool = True) -> Contact:
    require_perm(actor, "customers.change_customer")
    cleaned = _contact_fields(name, title, phone, email, notes)
    with transaction.atomic():
        if is_primary:
            contact.customer.contacts.exclude(pk=contact.pk).update(is_primary=False)
        for field, value in cleaned.items():
            setattr(contact, field, value)
        contact.is_primary, contact.is_active = is_primary, is_active
        contact.save()
    return contact


def contact_remove(*, actor: User, contact: Contact) -> None:
    require_perm(actor, "customers.change_customer")
    contact.delete()


def tag_create(*, actor: User, name: str, color: str = "secondary", description: str = "") -> Tag:
    require_perm(actor, "customers.manage_tags")
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Enter the tag's name.")})
    if len(name) > 40:
        raise ValidationError({"name": _("At most 40 characters.")})
    if color not in dict(Tag.COLORS):
        raise ValidationError({"color": _("Choose one of the listed values.")})
    if Tag.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": _("A tag with this name exists.")})
    return Tag.objects.create(name=name, color=color, description=(description or "").strip()[:200])


def customer_tag_add(*, actor: User, customer: Customer, tag: Tag) -> CustomerTag:
    require_perm(actor, "customers.change_customer")
    require_live(customer)
    obj, _created = CustomerTag.objects.get_or_create(customer=customer, tag=tag, defaults={"added_by": actor})
    return obj


def customer_tag_remove(*, actor: User, customer: Customer, tag: Tag) -> None:
    require_perm(actor, "customers.change_customer")
    CustomerTag.objects.filter(customer=customer, tag=tag).delete()
