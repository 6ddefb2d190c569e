"""HTML forms of the tickets app (parsing and field-level validation only).

Colleagues and branches are offered as plain choices built from the caller's reach (tickets
.selectors), so an id from elsewhere is simply not a valid choice."""
from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tenancy.forms import PlainSelect

from ..models import ExceptionKind, TicketStatus
from ..selectors import OPEN_STATUSES

BLANK = [("", "—")]
UNASSIGNED = "none"


def member_choices(members) -> list[tuple[int, str]]:
    return [(m.pk, f"{m.user.display_name} · {m.branch.name if m.branch_id else '—'}") for m in members]


def branch_choices(branches) -> list[tuple[int, str]]:
    return [(b.pk, "— " * b.depth + b.name) for b in branches]


class QueueCursorField(forms.CharField):
    """The keyset cursor of the queue: "<created_at as microseconds since the epoch>.<id>"."""

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        micros, _sep, pk = value.partition(".")
        if not (micros.isdecimal() and pk.isdecimal()):
            raise ValidationError(_("Not a page of this list."))
        return (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(micros)), int(pk))


def queue_cursor(ticket) -> str:
    delta = ticket.created_at - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return f"{delta // dt.timedelta(microseconds=1)}.{ticket.pk}"


class ExceptionQueueFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Exception"), required=False, choices=BLANK + ExceptionKind.choices)
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=BLANK + [(s, TicketStatus(s).label) for s in OPEN_STATUSES])
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    branch = forms.TypedChoiceField(label=_("Branch"), required=False, coerce=int, empty_value=None)
    q = forms.CharField(label=_("Waybill or ticket number"), required=False, max_length=40)
    after = QueueCursorField(required=False, max_length=40)

    def __init__(self, *args, members=(), branches=(), **kwargs):
        kwargs.setdefault("auto_id", "filter_%s")  # the bulk form on the same page has an assignee too
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = (BLANK + [(UNASSIGNED, _("Nobody yet"))]
                                           + [(str(pk), label) for pk, label in member_choices(members)])
        self.fields["branch"].choices = BLANK + branch_choices(branches)

    def selector_filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        assignee = data.get("assignee") or ""
        return {"kind": data.get("kind") or "", "status": data.get("status") or "",
                "unassigned": assignee == UNASSIGNED, "assignee_id": int(assignee) if assignee.isdecimal() else None,
                "branch_id": data.get("branch"), "search": data.get("q") or ""}


class TicketIdsField(forms.Field):
    """The ticked rows of the queue (several `ticket` values)."""

    widget = forms.MultipleHiddenInput
    max_count = 200
    default_error_messages = {"required": _("Tick at least one ticket."), "invalid": _("Not a ticket of this list."),
                              "too_many": _("Tick at most %(n)d tickets at a time.")}

    def to_python(self, value):
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        if not all(isinstance(v, str) and v.isdecimal() and len(v) < 19 for v in values):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        ids = sorted({int(v) for v in values})
        if len(ids) > self.max_count:
            raise ValidationError(self.error_messages["too_many"], code="too_many", params={"n": self.max_count})
        return ids


class ExceptionBulkForm(forms.Form):
    ACTIONS = [("assign", _("Assign")), ("resolve", _("Resolve"))]

    ticket = TicketIdsField(label=_("Tickets"))
    action = forms.ChoiceField(choices=ACTIONS)
    assignee = forms.TypedChoiceField(label=_("Assign to"), required=False, coerce=int, empty_value=None)
    note = forms.CharField(label=_("Note"), max_length=1000, required=False)

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = BLANK + member_choices(members)

    def clean(self):
        data = super().clean()
        if data.get("action") == "assign" and not data.get("assignee"):
            self.add_error("assignee", _("Choose the colleague who takes the tickets."))
        if data.get("action") == "resolve" and not (data.get("note") or "").strip():
            self.add_error("note", _("Say how the tickets were resolved."))
        return data


class TicketAssignForm(forms.Form):
    assignee = forms.TypedChoiceField(label=_("Assign to"), coerce=int, empty_value=None, widget=PlainSelect)
    note = forms.CharField(label=_("Note"), max_length=1000, required=False)

    def __init__(self, *args, choices=(), **kwargs):
        """`choices`: (membership id, label) of the people the ticket may go to."""
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = BLANK + list(choices)


class TicketStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"))
    note = forms.CharField(label=_("Note"), max_length=1000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=_("Required when resolving: how was it resolved?"))

    def __init__(self, *args, allowed=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = BLANK + [(s, TicketStatus(s).label) for s in allowed]
