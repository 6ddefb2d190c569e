"""HTML forms of the SLA set-up pages (parsing and field-level checks; the services check the rest
and name the field of every error they raise)."""
from __future__ import annotations

import datetime as dt
import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from tenancy.forms import HtmlDateInput

from ..models import BusinessCalendar, SlaClock, SlaPolicy, TicketCategory, TicketPriority
from ..services.sla import MAX_TARGET_MINUTES

ANY = [("", _("any"))]
WEEKDAYS = [(1, _("Monday")), (2, _("Tuesday")), (3, _("Wednesday")), (4, _("Thursday")), (5, _("Friday")),
            (6, _("Saturday")), (7, _("Sunday"))]


class HtmlTimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%H:%M")


def time_zone_choices() -> list[tuple[str, str]]:
    return [(z, z) for z in sorted(zoneinfo.available_timezones()) if "/" in z or z == "UTC"]


class SlaPolicyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    category = forms.ChoiceField(label=_("Category"), required=False, choices=ANY + TicketCategory.choices)
    priority = forms.ChoiceField(label=_("Priority"), required=False, choices=ANY + TicketPriority.choices)
    contract = forms.CharField(label=_("Only for contract (number)"), required=False, max_length=20,
                               help_text=_("Empty: every customer. With a contract number, the policy applies to "
                                           "the account's tickets while the contract is in force."))
    calendar = forms.ModelChoiceField(label=_("Business calendar"), queryset=BusinessCalendar.objects.none(),
                                      required=False, empty_label=_("The default calendar"))
    first_response_minutes = forms.IntegerField(label=_("First response within (minutes)"), min_value=1,
                                                max_value=MAX_TARGET_MINUTES,
                                                help_text=_("120 = 2 hours, 480 = one working day of 8 hours"))
    first_response_clock = forms.ChoiceField(label=_("First response clock"), choices=SlaClock.choices,
                                             initial=SlaClock.BUSINESS)
    resolution_minutes = forms.IntegerField(label=_("Resolve within (minutes)"), min_value=1,
                                            max_value=MAX_TARGET_MINUTES,
                                            help_text=_("1440 = 1 day, 10080 = 7 days"))
    resolution_clock = forms.ChoiceField(label=_("Resolution clock"), choices=SlaClock.choices,
                                         initial=SlaClock.CALENDAR)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["calendar"].queryset = BusinessCalendar.objects.order_by("-is_default", "name", "id")

    def clean_contract(self):
        number = (self.cleaned_data.get("contract") or "").strip()
        if not number:
            return None
        from customers.selectors import contract_list

        contract = contract_list().filter(number__iexact=number).first()
        if contract is None:
            raise forms.ValidationError(_("No contract with this number."))
        return contract

    @staticmethod
    def initial_of(policy: SlaPolicy) -> dict:
        return {"name": policy.name, "category": policy.category, "priority": policy.priority,
                "contract": policy.contract.number if policy.contract_id else "", "calendar": policy.calendar_id,
                "first_response_minutes": policy.first_response_minutes,
                "first_response_clock": policy.first_response_clock,
                "resolution_minutes": policy.resolution_minutes, "resolution_clock": policy.resolution_clock,
                "is_active": policy.is_active}


class CalendarForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    time_zone = forms.ChoiceField(label=_("Time zone"), initial="Asia/Shanghai")
    workdays = forms.TypedMultipleChoiceField(label=_("Working weekdays"), choices=WEEKDAYS, coerce=int,
                                              initial=[1, 2, 3, 4, 5],
                                              widget=forms.SelectMultiple(attrs={"size": 7}))
    work_start = forms.TimeField(label=_("Work starts"), initial=dt.time(9), widget=HtmlTimeInput())
    work_end = forms.TimeField(label=_("Work ends"), initial=dt.time(18), widget=HtmlTimeInput())
    break_start = forms.TimeField(label=_("Break starts"), required=False, initial=dt.time(12),
                                  widget=HtmlTimeInput(), help_text=_("Empty: no break"))
    break_end = forms.TimeField(label=_("Break ends"), required=False, initial=dt.time(13), widget=HtmlTimeInput())
    is_default = forms.BooleanField(label=_("The company's default calendar"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = time_zone_choices()

    @staticmethod
    def initial_of(calendar: BusinessCalendar) -> dict:
        return {"name": calendar.name, "time_zone": calendar.time_zone, "workdays": list(calendar.workdays or []),
                "work_start": calendar.work_start, "work_end": calendar.work_end,
                "break_start": calendar.break_start, "break_end": calendar.break_end,
                "is_default": calendar.is_default}


class CalendarDayForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=HtmlDateInput())
    is_working = forms.TypedChoiceField(label=_("Kind"), coerce=lambda v: v == "1", empty_value=None,
                                        choices=[("0", _("Holiday (no work)")),
                                                 ("1", _("Make-up working day"))])
    name = forms.CharField(label=_("Name"), max_length=80, required=False)
