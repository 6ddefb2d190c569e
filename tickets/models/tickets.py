"""Service tickets and their timeline (DOMAIN.md §3, ARCHITECTURE.md §5).

A ticket comes from an agent, the public web form, the API (email and WeChat gateways too) or the
system (shipments exception rules: at most one open ticket per waybill and exception kind). Its
timeline (`TicketEvent`) never changes; merged tickets show their timelines on the ticket they were
merged into."""
from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.fields import BlindIndexField, EncryptedTextField
from tenancy.models import Branch, Membership, TenantScopedModel


class TicketCategory(models.TextChoices):
    TRACKING_INQUIRY = "tracking_inquiry", _("Tracking inquiry")
    COMPLAINT = "complaint", _("Complaint")
    CLAIM = "claim", _("Claim")
    DELAY = "delay", _("Delay")
    DAMAGE = "damage", _("Damage")
    LOSS = "loss", _("Loss")
    ADDRESS_CHANGE = "address_change", _("Address change")
    DELIVERY_URGE = "delivery_urge", _("Delivery urge")
    OTHER = "other", _("Other")


class TicketChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    WEB = "web", _("Web form")
    WECHAT = "wechat", _("WeChat")
    APP = "app", _("App")
    EMAIL = "email", _("Email")
    API = "api", _("API")
    SYSTEM = "system", _("System")


class TicketPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class TicketStatus(models.TextChoices):
    NEW = "new", _("New")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_CUSTOMER = "waiting_customer", _("Waiting for customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")


# A ticket in one of these states is done; any other state counts as open.
DONE_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


class ExceptionKind(models.TextChoices):
    """Why the system opened a ticket for a waybill (shipments.rules)."""

    NO_SCAN = "no_scan", _("No scan while in transit")
    OVERDUE = "overdue", _("Past the promised delivery date")
    DAMAGED = "damaged", _("Damage scan")
    LOST = "lost", _("Loss scan")
    REFUSED = "refused", _("Refused by the receiver")
    RETURNED = "returned", _("Returned to sender")
    LOCKER_NO_CONSENT = "locker_no_consent", _("Locker drop without consent")
    EXCEPTION = "exception", _("Exception scan")


class Ticket(TenantScopedModel):
    number = models.CharField(_("ticket number"), max_length=20, editable=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="tickets", verbose_name=_("customer"))
    contact = models.ForeignKey("customers.Contact", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="tickets", verbose_name=_("contact person"))
    caller_name = models.CharField(_("caller name"), max_length=80, blank=True, db_default="")
    caller_email = EncryptedTextField(_("caller email"), kind="email", blank=True, null=True)
    caller_phone = EncryptedTextField(_("caller phone"), kind="phone", blank=True, null=True)
    caller_phone_bidx = BlindIndexField(source="caller_phone")
    waybill = models.ForeignKey("shipments.Waybill", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="tickets", verbose_name=_("waybill"))
    category = models.CharField(_("category"), max_length=20, choices=TicketCategory.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=TicketChannel.choices)
    priority = models.CharField(_("priority"), max_length=10, choices=TicketPriority.choices,
                                default=TicketPriority.NORMAL)
    status = models.CharField(_("status"), max_length=20, choices=TicketStatus.choices, default=TicketStatus.NEW)
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets",
                               verbose_name=_("branch"))
    team = models.ForeignKey("tickets.Team", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="tickets", verbose_name=_("team"))
    assignee = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="assigned_tickets", verbose_name=_("assignee"))
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    tags = ArrayField(models.CharField(max_length=30), default=list, blank=True, verbose_name=_("tags"))
    exception_kind = models.CharField(_("exception"), max_length=20, choices=ExceptionKind.choices, blank=True)
    # Where an inbound message came from (a gateway's thread or message id): the same external
    # thread adds to its open ticket instead of opening another.
    external_ref = models.CharField(_("external reference"), max_length=120, blank=True, db_default="")
    # SLA (tickets.sla): the policy that set the clocks, the warning times (a share of each
    # target), the due times, and while waiting for the customer the moment the clocks stopped.
    sla_policy = models.ForeignKey("tickets.SlaPolicy", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("SLA policy"))
    first_response_warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolution_warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    sla_paused_at = models.DateTimeField(_("SLA clock paused at"), null=True, blank=True, editable=False)
    first_response_warned = models.BooleanField(default=False, db_default=False, editable=False)
    resolution_warned = models.BooleanField(default=False, db_default=False, editable=False)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True, editable=False)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0, db_default=0,
                                                        editable=False)
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged",
                                    editable=False, verbose_name=_("merged into"))
    split_from = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="splits",
                                   editable=False, verbose_name=_("split from"))
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    first_response_breached = models.BooleanField(_("first response late"), default=False)
    resolution_breached = models.BooleanField(_("resolution late"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("opened at"), default=timezone.now)
    first_responded_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    personal_data_erased_at = models.DateTimeField(
        _("personal data erased at"), null=True, blank=True, editable=False,
        help_text=_("Set when a deletion request or the retention job anonymised this record."))
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="ticket_number_unique"),
            # However often a rule fires, a waybill has at most one open ticket per exception kind.
            models.UniqueConstraint(
                fields=["tenant", "waybill", "exception_kind"], name="ticket_one_open_per_waybill_exception",
                condition=Q(waybill__isnull=False) & ~Q(exception_kind="") & ~Q(status__in=DONE_STATUSES),
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "created_at"], name="ticket_status_age"),
            models.Index(fields=["tenant", "branch", "created_at"], name="ticket_branch_age"),
            models.Index(fields=["tenant", "waybill"], name="ticket_waybill"),
            # Retention finds tickets closed before its cut-off among those not yet anonymised.
            models.Index(fields=["tenant", "closed_at"], name="ticket_retention_closed",
                         condition=Q(personal_data_erased_at__isnull=True)),
            models.Index(fields=["tenant", "customer", "created_at"], name="ticket_customer"),
            models.Index(fields=["tenant", "assignee", "status"], name="ticket_assignee"),
            models.Index(fields=["tenant", "caller_phone_bidx"], name="ticket_caller_bidx"),
            models.Index(fields=["tenant", "team", "status"], name="ticket_team"),
            # The queues: open tickets by the time left on their clock.
            models.Index(fields=["tenant", "assignee", "resolution_due"], name="ticket_queue_mine",
                         condition=~Q(status__in=DONE_STATUSES)),
            models.Index(fields=["tenant", "team", "resolution_due"], name="ticket_queue_team",
                         condition=~Q(status__in=DONE_STATUSES)),
            # The SLA sweep: open tickets whose next warning or deadline is still to come.
            models.Index(fields=["tenant", "first_response_due"], name="ticket_sla_first",
                         condition=Q(first_responded_at__isnull=True, first_response_breached=False)
                         & ~Q(status__in=DONE_STATUSES)),
            models.Index(fields=["tenant", "resolution_due"], name="ticket_sla_resolution",
                         condition=Q(resolution_breached=False) & ~Q(status__in=DONE_STATUSES)),
            models.Index(fields=["tenant", "external_ref"], name="ticket_external_ref", condition=~Q(external_ref="")),
        ]
        permissions = [
            ("resolve_exception", _("Work the branch exception queue")),
            ("merge_ticket", _("Merge and split tickets")),
            ("manage_service_desk", _("Manage teams, routing, SLA policies, calendars and macros")),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status not in DONE_STATUSES


class TicketEventKind(models.TextChoices):
    CREATED = "created", _("Opened")
    ASSIGNED = "assigned", _("Assigned")
    STATUS = "status", _("Status changed")
    REPLY = "reply", _("Public reply")
    CUSTOMER_MESSAGE = "customer_message", _("Customer wrote")
    NOTE = "note", _("Internal note")
    ESCALATED = "escalated", _("Escalated")
    SLA_BREACHED = "sla_breached", _("SLA breached")
    MERGED = "merged", _("Merged")
    SPLIT = "split", _("Split")
    RULE_FIRED = "rule_fired", _("Rule fired again")
    SLA_WARNING = "sla_warning", _("SLA warning")
    UPDATED = "updated", _("Details changed")
    ATTACHMENT = "attachment", _("Attachment added")
    SURVEY_SENT = "survey_sent", _("Survey sent")
    SURVEY_ANSWERED = "survey_answered", _("Survey answered")
    CLAIM = "claim", _("Claim")


class TicketEvent(TenantScopedModel):
    """One line of a ticket's timeline. Rows never change (a deletion request may only blank the
    text, through the database's redaction function)."""

    append_only = True
    redactable_fields = ("body", "data")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events", verbose_name=_("ticket"))
    kind = models.CharField(_("event"), max_length=20, choices=TicketEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("by"))
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    body = models.TextField(_("text"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["tenant", "ticket", "created_at"], name="ticketevent_timeline")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind}"
