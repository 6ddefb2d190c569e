"""The dashboards' one stored table: shipments per branch and day, kept by a periodic set-based
refresh (reports.services.rollup_refresh). Counting 10,000,000 waybills per branch and month on
every dashboard request is too slow; summing a few thousand day rows is not."""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tenancy.models import Branch, TenantScopedModel


class BranchDayShipments(TenantScopedModel):
    """Waybills picked up by one branch (the origin branch) on one local day, and how many of
    them are delivered or returned so far. Rebuilt for the last days on every refresh, so late
    deliveries and corrected scans are counted again."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+", verbose_name=_("branch"))
    day = models.DateField(_("day"))
    shipments = models.PositiveIntegerField(_("shipments"), default=0)
    delivered = models.PositiveIntegerField(_("delivered"), default=0)
    returned = models.PositiveIntegerField(_("returned"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed at"))

    class Meta:
        verbose_name = _("shipments of a branch on a day")
        verbose_name_plural = _("shipments per branch and day")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "branch", "day"], name="reports_branch_day_unique"),
        ]
        indexes = [
            # The dashboards read a date range for the whole company or a set of branches.
            models.Index(fields=["tenant", "day", "branch"], name="reports_branch_day_range"),
        ]
        permissions = [
            ("view_dashboards", _("View the business dashboards")),
            ("view_fines_dashboard", _("View the fines dashboard")),
            ("view_churn_dashboard", _("View the churn and retention dashboard")),
        ]

    def __str__(self) -> str:
        return f"{self.branch_id} {self.day}: {self.shipments}"


class BranchDayTickets(TenantScopedModel):
    """Tickets opened on one local day per branch and team: how many, how many complaints and
    regulator appeals, and how many broke their first-response and resolution deadlines. Kept by
    the same refresh as the shipments; a refresh re-counts a longer window (the SLA flags of a
    ticket settle only when its clocks run out)."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, null=True, related_name="+",
                               verbose_name=_("branch"))
    team = models.ForeignKey("tickets.Team", on_delete=models.CASCADE, null=True, related_name="+",
                             verbose_name=_("team"))
    day = models.DateField(_("day"))
    tickets = models.PositiveIntegerField(_("tickets"), default=0)
    complaints = models.PositiveIntegerField(_("complaints"), default=0)
    appeals = models.PositiveIntegerField(_("appeals"), default=0)
    first_response_breaches = models.PositiveIntegerField(_("first responses late"), default=0)
    resolution_breaches = models.PositiveIntegerField(_("resolutions late"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed at"))

    class Meta:
        verbose_name = _("tickets of a branch and team on a day")
        verbose_name_plural = _("tickets per branch, team and day")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "branch", "team", "day"], nulls_distinct=False,
                                    name="reports_ticket_day_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "day", "branch"], name="reports_ticket_day_range")]

    def __str__(self) -> str:
        return f"{self.branch_id}/{self.team_id} {self.day}: {self.tickets}"


class BranchDaySurveys(TenantScopedModel):
    """CSAT or NPS surveys sent on one local day per branch: sent, answered, the sum of the
    answered scores, and NPS promoters / passives / detractors."""

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, null=True, related_name="+",
                               verbose_name=_("branch"))
    kind = models.CharField(_("kind"), max_length=4)
    day = models.DateField(_("day"))
    sent = models.PositiveIntegerField(_("sent"), default=0)
    answered = models.PositiveIntegerField(_("answered"), default=0)
    score_total = models.PositiveIntegerField(_("sum of the scores"), default=0)
    promoters = models.PositiveIntegerField(_("promoters"), default=0)
    passives = models.PositiveIntegerField(_("passives"), default=0)
    detractors = models.PositiveIntegerField(_("detractors"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed at"))

    class Meta:
        verbose_name = _("surveys of a branch on a day")
        verbose_name_plural = _("surveys per branch and day")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "branch", "kind", "day"], nulls_distinct=False,
                                    name="reports_survey_day_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "kind", "day"], name="reports_survey_day_range")]

    def __str__(self) -> str:
        return f"{self.branch_id} {self.kind} {self.day}: {self.sent}"
