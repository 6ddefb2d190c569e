"""Teams, their members and the routing rules that send a new ticket to a team."""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import Branch, Membership, TenantScopedModel

from .tickets import TicketCategory, TicketPriority


class AssignMode(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round robin")
    LEAST_OPEN = "least_open", _("Fewest open tickets")
    MANUAL = "manual", _("Manual (team lead assigns)")


class Team(TenantScopedModel):
    """A group of agents that works one kind of ticket (tracking inquiries, claims, complaints)."""

    code = models.SlugField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=80)
    assign_mode = models.CharField(_("auto-assignment"), max_length=12, choices=AssignMode.choices,
                                   default=AssignMode.ROUND_ROBIN)
    lead = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                             verbose_name=_("team lead"))
    # Round robin: the member who got the last ticket; the next goes to the one after.
    last_assigned = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="+", editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="team_code_unique")]

    def __str__(self) -> str:
        return self.name


class TeamMember(TenantScopedModel):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members", verbose_name=_("team"))
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="team_memberships",
                                   verbose_name=_("member"))
    joined_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "team", "membership"], name="teammember_once")]
        indexes = [models.Index(fields=["tenant", "membership"], name="teammember_membership")]

    def __str__(self) -> str:
        return f"{self.team_id}:{self.membership_id}"


class CustomerClass(models.TextChoices):
    ANY = "", _("Any customer")
    ACCOUNT = "account", _("B-end accounts")
    VIP_ACCOUNT = "vip_account", _("B-end VIP accounts (high value or under contract)")
    PERSON = "person", _("C-end persons")


class RoutingRule(TenantScopedModel):
    """If a new ticket matches every condition set here, it goes to `team`. Rules are tried by
    `position` (lowest first); an empty condition matches anything."""

    position = models.PositiveIntegerField(_("order"), default=100)
    name = models.CharField(_("name"), max_length=80)
    category = models.CharField(_("category"), max_length=20, choices=TicketCategory.choices, blank=True)
    priority = models.CharField(_("priority"), max_length=10, choices=TicketPriority.choices, blank=True)
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
                               verbose_name=_("branch or region (and everything under it)"))
    customer_class = models.CharField(_("customer"), max_length=12, choices=CustomerClass.choices, blank=True)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="routing_rules", verbose_name=_("team"))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["tenant", "position"], name="routingrule_order", condition=Q(is_active=True))]

    def __str__(self) -> str:
        return self.name
