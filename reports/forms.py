"""The dashboards' filter: a date range and a branch. The same form parses the page's query string
and every JSON / CSV endpoint's, so every chart and its export answer the same question."""
from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import Branch
from tenancy.selectors import branch_reach

from .rules import DEFAULT_MONTHS, MAX_RANGE_DAYS
from .selectors import DashboardFilters

# Dates outside this window are typing mistakes (and would overflow the month arithmetic).
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2999, 12, 31)


def months_back(today: dt.date, months: int) -> dt.date:
    """The first day of the month `months - 1` months before today's: six months back from
    mid-June starts on the first of January, so every month shown is whole."""
    index = today.year * 12 + today.month - 1 - (months - 1)
    return dt.date(index // 12, index % 12 + 1, 1)


class DashboardFilterForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    branch = forms.ModelChoiceField(label=_("Branch"), queryset=Branch.objects.none(),
                                    required=False, empty_label=_("All my branches"))

    def __init__(self, *args, membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.membership = membership
        reach = branch_reach(membership)
        branches = Branch.objects.order_by("path")
        if reach is not None:
            branches = branches.filter(path__startswith=reach.path)
        self.fields["branch"].queryset = branches
        self.fields["branch"].label_from_instance = lambda b: f"{'· ' * b.depth}{b.name} ({b.code})"

    def clean(self):
        data = super().clean()
        for name in ("start", "end"):
            value = data.get(name)
            if value is not None and not (EARLIEST <= value <= LATEST):
                self.add_error(name, _("Enter a date between %(earliest)s and %(latest)s.")
                               % {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()})
                return data
        today = timezone.localdate()
        end = data.get("end") or today
        start = data.get("start") or months_back(end, DEFAULT_MONTHS.value())
        if start > end:
            self.add_error("start", _("The start date must not be after the end date."))
        elif (end - start).days > MAX_RANGE_DAYS.value():
            self.add_error("start", _("Choose at most %(days)s days.") % {"days": MAX_RANGE_DAYS.value()})
        data["start"], data["end"] = start, end
        return data

    def filters(self) -> DashboardFilters:
        """The validated filter (call after is_valid())."""
        data = self.cleaned_data
        branch = data.get("branch") or branch_reach(self.membership)
        return DashboardFilters(start=data["start"], end=data["end"], branch=branch)
