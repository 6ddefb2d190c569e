"""Writes of the sales flow: teams, leads (capture, auto-assignment, qualification),
opportunities through the pipeline (quote lines, win → account + contract, lose), follow-ups.

Object rights (django-guardian, inside the tenant): the owner of a lead or opportunity may view
and change it; the members of its sales team may view it (through the team's auth group);
holders of `customers.view_all_leads` (tenant admin, executive) see everything."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from tenancy.models import Membership, Role, User
from tenancy.services import notification_send, require_perm

from ..models import (
    Activity,
    ActivityKind,
    Contact,
    CustomerKind,
    CustomerPhone,
    Industry,
    Lead,
    LeadSource,
    LeadStatus,
    LostReason,
    Opportunity,
    OpportunityStage,
    QuoteLine,
    SalesTeam,
    SalesTeamMember,
    SettlementType,
    SourceChannel,
)
from ..models.sales import OPEN_STAGES, STAGE_TRANSITIONS
from .contracts import clean_lane, contract_create
from .records import _clean_personal, clean_region, contact_create, customer_create

LEAD_OWNER_PERMS = ("customers.view_lead", "customers.change_lead")
OPPORTUNITY_OWNER_PERMS = ("customers.view_opportunity", "customers.change_opportunity")


# --- object rights -------------------------------------------------------------------------------

def can_see(actor: User, obj) -> bool:
    perm = "customers.view_lead" if isinstance(obj, Lead) else "customers.view_opportunity"
    if not actor.has_perm(perm):
        return False
    return actor.has_perm("customers.view_all_leads") or actor.has_perm(perm, obj)


def can_change(actor: User, obj) -> bool:
    perm = "customers.change_lead" if isinstance(obj, Lead) else "customers.change_opportunity"
    if not actor.has_perm(perm):
        return False
    return actor.has_perm("customers.view_all_leads") or actor.has_perm(perm, obj)


def require_change(actor: User, obj) -> None:
    if not can_change(actor, obj):
        raise PermissionDenied(_("Only the owner of this record (or an administrator) can change it."))


def _grant(obj, owner: Membership | None, team: SalesTeam | None, previous_owner: Membership | None = None,
           previous_team: SalesTeam | None = None) -> None:
    owner_perms = LEAD_OWNER_PERMS if isinstance(obj, Lead) else OPPORTUNITY_OWNER_PERMS
    if previous_owner and previous_owner != owner:
        for perm in owner_perms:
            remove_perm(perm, previous_owner.user, obj)
    if previous_team and previous_team != team:
        remove_perm(owner_perms[0], previous_team.group, obj)
    if owner:
        for perm in owner_perms:
            assign_perm(perm, owner.user, obj)
    if team:
        assign_perm(owner_perms[0], team.group, obj)


# --- teams ---------------------------------------------------------------------------------------

def _clean_team(name, provinces, industries, priority, leader, members) -> dict:
    from .. import regions

    errors = {}
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = [_("Enter the team's name.")]
    clean_provinces = []
    for value in provinces or ():
        try:
            clean_provinces.append(regions.normalize_province(value))
        except ValidationError as exc:
            errors["provinces"] = exc.messages
    bad_industries = [i for i in industries or () if i not in Industry.values]
    if bad_industries:
        errors["industries"] = [_("Choose industries from the list.")]
    members = list(members or ())
    if any(m.role not in (Role.SALES_MANAGER, Role.TENANT_ADMIN) for m in members):
        errors["members"] = [_("Only sales managers can be members of a sales team.")]
    if leader and leader not in members:
        errors["leader"] = [_("The team lead must be a member of the team.")]
    try:
        priority = int(priority)
        if not 0 <= priority <= 32767:
            raise ValueError
    except (TypeError, ValueError):
        errors["priority"] = [_("Enter a whole number from 0 to 32767.")]
    if errors:
        raise ValidationError(errors)
    return {"name": name, "provinces": sorted(set(clean_provinces)), "industries": sorted(set(industries or ())),
            "priority": priority, "leader": leader}, members


def _sync_members(team: SalesTeam, members: list[Membership]) -> None:
    current = {tm.membership_id: tm for tm in team.team_members.select_related("membership__user")}
    wanted = {m.pk: m for m in members}
    for pk, tm in current.items():
        if pk not in wanted:
            team.group.user_set.remove(tm.membership.user)
            tm.delete()
    for pk, membership in wanted.items():
        if pk not in current:
            SalesTeamMember.objects.create(team=team, membership=membership)
            team.group.user_set.add(membership.user)


def sales_team_create(*, actor: User, name: str, provinces=(), industries=(), priority: int = 100,
                      leader: Membership | None = None, members=()) -> SalesTeam:
    require_perm(actor, "customers.manage_sales_teams")
    fields, members = _clean_team(name, provinces, industries, priority, leader, members)
    if SalesTeam.objects.filter(name=fields["name"]).exists():
        raise ValidationError({"name": _("A team with this name exists.")})
    with transaction.atomic():
        group = Group.objects.create(name=f"crm-salesteam-{uuid.uuid4().hex}")
        team = SalesTeam.objects.create(group=group, **fields)
        _sync_members(team, members)
    return team


def sales_team_update(*, actor: User, team: SalesTeam, name: str, provinces=(), industries=(),
                      priority: int = 100, leader: Membership | None = None, members=(),
                      is_active: bool = True) -> SalesTeam:
    require_perm(actor, "customers.manage_sales_teams")
    fields, members = _clean_team(name, provinces, industries, priority, leader, members)
    if SalesTeam.objects.filter(name=fields["name"]).exclude(pk=team.pk).exists():
        raise ValidationError({"name": _("A team with this name exists.")})
    with transaction.atomic():
        team = SalesTeam.objects.select_for_update().get(pk=team.pk)
        for key, value in fields.items():
            setattr(team, key, value)
        team.is_active = is_active
        team.save()
        _sync_members(team, members)
    return team


# --- leads ---------------------------------------------------------------------------------------

def _clean_lead(data: dict) -> dict:
    errors, cleaned = {}, {}
    company = " ".join((data.get("company_name") or "").split())
    contact = " ".join((data.get("contact_name") or "").split())
    if not company:
        errors["company_name"] = [_("Enter the company's name.")]
    if not contact:
        errors["contact_name"] = [_("Enter the contact person's name.")]
    cleaned["company_name"], cleaned["contact_name"] = company[:200], contact[:80]
    for field in ("phone", "email"):
        try:
            cleaned[field] = _clean_personal(field, data.get(field), field)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if not errors.get("phone") and not errors.get("email") and not cleaned.get("phone") and not cleaned.get("email"):
        errors["phone"] = [_("Give a phone number or an email address so we can reach you.")]
    try:
        cleaned["province"], cleaned["city"] = clean_region(data.get("province", ""), data.get("city", ""))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    industry = data.get("industry") or ""
    if industry and industry not in Industry.values:
        errors["industry"] = [_("Choose one of the listed values.")]
    cleaned["industry"] = industry
    volume = data.get("estimated_monthly_parcels")
    if volume in ("", None):
        cleaned["estimated_monthly_parcels"] = None
    else:
        try:
            cleaned["estimated_monthly_parcels"] = int(volume)
            if not 0 <= cleaned["estimated_monthly_parcels"] <= 100_000_000:
                raise ValueError
        except (TypeError, ValueError):
            errors["estimated_monthly_parcels"] = [_("Enter a whole number of parcels.")]
    cleaned["message"] = (data.get("message") or "").strip()[:2000]
    if errors:
        raise ValidationError(errors)
    return cleaned


def lead_validate(**data) -> dict:
    """Check a lead's fields without saving (forms show every problem in one round)."""
    return _clean_lead(data)


def lead_create(*, actor: User | None, source: str = LeadSource.MANUAL, auto_assign: bool = True,
                **data) -> Lead:
    """Capture a lead. `actor` is None for the public web form. New leads are routed to the
    matching sales team at once (round-robin inside it)."""
    if actor is not None:
        require_perm(actor, "customers.add_lead")
    if source not in LeadSource.values:
        raise ValidationError({"source": _("Choose one of the listed values.")})
    cleaned = _clean_lead(data)
    with transaction.atomic():
        lead = Lead(source=source, created_by=actor, **cleaned)
        lead.save()
        if lead.phone_bidx:
            from tenancy.selectors import blind_indexes_for

            indexes = blind_indexes_for("phone", lead.phone)
            known = (CustomerPhone.objects.filter(phone_bidx__in=indexes, customer__kind=CustomerKind.ACCOUNT)
                     .values_list("customer_id", flat=True).first()
                     or Contact.objects.filter(phone_bidx__in=indexes)
                     .values_list("customer_id", flat=True).first())
            if known:
                lead.customer_id = known
                lead.save(update_fields=["customer"])
        if auto_assign:
            lead = lead_assign(actor=None, lead=lead)
    return lead


def matching_team(lead: Lead) -> SalesTeam | None:
    for team in SalesTeam.objects.filter(is_active=True).order_by("priority", "id"):
        if team.provinces and lead.province not in team.provinces:
            continue
        if team.industries and lead.industry not in team.industries:
            continue
        return team
    return None


def _next_in_rotation(team: SalesTeam) -> Membership | None:
    """The member after the last one assigned, skipping people who are away or inactive."""
    members = [tm.membership for tm in team.team_members.select_related("membership").order_by("id")
               if tm.membership.is_active and not tm.membership.is_away]
    if not members:
        return None
    ids = [m.pk for m in members]
    if team.last_assigned_id in ids:
        return members[(ids.index(team.last_assigned_id) + 1) % len(members)]
    return members[0]


def lead_assign(*, actor: User | None, lead: Lead, owner: Membership | None = None, reason: str = "") -> Lead:
    """Assign a lead: automatically (actor None or owner None → team rule and round-robin) or by
    hand to a given sales manager (needs `customers.assign_lead`)."""
    if actor is not None:  # a person (re)assigning, by hand or by the team rules
        require_perm(actor, "customers.assign_lead")
    if actor is not None and owner is not None:
        if not owner.is_active or owner.role not in (Role.SALES_MANAGER, Role.TENANT_ADMIN):
            raise ValidationError({"owner": _("Leads go to active sales managers.")})
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.status in (LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED):
            raise ValidationError(_("This lead is closed."))
        previous_owner, previous_team = lead.owner, lead.team
        team = lead.team
        if owner is None:
            team = matching_team(lead)
            if team is not None:
                team = SalesTeam.objects.select_for_update().get(pk=team.pk)  # round-robin pointer
                owner = _next_in_rotation(team)
                if owner is not None:
                    team.last_assigned = owner
                    team.save(update_fields=["last_assigned"])
        else:
            team = next((tm.team for tm in owner.sales_teams.select_related("team")), None)
        lead.team, lead.owner = team, owner
        if owner is not None:
            lead.status = LeadStatus.ASSIGNED if lead.status == LeadStatus.NEW else lead.status
            lead.assigned_at = timezone.now()
        lead.save(update_fields=["team", "owner", "status", "assigned_at"])
        _grant(lead, owner, team, previous_owner, previous_team)
        if owner is not None and owner != previous_owner:
            notification_send(membership=owner, title=_("New lead: %(company)s") % {"company": lead.company_name},
                              dedup_key=f"lead-assigned-{lead.pk}-{owner.pk}",
                              body=reason, url=reverse("customers:lead_detail", args=[lead.pk]))
    return lead


def lead_mark_contacted(*, actor: User, lead: Lead) -> Lead:
    require_change(actor, lead)
    if lead.status in (LeadStatus.NEW, LeadStatus.ASSIGNED):
        lead.status = LeadStatus.CONTACTED
        lead.save(update_fields=["status"])
    return lead


def lead_disqualify(*, actor: User, lead: Lead, reason: str) -> Lead:
    require_change(actor, lead)
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the lead is disqualified.")})
    if lead.status in (LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED):
        raise ValidationError(_("This lead is closed."))
    lead.status = LeadStatus.DISQUALIFIED
    lead.disqualify_reason = reason.strip()[:300]
    lead.save(update_fields=["status", "disqualify_reason"])
    return lead


def _money(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value if value not in (None, "") else "0").strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({field: _("Enter an amount in CNY.")}) from exc
    if not amount.is_finite() or amount < 0 or amount > Decimal("9999999999"):
        raise ValidationError({field: _("Enter an amount of zero or more.")})
    return amount.quantize(Decimal("0.01"))


def _parcels(value, field: str) -> int:
    try:
        number = int(value or 0)
        if not 0 <= number <= 100_000_000:
            raise ValueError
        return number
    except (TypeError, ValueError) as exc:
        raise ValidationError({field: _("Enter a whole number of parcels.")}) from exc


def lead_qualify(*, actor: User, lead: Lead, name: str = "", expected_monthly_revenue=0,
                 expected_close_date: dt.date | None = None) -> Opportunity:
    """Turn a lead into an opportunity in the pipeline (stage qualified), same owner and team."""
    require_change(actor, lead)
    require_perm(actor, "customers.add_opportunity")
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.status in (LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED):
            raise ValidationError(_("This lead is closed."))
        owner = lead.owner or actor_membership(actor)
        opportunity = Opportunity.objects.create(
            name=(name or "").strip()[:200] or lead.company_name, lead=lead, customer=lead.customer, owner=owner,
            team=lead.team, expected_monthly_parcels=lead.estimated_monthly_parcels or 0,
            expected_monthly_revenue=_money(expected_monthly_revenue, "expected_monthly_revenue"),
            expected_close_date=expected_close_date, created_by=actor)
        lead.status = LeadStatus.QUALIFIED
        lead.owner = owner
        lead.save(update_fields=["status", "owner"])
        _grant(opportunity, owner, lead.team)
    return opportunity


def actor_membership(actor: User) -> Membership:
    return Membership.objects.get(user=actor)


# --- opportunities -------------------------------------------------------------------------------

def opportunity_create(*, actor: User, customer, name: str, expected_monthly_parcels=0,
                       expected_monthly_revenue=0, expected_close_date: dt.date | None = None) -> Opportunity:
    """A new deal with an existing account (more lanes, renewal), owned by the actor."""
    require_perm(actor, "customers.add_opportunity")
    errors = {}
    if customer is None or customer.kind != CustomerKind.ACCOUNT:
        errors["customer"] = [_("Choose a B-end account.")]
    if not (name or "").strip():
        errors["name"] = [_("Name the opportunity.")]
    if errors:
        raise ValidationError(errors)
    owner = actor_membership(actor)
    team = next((tm.team for tm in owner.sales_teams.select_related("team")), None)
    with transaction.atomic():
        opportunity = Opportunity.objects.create(
            name=name.strip()[:200], customer=customer, owner=owner, team=team,
            expected_monthly_parcels=_parcels(expected_monthly_parcels, "expected_monthly_parcels"),
            expected_monthly_revenue=_money(expected_monthly_revenue, "expected_monthly_revenue"),
            expected_close_date=expected_close_date, created_by=actor)
        _grant(opportunity, owner, team)
    return opportunity


def opportunity_move(*, actor: User, opportunity: Opportunity, stage: str) -> Opportunity:
    """Move an open deal between qualified, quoted and negotiating (and reopen a lost one).
    Won and lost need their own forms (contract terms, reason)."""
    require_change(actor, opportunity)
    if stage not in OpportunityStage.values:
        raise ValidationError({"stage": _("Unknown stage.")})
    if stage in (OpportunityStage.WON, OpportunityStage.LOST):
        raise ValidationError({"stage": _("Winning needs the contract terms and losing needs a reason.")})
    with transaction.atomic():
        opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
        if stage == opportunity.stage:
            return opportunity
        if stage not in STAGE_TRANSITIONS[OpportunityStage(opportunity.stage)]:
            raise ValidationError({"stage": _("A deal cannot move from %(from)s to %(to)s.") % {
                "from": opportunity.get_stage_display(), "to": OpportunityStage(stage).label}})
        if stage in (OpportunityStage.QUOTED, OpportunityStage.NEGOTIATING) and not opportunity.quote_lines.exists():
            raise ValidationError({"stage": _("Add the quoted prices before moving the deal to %(stage)s.") % {
                "stage": OpportunityStage(stage).label}})
        opportunity.stage = stage
        opportunity.stage_changed_at = timezone.now()
        if stage == OpportunityStage.QUALIFIED:
            opportunity.lost_reason, opportunity.lost_note, opportunity.closed_at = "", "", None
        opportunity.save(update_fields=["stage", "stage_changed_at", "lost_reason", "lost_note", "closed_at"])
    return opportunity


def opportunity_lose(*, actor: User, opportunity: Opportunity, reason: str, note: str = "") -> Opportunity:
    require_change(actor, opportunity)
    if reason not in LostReason.values:
        raise ValidationError({"reason": _("Choose why the deal was lost.")})
    with transaction.atomic():
        opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
        if opportunity.stage not in OPEN_STAGES:
            raise ValidationError(_("This deal is already closed."))
        opportunity.stage = OpportunityStage.LOST
        opportunity.lost_reason, opportunity.lost_note = reason, (note or "").strip()[:300]
        opportunity.stage_changed_at = opportunity.closed_at = timezone.now()
        opportunity.save(update_fields=["stage", "lost_reason", "lost_note", "stage_changed_at", "closed_at"])
    return opportunity


def opportunity_win(*, actor: User, opportunity: Opportunity, start_date: dt.date, end_date: dt.date,
                    monthly_commitment=0, settlement_type: str = SettlementType.MONTHLY, credit_code: str = "",
                    industry: str = "", credit_rating: str = "") -> Opportunity:
    """Close the deal as won: the account is created from the lead (or the existing account is
    used) with its primary contact, and an active contract with the quoted prices."""
    require_change(actor, opportunity)
    require_perm(actor, "customers.add_contract")
    with transaction.atomic():
        opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
        if opportunity.stage not in (OpportunityStage.QUOTED, OpportunityStage.NEGOTIATING):
            raise ValidationError(_("Only a quoted or negotiating deal can be won."))
        lines = list(opportunity.quote_lines.all())
        if not lines:
            raise ValidationError(_("The deal has no quoted prices to put in the contract."))
        customer = opportunity.customer
        lead = opportunity.lead
        if customer is None:
            if lead is None:
                raise ValidationError(_("The deal has neither an account nor a lead."))
            customer = customer_create(
                actor=actor, kind=CustomerKind.ACCOUNT, name=lead.company_name,
                phones=[lead.phone] if lead.phone else [], credit_code=credit_code, industry=industry or lead.industry,
                credit_rating=credit_rating, province=lead.province, city=lead.city, owner=opportunity.owner,
                source_channel=SourceChannel.LEAD, settlement_type=settlement_type, email=lead.email or "")
            contact_create(actor=actor, customer=customer, name=lead.contact_name, phone=lead.phone or "",
                           email=lead.email or "", is_primary=True)
            lead.customer = customer
            lead.save(update_fields=["customer"])
        contract = contract_create(
            actor=actor, customer=customer, start_date=start_date, end_date=end_date,
            monthly_commitment=_parcels(monthly_commitment, "monthly_commitment"), settlement_type=settlement_type,
            lanes=[{f: getattr(line, f) for f in ("origin_province", "destination_province", "min_weight_kg",
                                                  "max_weight_kg", "first_weight_price", "additional_kg_price")}
                   for line in lines],
            activate=True, opportunity=opportunity)
        opportunity.customer, opportunity.contract = customer, contract
        opportunity.stage = OpportunityStage.WON
        opportunity.stage_changed_at = opportunity.closed_at = timezone.now()
        opportunity.save(update_fields=["customer", "contract", "stage", "stage_changed_at", "closed_at"])
    return opportunity


def quote_line_add(*, actor: User, opportunity: Opportunity, **lane) -> QuoteLine:
    require_change(actor, opportunity)
    if opportunity.stage not in OPEN_STAGES:
        raise ValidationError(_("This deal is closed."))
    cleaned = clean_lane(**lane)
    from .contracts import _overlaps

    if _overlaps(opportunity.quote_lines.all(), cleaned):
        raise ValidationError({"min_weight_kg": _("This weight band overlaps another band of the same lane.")})
    return QuoteLine.objects.create(opportunity=opportunity, **cleaned)


def quote_line_remove(*, actor: User, line: QuoteLine) -> None:
    require_change(actor, line.opportunity)
    if line.opportunity.stage not in OPEN_STAGES:
        raise ValidationError(_("This deal is closed."))
    line.delete()


# --- follow-ups ----------------------------------------------------------------------------------

def activity_log(*, actor: User, kind: str, summary: str, lead: Lead | None = None,
                 opportunity: Opportunity | None = None, customer=None, next_action: str = "",
                 next_action_date: dt.date | None = None, occurred_at: dt.datetime | None = None) -> Activity:
    """Record a call / visit / message / quote and the next action it sets. Logging one closes
    the actor's earlier open next action on the same subject."""
    errors = {}
    if kind not in ActivityKind.values:
        errors["kind"] = [_("Choose call, visit, message or quote.")]
    if not (summary or "").strip():
        errors["summary"] = [_("Write what happened.")]
    if next_action_date and not (next_action or "").strip():
        errors["next_action"] = [_("Say what the next action is.")]
    if next_action_date and next_action_date < timezone.localdate() - dt.timedelta(days=1):
        errors["next_action_date"] = [_("The next action cannot be due in the past.")]
    if occurred_at and occurred_at > timezone.now() + dt.timedelta(minutes=5):
        errors["occurred_at"] = [_("A follow-up cannot have happened in the future.")]
    if not (lead or opportunity or customer):
        errors["subject"] = [_("Choose the lead, deal or account this follow-up is about.")]
    if errors:
        raise ValidationError(errors)
    for subject in (lead, opportunity):
        if subject is not None:
            require_change(actor, subject)
    if customer is not None and lead is None and opportunity is None:
        require_perm(actor, "customers.change_customer")
        from .records import require_live

        require_live(customer)
    owner = actor_membership(actor)
    with transaction.atomic():
        open_same = Activity.objects.filter(owner=owner, next_action_date__isnull=False,
                                            next_action_done_at__isnull=True,
                                            lead=lead, opportunity=opportunity, customer=customer)
        open_same.update(next_action_done_at=timezone.now())
        activity = Activity.objects.create(
            kind=kind, summary=summary.strip(), lead=lead, opportunity=opportunity, customer=customer, owner=owner,
            next_action=(next_action or "").strip()[:200], next_action_date=next_action_date,
            occurred_at=occurred_at or timezone.now())
        if lead is not None and lead.status in (LeadStatus.NEW, LeadStatus.ASSIGNED):
            lead.status = LeadStatus.CONTACTED
            lead.save(update_fields=["status"])
    return activity


def activity_complete(*, actor: User, activity: Activity) -> Activity:
    owner = actor_membership(actor)
    if activity.owner_id != owner.pk and not actor.has_perm("customers.view_all_leads"):
        raise PermissionDenied(_("Only the person who set this action can mark it done."))
    if activity.next_action_done_at is None:
        activity.next_action_done_at = timezone.now()
        activity.save(update_fields=["next_action_done_at"])
    return activity


# --- reminders -----------------------------------------------------------------------------------

def sales_reminders_send(today: dt.date | None = None) -> int:
    """In-app reminders: each open next action due today or overdue (once per action and day),
    and each lead not contacted within the tenant's first-contact time (once per lead).
    Idempotent: notifications are unique per member and key."""
    from .. import rules

    today = today or timezone.localdate()
    sent = 0
    due = (Activity.objects.filter(next_action_date__lte=today, next_action_date__isnull=False,
                                   next_action_done_at__isnull=True)
           .select_related("owner", "lead", "opportunity", "customer"))
    for activity in due.iterator(chunk_size=500):
        subject = activity.subject
        label = getattr(subject, "name", None) or getattr(subject, "company_name", "") or str(subject)
        if activity.opportunity_id:
            url = reverse("customers:opportunity_detail", args=[activity.opportunity_id])
        elif activity.lead_id:
            url = reverse("customers:lead_detail", args=[activity.lead_id])
        else:
            url = reverse("customers:detail", args=[activity.customer_id])
        overdue = activity.next_action_date < today
        title = (_("Overdue: %(action)s — %(subject)s") if overdue else _("Due today: %(action)s — %(subject)s")) % {
            "action": activity.next_action, "subject": label}
        if notification_send(membership=activity.owner, title=title, url=url,
                             dedup_key=f"followup-{activity.pk}-{today.isoformat()}"):
            sent += 1
    hours = rules.LEAD_FIRST_CONTACT_HOURS.value(on=today)
    cutoff = timezone.now() - dt.timedelta(hours=hours)
    waiting = Lead.objects.filter(status=LeadStatus.ASSIGNED, assigned_at__lte=cutoff, owner__isnull=False)
    for lead in waiting.select_related("owner").iterator(chunk_size=500):
        if notification_send(membership=lead.owner, url=reverse("customers:lead_detail", args=[lead.pk]),
                             title=_("Lead waiting for first contact: %(company)s") % {"company": lead.company_name},
                             dedup_key=f"lead-uncontacted-{lead.pk}"):
            sent += 1
    return sent
