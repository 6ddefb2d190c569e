"""Sales: teams (the assignment groups), leads, opportunities with their quoted lanes, and
follow-up activities with next-action dates."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.fields import BlindIndexField, EncryptedTextField
from tenancy.models import Membership, TenantScopedModel

from .contracts import Contract, LanePrice, lane_constraints
from .records import Customer, Industry


class SalesTeam(TenantScopedModel):
    """A group of sales managers. Leads from its provinces / industries are assigned round-robin
    among its members; members see each other's leads and opportunities (object permissions
    through the team's auth group)."""

    name = models.CharField(_("name"), max_length=80)
    provinces = ArrayField(models.CharField(max_length=20), default=list, blank=True,
                           verbose_name=_("provinces (empty: all)"))
    industries = ArrayField(models.CharField(max_length=20), default=list, blank=True,
                            verbose_name=_("industries (empty: all)"))
    priority = models.PositiveSmallIntegerField(_("rule order"), default=100,
                                                help_text=_("Lower numbers are tried first."))
    is_active = models.BooleanField(_("active"), default=True)
    retention_queue = models.BooleanField(
        _("retention queue"), default=False,
        help_text=_("Retention tasks of C-end VIPs without an account manager go to this team."))
    leader = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                               verbose_name=_("team lead"))
    last_assigned = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="+", editable=False)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="+", editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("sales team")
        verbose_name_plural = _("sales teams")
        ordering = ["priority", "id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="salesteam_name_unique")]

    def __str__(self) -> str:
        return self.name


class SalesTeamMember(TenantScopedModel):
    team = models.ForeignKey(SalesTeam, on_delete=models.CASCADE, related_name="team_members")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="sales_teams")
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "team", "membership"], name="salesteam_member_once")]

    def __str__(self) -> str:
        return f"{self.team_id}:{self.membership_id}"


class LeadSource(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    API = "api", _("API")
    MANUAL = "manual", _("Entered by hand")
    IMPORT = "import", _("Import")
    REFERRAL = "referral", _("Referral")


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    ASSIGNED = "assigned", _("Assigned")
    CONTACTED = "contacted", _("Contacted")
    QUALIFIED = "qualified", _("Qualified (opportunity)")
    DISQUALIFIED = "disqualified", _("Disqualified")


class Lead(TenantScopedModel):
    """A prospective B-end account, before it is qualified into an opportunity."""

    company_name = models.CharField(_("company"), max_length=200)
    contact_name = models.CharField(_("contact person"), max_length=80)
    phone = EncryptedTextField(_("phone"), kind="phone", blank=True, null=True)
    phone_bidx = BlindIndexField(source="phone")
    email = EncryptedTextField(_("email"), kind="email", blank=True, null=True)
    email_bidx = BlindIndexField(source="email")
    province = models.CharField(_("province"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=40, blank=True)
    industry = models.CharField(_("industry"), max_length=20, choices=Industry.choices, blank=True)
    estimated_monthly_parcels = models.PositiveIntegerField(_("estimated parcels per month"), null=True, blank=True)
    message = models.TextField(_("message"), blank=True)
    source = models.CharField(_("source"), max_length=10, choices=LeadSource.choices, default=LeadSource.MANUAL)
    status = models.CharField(_("status"), max_length=12, choices=LeadStatus.choices, default=LeadStatus.NEW)
    team = models.ForeignKey(SalesTeam, on_delete=models.SET_NULL, null=True, blank=True, related_name="leads",
                             verbose_name=_("team"))
    owner = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              verbose_name=_("owner"))
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="leads",
                                 verbose_name=_("existing account"))
    disqualify_reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["tenant", "status", "-id"], name="lead_status"),
            models.Index(fields=["tenant", "owner", "status"], name="lead_owner"),
            models.Index(fields=["tenant", "phone_bidx"], name="lead_phone_bidx"),
        ]
        permissions = [
            ("view_all_leads", _("See every lead and opportunity of the company")),
            ("assign_lead", _("Assign leads and opportunities to sales managers")),
            ("manage_sales_teams", _("Manage sales teams and assignment rules")),
        ]

    def __str__(self) -> str:
        return self.company_name


class OpportunityStage(models.TextChoices):
    QUALIFIED = "qualified", _("Qualified")
    QUOTED = "quoted", _("Quoted")
    NEGOTIATING = "negotiating", _("Negotiating")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


OPEN_STAGES = (OpportunityStage.QUALIFIED, OpportunityStage.QUOTED, OpportunityStage.NEGOTIATING)

# Moves allowed between stages (won and lost are final; a lost deal can be reopened).
STAGE_TRANSITIONS = {
    OpportunityStage.QUALIFIED: {OpportunityStage.QUOTED, OpportunityStage.NEGOTIATING, OpportunityStage.LOST},
    OpportunityStage.QUOTED: {OpportunityStage.QUALIFIED, OpportunityStage.NEGOTIATING, OpportunityStage.WON,
                              OpportunityStage.LOST},
    OpportunityStage.NEGOTIATING: {OpportunityStage.QUALIFIED, OpportunityStage.QUOTED, OpportunityStage.WON,
                                   OpportunityStage.LOST},
    OpportunityStage.WON: set(),
    OpportunityStage.LOST: {OpportunityStage.QUALIFIED},
}


class LostReason(models.TextChoices):
    PRICE = "price", _("Price too high")
    COMPETITOR = "competitor", _("Chose a competitor")
    SERVICE = "service", _("Service coverage or quality")
    NO_NEED = "no_need", _("No need any more")
    NO_RESPONSE = "no_response", _("Stopped responding")
    OTHER = "other", _("Other")


class Opportunity(TenantScopedModel):
    """A deal with a B-end prospect or account moving through the pipeline. Winning it creates
    the account (from the lead) and its contract with the quoted prices."""

    name = models.CharField(_("name"), max_length=200)
    lead = models.OneToOneField(Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="opportunity",
                                verbose_name=_("lead"))
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="opportunities", verbose_name=_("account"))
    owner = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              verbose_name=_("owner"))
    team = models.ForeignKey(SalesTeam, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="opportunities", verbose_name=_("team"))
    stage = models.CharField(_("stage"), max_length=12, choices=OpportunityStage.choices,
                             default=OpportunityStage.QUALIFIED)
    expected_monthly_parcels = models.PositiveIntegerField(_("expected parcels per month"), default=0)
    expected_monthly_revenue = models.DecimalField(_("expected monthly revenue (CNY)"), max_digits=12,
                                                   decimal_places=2, default=0)
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    lost_reason = models.CharField(_("lost reason"), max_length=12, choices=LostReason.choices, blank=True)
    lost_note = models.CharField(_("note"), max_length=300, blank=True)
    contract = models.ForeignKey(Contract, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                 editable=False)
    stage_changed_at = models.DateTimeField(default=timezone.now, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(stage="lost") | ~Q(lost_reason=""), name="opportunity_lost_has_reason"),
        ]
        indexes = [
            models.Index(fields=["tenant", "stage", "-id"], name="opportunity_stage"),
            models.Index(fields=["tenant", "owner", "stage"], name="opportunity_owner"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES


class QuoteLine(TenantScopedModel, LanePrice):
    """A lane price quoted in an opportunity; copied into the contract when the deal is won."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="quote_lines")

    class Meta:
        verbose_name = _("quoted price")
        verbose_name_plural = _("quoted prices")
        ordering = ["origin_province", "destination_province", "min_weight_kg"]
        constraints = lane_constraints("quoteline")


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    MESSAGE = "message", _("Message")
    QUOTE = "quote", _("Quote")


class Activity(TenantScopedModel):
    """A follow-up with a lead, opportunity or account, and the next action it sets."""

    kind = models.CharField(_("type"), max_length=10, choices=ActivityKind.choices)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="activities")
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, null=True, blank=True,
                                    related_name="activities")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="activities")
    owner = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    summary = models.TextField(_("what happened"))
    next_action = models.CharField(_("next action"), max_length=200, blank=True)
    next_action_date = models.DateField(_("next action due"), null=True, blank=True)
    next_action_done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(lead__isnull=False) | Q(opportunity__isnull=False) | Q(customer__isnull=False),
                name="activity_has_subject"),
            models.CheckConstraint(condition=Q(next_action_date__isnull=True) | ~Q(next_action=""),
                                   name="activity_due_needs_action"),
        ]
        indexes = [
            models.Index(fields=["tenant", "owner", "next_action_date"], name="activity_due",
                         condition=Q(next_action_date__isnull=False, next_action_done_at__isnull=True)),
            models.Index(fields=["tenant", "lead"], name="activity_lead"),
            models.Index(fields=["tenant", "opportunity"], name="activity_opportunity"),
            models.Index(fields=["tenant", "customer", "-occurred_at", "-id"], name="activity_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"

    @property
    def subject(self):
        return self.opportunity or self.lead or self.customer
