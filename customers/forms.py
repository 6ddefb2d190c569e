"""HTML forms of the customers app: parsing and field-level checks only. Business validation
(normalisation, credit codes, regions, duplicates) lives in the services, whose errors are put
back on these forms with tenancy.forms.apply_service_errors."""
from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.forms import HtmlDateInput
from tenancy.models import Membership, Role

from . import regions
from .models import (
    ActivityKind,
    CreditRating,
    CustomerKind,
    CustomerStatus,
    DeliveryWindow,
    Industry,
    LostReason,
    RetentionOutcome,
    SettlementType,
    SourceChannel,
    Tag,
)
from .rules import SEGMENT_LABELS

BLANK = [("", "—")]


PROVINCE_LABEL = _("Province")


def province_field(required=False, label=PROVINCE_LABEL):
    return forms.ChoiceField(label=label, required=required, choices=BLANK + regions.province_choices())


def city_field(required=False):
    return forms.CharField(label=_("City"), max_length=40, required=required,
                           widget=forms.TextInput(attrs={"list": "city-options", "autocomplete": "off"}),
                           help_text=_("Type the city or district; it is matched against the official list."))


class MembershipChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.user.display_name


def sales_managers():
    return (Membership.objects.filter(is_active=True, role__in=[Role.SALES_MANAGER, Role.TENANT_ADMIN])
            .select_related("user").order_by("user__display_name"))


class CustomerForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    phones = forms.CharField(label=_("Phone numbers"), required=False, max_length=300,
                             help_text=_("Several numbers separated by commas."))
    status = forms.ChoiceField(label=_("Status"), initial=CustomerStatus.ACTIVE,
                               choices=[c for c in CustomerStatus.choices if c[0] != CustomerStatus.MERGED])
    province = province_field()
    city = city_field()
    district = forms.CharField(label=_("District"), max_length=40, required=False)
    source_channel = forms.ChoiceField(label=_("Source channel"), choices=SourceChannel.choices,
                                       initial=SourceChannel.PHONE)
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    # B-end
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=30, required=False)
    industry = forms.ChoiceField(label=_("Industry"), choices=BLANK + Industry.choices, required=False)
    credit_rating = forms.ChoiceField(label=_("Credit rating"), choices=BLANK + CreditRating.choices, required=False)
    settlement_type = forms.ChoiceField(label=_("Settlement"), choices=SettlementType.choices,
                                        initial=SettlementType.CASH)
    owner = MembershipChoiceField(label=_("Account manager"), queryset=Membership.objects.none(), required=False)
    # C-end
    id_number = forms.CharField(label=_("ID number"), max_length=30, required=False)
    delivery_window = forms.ChoiceField(label=_("Preferred delivery time"), choices=DeliveryWindow.choices,
                                        required=False)
    delivery_notes = forms.CharField(label=_("Delivery preferences"), max_length=300, required=False)
    confirm_not_duplicate = forms.BooleanField(
        label=_("I checked the possible duplicates: this is a different customer"), required=False)

    ACCOUNT_ONLY = ("credit_code", "industry", "credit_rating", "settlement_type", "owner")
    PERSON_ONLY = ("id_number", "delivery_window", "delivery_notes")

    def __init__(self, *args, kind: str, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["owner"].queryset = sales_managers()
        drop = self.PERSON_ONLY if kind == CustomerKind.ACCOUNT else self.ACCOUNT_ONLY
        for name in drop:
            del self.fields[name]
        if kind == CustomerKind.ACCOUNT:
            self.fields["name"].label = _("Company name")
        if editing:
            del self.fields["phones"]
            del self.fields["confirm_not_duplicate"]
            for name in ("email", "id_number"):
                if name in self.fields:
                    self.fields[name].help_text = _("Leave empty to keep the stored value.")

    def phone_list(self) -> list[str]:
        raw = self.cleaned_data.get("phones") or ""
        return [p.strip() for p in raw.replace("，", ",").replace(";", ",").split(",") if p.strip()]

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        for name in ("phones", "confirm_not_duplicate"):
            data.pop(name, None)
        return data


class PhoneForm(forms.Form):
    phone = forms.CharField(label=_("Phone"), max_length=30)
    label = forms.ChoiceField(label=_("Type"), choices=[("mobile", _("Mobile")), ("landline", _("Landline")),
                                                        ("work", _("Work"))])
    primary = forms.BooleanField(label=_("Primary number"), required=False)


class AddressForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=40, required=False,
                            widget=forms.TextInput(attrs={"placeholder": _("home, office, warehouse")}))
    province = province_field(required=True)
    city = city_field(required=True)
    district = forms.CharField(label=_("District"), max_length=40, required=False)
    street = forms.CharField(label=_("Street address"), max_length=200)
    postal_code = forms.CharField(label=_("Postal code"), max_length=6, required=False)
    is_default = forms.BooleanField(label=_("Default address"), required=False)


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    title = forms.CharField(label=_("Job title"), max_length=80, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    notes = forms.CharField(label=_("Notes"), max_length=300, required=False)
    is_primary = forms.BooleanField(label=_("Primary contact"), required=False)


class TagForm(forms.Form):
    name = forms.CharField(label=_("Tag"), max_length=40)
    color = forms.ChoiceField(label=_("Colour"), choices=Tag.COLORS)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)


class TagAssignForm(forms.Form):
    tag = forms.ModelChoiceField(label=_("Tag"), queryset=Tag.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].queryset = Tag.objects.order_by("name")


class CustomerFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100)
    kind = forms.ChoiceField(required=False, choices=BLANK + CustomerKind.choices)
    status = forms.ChoiceField(required=False, choices=BLANK + CustomerStatus.choices)
    segment = forms.ChoiceField(required=False, choices=BLANK + list(SEGMENT_LABELS.items()))
    tag = forms.IntegerField(required=False, min_value=1)
    owner = forms.IntegerField(required=False, min_value=1)
    province = forms.ChoiceField(required=False, choices=BLANK + regions.province_choices())
    city = forms.CharField(required=False, max_length=40)
    churn_risk = forms.ChoiceField(required=False, choices=BLANK + [("low", _("Low")), ("medium", _("Medium")),
                                                                    ("high", _("High"))])
    after = forms.IntegerField(required=False, min_value=1)

    def selector_filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {"search": data.get("q") or "", "kind": data.get("kind") or "", "status": data.get("status") or "",
                "segment": data.get("segment") or "", "tag_id": data.get("tag"), "owner_id": data.get("owner"),
                "province": data.get("province") or "", "city": data.get("city") or "",
                "churn_risk": data.get("churn_risk") or ""}


class MergeForm(forms.Form):
    survivor = forms.IntegerField(label=_("Keep this record"), min_value=1)
    merged = forms.IntegerField(label=_("Merge this record into it"), min_value=1)
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class ContractForm(forms.Form):
    start_date = forms.DateField(label=_("Start date"), widget=HtmlDateInput())
    end_date = forms.DateField(label=_("End date"), widget=HtmlDateInput())
    monthly_commitment = forms.IntegerField(label=_("Monthly volume commitment (parcels)"), min_value=0,
                                            max_value=100_000_000, initial=0)
    settlement_type = forms.ChoiceField(label=_("Settlement"), choices=SettlementType.choices,
                                        initial=SettlementType.MONTHLY)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class LaneForm(forms.Form):
    origin_province = province_field(required=True, label=_("From province"))
    destination_province = province_field(required=True, label=_("To province"))
    min_weight_kg = forms.DecimalField(label=_("Above (kg)"), min_value=0, max_digits=7, decimal_places=2, initial=0)
    max_weight_kg = forms.DecimalField(label=_("Up to (kg)"), min_value=0, max_digits=7, decimal_places=2)
    first_weight_price = forms.DecimalField(label=_("First kg (CNY)"), min_value=0, max_digits=10, decimal_places=2)
    additional_kg_price = forms.DecimalField(label=_("Each additional kg (CNY)"), min_value=0, max_digits=10,
                                             decimal_places=2, initial=0)


class PriceQuoteForm(forms.Form):
    origin_province = province_field(required=True, label=_("From province"))
    destination_province = province_field(required=True, label=_("To province"))
    weight_kg = forms.DecimalField(label=_("Weight (kg)"), min_value=0.01, max_value=99999, max_digits=8,
                                   decimal_places=2)
    on = forms.DateField(label=_("Shipping date"), required=False, widget=HtmlDateInput())


class TerminateForm(forms.Form):
    on = forms.DateField(label=_("Last day"), widget=HtmlDateInput())
    reason = forms.CharField(label=_("Reason"), max_length=300)


class LeadForm(forms.Form):
    company_name = forms.CharField(label=_("Company"), max_length=200)
    contact_name = forms.CharField(label=_("Contact person"), max_length=80)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    province = province_field()
    city = city_field()
    industry = forms.ChoiceField(label=_("Industry"), choices=BLANK + Industry.choices, required=False)
    estimated_monthly_parcels = forms.IntegerField(label=_("Estimated parcels per month"), min_value=0,
                                                   max_value=100_000_000, required=False)
    message = forms.CharField(label=_("Message"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))


class PublicLeadForm(LeadForm):
    # A field people do not see (hidden by CSS class); bots fill it in.
    website = forms.CharField(required=False, label=_("Leave this empty"),
                              widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}))
    consent = forms.BooleanField(label=_("I agree that the company contacts me about this request."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["message"].label = _("What do you ship? (products, destinations, volumes)")


class LeadAssignForm(forms.Form):
    owner = MembershipChoiceField(label=_("Sales manager"), queryset=Membership.objects.none(), required=False,
                                  help_text=_("Leave empty to assign by the team rules."))
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = sales_managers()


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class QualifyForm(forms.Form):
    name = forms.CharField(label=_("Opportunity name"), max_length=200, required=False)
    expected_monthly_revenue = forms.DecimalField(label=_("Expected monthly revenue (CNY)"), min_value=0,
                                                  max_digits=12, decimal_places=2, required=False)
    expected_close_date = forms.DateField(label=_("Expected close date"), required=False,
                                          widget=HtmlDateInput())


class OpportunityForm(QualifyForm):
    expected_monthly_parcels = forms.IntegerField(label=_("Expected parcels per month"), min_value=0,
                                                  max_value=100_000_000, required=False)


class WinForm(ContractForm):
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=30, required=False)
    industry = forms.ChoiceField(label=_("Industry"), choices=BLANK + Industry.choices, required=False)
    credit_rating = forms.ChoiceField(label=_("Credit rating"), choices=BLANK + CreditRating.choices,
                                      required=False)

    def __init__(self, *args, new_account: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["notes"]
        if not new_account:
            for name in ("credit_code", "industry", "credit_rating"):
                del self.fields[name]
        today = timezone.localdate()
        self.fields["start_date"].initial = today
        self.fields["end_date"].initial = today.replace(year=today.year + 1) - timezone.timedelta(days=1)


class LoseForm(forms.Form):
    reason = forms.ChoiceField(label=_("Why was the deal lost?"), choices=LostReason.choices)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=ActivityKind.choices)
    summary = forms.CharField(label=_("What happened"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)
    next_action = forms.CharField(label=_("Next action"), max_length=200, required=False)
    next_action_date = forms.DateField(label=_("Due"), required=False, widget=HtmlDateInput())


class SalesTeamForm(forms.Form):
    name = forms.CharField(label=_("Team name"), max_length=80)
    provinces = forms.MultipleChoiceField(label=_("Provinces (none: all)"), choices=regions.province_choices(),
                                          required=False, widget=forms.SelectMultiple(attrs={"size": 8}))
    industries = forms.MultipleChoiceField(label=_("Industries (none: all)"), choices=Industry.choices,
                                           required=False, widget=forms.SelectMultiple(attrs={"size": 6}))
    priority = forms.IntegerField(label=_("Rule order"), min_value=0, max_value=32767, initial=100,
                                  help_text=_("Teams with lower numbers are tried first."))
    members = forms.ModelMultipleChoiceField(label=_("Members"), queryset=Membership.objects.none(),
                                             widget=forms.SelectMultiple(attrs={"size": 6}))
    leader = MembershipChoiceField(label=_("Team lead"), queryset=Membership.objects.none(), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = sales_managers()
        self.fields["members"].label_from_instance = lambda m: m.user.display_name
        self.fields["leader"].queryset = sales_managers()


# --- retention tasks ---------------------------------------------------------------------------

class RetentionFilterForm(forms.Form):
    """The retention list's tab and filters; anything unknown falls back to the default."""

    TABS = [("mine", _("Mine")), ("team", _("Team queue")), ("open", _("All open")), ("closed", _("Closed"))]
    RISKS = [("", _("Any risk")), ("high", _("High")), ("medium", _("Medium")), ("low", _("Low"))]

    tab = forms.ChoiceField(choices=TABS, required=False)
    risk = forms.ChoiceField(label=_("Risk"), choices=RISKS, required=False)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    after = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {"tab": data.get("tab") or "mine", "risk": data.get("risk") or "",
                "overdue": bool(data.get("overdue"))}


class RetentionCloseForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=BLANK + RetentionOutcome.choices)
    note = forms.CharField(label=_("What was done"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("Required when the customer was lost or nothing was done."))


class RetentionReassignForm(forms.Form):
    assignee = MembershipChoiceField(label=_("Assign to"), queryset=Membership.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = sales_managers()
