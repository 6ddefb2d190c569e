"""Shapes of the claims API. Money is a decimal string in CNY (never a float), in and out; a
person's name is masked (a company claimant's is not) and the payee's account is shown by its
last four characters only (reveal it through POST /api/v1/pii/reveal/ with `record_type`
`tickets.claimpayout`)."""
from __future__ import annotations

import re
from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers.models import CustomerKind
from tenancy.api.base import MAX_ID, AllFieldsOptional, ScopedPrimaryKeyRelatedField
from tenancy.fields import masked
from tenancy.inputs import MAX_TEXT
from tenancy.masking import mask_name

from ..models import (
    ApprovalLevel,
    Claim,
    ClaimantRole,
    ClaimCause,
    ClaimEvent,
    ClaimEventKind,
    ClaimEvidence,
    ClaimPayout,
    ClaimStatus,
    ClaimType,
    CompensationRule,
    EvidenceKind,
    PayoutMethod,
    Ticket,
)
from ..selectors.claims import CLAIM_TABS, SORTS, claim_evidence, evidence_checklist
from ..selectors.exceptions import ticket_list
from ..services.claims import claim_required_level
from .serializers import named_choice

# An amount in CNY as sent: digits, at most two decimals (fen), ASCII only.
AMOUNT_PATTERN = r"^\d{1,10}(\.\d{1,2})?$"
PERCENT_PATTERN = r"^\d{1,3}(\.\d{1,2})?$"
SEARCH_MAX = 60


def claim_type_field(**kwargs):
    return named_choice("ClaimTypeEnum", ClaimType.choices, **kwargs)


def claimant_role_field(**kwargs):
    return named_choice("ClaimantRoleEnum", ClaimantRole.choices, **kwargs)


def claim_status_field(**kwargs):
    return named_choice("ClaimStatusEnum", ClaimStatus.choices, **kwargs)


def cause_field(**kwargs):
    return named_choice("ClaimCauseEnum", ClaimCause.choices, **kwargs)


def evidence_kind_field(**kwargs):
    return named_choice("EvidenceKindEnum", EvidenceKind.choices, **kwargs)


def payout_method_field(**kwargs):
    return named_choice("PayoutMethodEnum", PayoutMethod.choices, **kwargs)


def approval_level_field(**kwargs):
    return named_choice("ApprovalLevelEnum", ApprovalLevel.choices, **kwargs)


def money(**kwargs) -> serializers.DecimalField:
    """A stored amount, shown as a decimal string."""
    return serializers.DecimalField(max_digits=kwargs.pop("max_digits", 12), decimal_places=2, read_only=True,
                                    **kwargs)


@extend_schema_field({"type": "string", "format": "decimal", "pattern": AMOUNT_PATTERN, "example": "199.50"})
class AmountField(serializers.DecimalField):
    """An amount in CNY sent as a string ("199.50"): a JSON number is refused, so no float ever
    rounds a claim; at most two decimals, ASCII digits only."""

    default_error_messages = {"not_a_string": _('Send the amount as a string in CNY, e.g. "199.50".')}

    def __init__(self, *, positive: bool = True, **kwargs):
        kwargs.setdefault("min_value", Decimal("0.01") if positive else Decimal("0"))
        super().__init__(max_digits=12, decimal_places=2, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        data = data.strip()
        if not re.fullmatch(AMOUNT_PATTERN, data, re.ASCII):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "format": "decimal", "pattern": PERCENT_PATTERN, "example": "50"})
class PercentField(serializers.DecimalField):
    """A share in percent (0–100, at most two decimals) sent as a string."""

    default_error_messages = {"not_a_string": _('Send the share as a string, e.g. "50".')}

    def __init__(self, **kwargs):
        super().__init__(max_digits=5, decimal_places=2, min_value=Decimal("0"), max_value=Decimal("100"), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        data = data.strip()
        if not re.fullmatch(PERCENT_PATTERN, data, re.ASCII):
            self.fail("invalid")
        return super().to_internal_value(data)


class IdField(serializers.IntegerField):
    """A row id in a query string: ASCII digits only (int() would take other scripts' digits)."""

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and not (data.isascii() and data.isdigit()):
            self.fail("invalid")
        return super().to_internal_value(data)


def no_control_characters(value: str) -> None:
    if any(ord(char) < 32 for char in value):
        raise serializers.ValidationError(_("No control characters."))


# --- reading ---------------------------------------------------------------------------------------

class ClaimSerializer(serializers.ModelSerializer):
    """A claim as the queue lists it."""

    claim_type = claim_type_field(read_only=True)
    claimant_role = claimant_role_field(read_only=True)
    claimant_name = serializers.SerializerMethodField(help_text=_("Masked for a person; a company's name in full"))
    status = claim_status_field(read_only=True)
    claimed_amount = money()
    computed_amount = money(allow_null=True, help_text=_("Payable by the compensation rules; null until assessed"))
    approved_amount = money(allow_null=True)
    ticket_number = serializers.CharField(source="ticket.number", read_only=True)
    waybill_number = serializers.CharField(source="waybill.number", read_only=True)
    branch_name = serializers.CharField(source="branch.name", read_only=True, default="")
    team_name = serializers.CharField(source="team.name", read_only=True, default="")

    class Meta:
        model = Claim
        fields = ["id", "number", "claim_type", "claimant_role", "claimant_name", "status", "claimed_amount",
                  "computed_amount", "approved_amount", "ticket", "ticket_number", "waybill", "waybill_number",
                  "branch", "branch_name", "team", "team_name", "submitted_at", "decision_due", "decision_warned",
                  "decision_breached", "created_at", "decided_at", "paid_at", "closed_at", "updated_at"]
        read_only_fields = fields

    def get_claimant_name(self, claim) -> str:
        """A person's name masked; a company (B-end account) claimant's name in full."""
        if claim.claimant_id and claim.claimant.kind == CustomerKind.ACCOUNT:
            return claim.claimant_name
        return mask_name(claim.claimant_name)


class ChecklistItemSerializer(serializers.Serializer):
    kind = evidence_kind_field(read_only=True)
    label = serializers.CharField(read_only=True)
    required = serializers.BooleanField(read_only=True, help_text=_("Needed before the claim can be submitted"))
    count = serializers.IntegerField(read_only=True, help_text=_("Files that show it"))
    done = serializers.BooleanField(read_only=True)


class ClaimPayoutSerializer(serializers.ModelSerializer):
    amount = money()
    approved_amount = money()
    method = payout_method_field(read_only=True)
    payee_name = serializers.SerializerMethodField(help_text=_("Masked"))
    payee_account = serializers.SerializerMethodField(
        help_text=_("Masked to its last four characters; reveal through POST /api/v1/pii/reveal/ (record_type "
                    "tickets.claimpayout)"))
    paid_by_name = serializers.CharField(source="paid_by.display_name", read_only=True)

    class Meta:
        model = ClaimPayout
        fields = ["id", "amount", "approved_amount", "method", "payee_name", "payee_account", "reference", "note",
                  "paid_at", "paid_by", "paid_by_name", "created_at"]
        read_only_fields = fields

    def get_payee_name(self, payout) -> str:
        return mask_name(payout.payee_name)

    def get_payee_account(self, payout) -> str:
        return masked(payout, "payee_account")


class ClaimDetailSerializer(ClaimSerializer):
    """Everything about one claim: what was captured from the waybill, the assessment and the
    rule that computed the payable amount, the decision, the evidence checklist and the payout."""

    declared_value = money()
    insured_amount = money()
    service_fee = money(max_digits=10)
    assessed_value = money(allow_null=True)
    damage_percent = serializers.DecimalField(max_digits=5, decimal_places=2, read_only=True, allow_null=True)
    cause = cause_field(blank=True, read_only=True)
    rule = named_choice("CompensationRuleEnum", CompensationRule.choices, blank=True, read_only=True,
                        help_text=_("Which compensation rule computed `computed_amount`; empty until assessed"))
    rule_detail = serializers.JSONField(read_only=True, help_text=_("The figures the rule used (decimal strings)"))
    required_level = serializers.SerializerMethodField()
    decision_level = approval_level_field(blank=True, read_only=True)
    filed_by_name = serializers.CharField(source="filed_by.display_name", read_only=True, default="")
    assessed_by_name = serializers.CharField(source="assessed_by.display_name", read_only=True, default="")
    decided_by_name = serializers.CharField(source="decided_by.display_name", read_only=True, default="")
    evidence_checklist = serializers.SerializerMethodField()
    missing_evidence = serializers.SerializerMethodField()
    payout = serializers.SerializerMethodField()

    class Meta(ClaimSerializer.Meta):
        fields = [*ClaimSerializer.Meta.fields, "description", "claimant", "declared_value", "insured_amount",
                  "service_fee", "shipped_on", "assessed_value", "damage_percent", "cause", "assessment_note",
                  "assessed_by", "assessed_by_name", "assessed_at", "rule", "rule_version", "rule_detail",
                  "required_level", "over_cap", "decision_reason", "decision_level", "decided_by",
                  "decided_by_name", "filed_by", "filed_by_name", "evidence_checklist", "missing_evidence",
                  "payout"]
        read_only_fields = fields

    @extend_schema_field(named_choice("ApprovalLevelEnum", ApprovalLevel.choices, blank=True, read_only=True))
    def get_required_level(self, claim) -> str:
        """Who must approve paying the rules' amount (empty until assessed)."""
        if claim.computed_amount is None:
            return ""
        return claim_required_level(claim, claim.computed_amount)

    def _checklist(self, claim):
        cache = self.context.setdefault("checklists", {})
        if claim.pk not in cache:
            cache[claim.pk] = evidence_checklist(claim=claim, evidence=claim_evidence(claim=claim))
        return cache[claim.pk]

    @extend_schema_field(ChecklistItemSerializer(many=True))
    def get_evidence_checklist(self, claim):
        return ChecklistItemSerializer(self._checklist(claim), many=True).data

    @extend_schema_field(serializers.ListField(child=evidence_kind_field()))
    def get_missing_evidence(self, claim):
        """Required evidence kinds no file shows yet (services.claims.missing_evidence, read
        from the same checklist)."""
        return [item.kind for item in self._checklist(claim) if item.required and not item.done]

    @extend_schema_field(ClaimPayoutSerializer(allow_null=True))
    def get_payout(self, claim):
        try:
            payout = claim.payout
        except ClaimPayout.DoesNotExist:
            return None
        return ClaimPayoutSerializer(payout).data


class ClaimEvidenceSerializer(serializers.ModelSerializer):
    kind = evidence_kind_field(read_only=True)
    ticket = serializers.IntegerField(
        source="attachment.ticket_id", read_only=True,
        help_text=_("Download the file through /api/v1/tickets/{ticket}/attachments/{attachment}/"))
    name = serializers.CharField(source="attachment.name", read_only=True)
    content_type = serializers.CharField(source="attachment.content_type", read_only=True)
    size = serializers.IntegerField(source="attachment.size", read_only=True)
    added_by_name = serializers.CharField(source="added_by.display_name", read_only=True, default="")

    class Meta:
        model = ClaimEvidence
        fields = ["id", "claim", "kind", "note", "attachment", "ticket", "name", "content_type", "size", "added_by",
                  "added_by_name", "created_at"]
        read_only_fields = fields


class ClaimEventSerializer(serializers.ModelSerializer):
    kind = named_choice("ClaimEventKindEnum", ClaimEventKind.choices, read_only=True)
    actor_name = serializers.CharField(source="actor.display_name", read_only=True, default="")

    class Meta:
        model = ClaimEvent
        fields = ["id", "claim", "kind", "actor", "actor_name", "from_status", "to_status", "body", "data",
                  "created_at"]
        read_only_fields = fields


class ClaimPageCountsSerializer(serializers.Serializer):
    """How many claims each tab holds (with `counts=true`)."""

    open = serializers.IntegerField()
    due = serializers.IntegerField()
    decide = serializers.IntegerField()
    pay = serializers.IntegerField()
    drafts = serializers.IntegerField()
    closed = serializers.IntegerField()


# --- the report ------------------------------------------------------------------------------------

class ClaimMeasuresSerializer(serializers.Serializer):
    opened = serializers.IntegerField(help_text=_("Claims filed in the period (drafts not counted)"))
    claimed_amount = money(max_digits=16)
    approved = serializers.IntegerField()
    approved_amount = money(max_digits=16)
    rejected = serializers.IntegerField()
    paid = serializers.IntegerField()
    paid_amount = money(max_digits=16)


class ClaimTypeRowSerializer(ClaimMeasuresSerializer):
    claim_type = claim_type_field(read_only=True)
    label = serializers.CharField()


class ClaimBranchRowSerializer(ClaimMeasuresSerializer):
    branch = serializers.IntegerField(source="branch_id", allow_null=True)
    branch_name = serializers.CharField(source="branch__name", allow_null=True)


class ClaimMonthRowSerializer(ClaimMeasuresSerializer):
    month = serializers.CharField(help_text=_("YYYY-MM (filing month)"))


class ClaimCauseRowSerializer(serializers.Serializer):
    cause = cause_field(read_only=True)
    label = serializers.CharField()
    claims = serializers.IntegerField()
    paid_amount = money(max_digits=16)


class ClaimsReportSerializer(serializers.Serializer):
    date_from = serializers.DateField(allow_null=True)
    date_to = serializers.DateField(allow_null=True)
    branch = serializers.IntegerField(allow_null=True)
    totals = ClaimMeasuresSerializer()
    average_days_to_decision = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True,
                                                        help_text=_("From submission to decision"))
    by_type = ClaimTypeRowSerializer(many=True)
    by_branch = ClaimBranchRowSerializer(many=True)
    by_month = ClaimMonthRowSerializer(many=True)
    top_causes = ClaimCauseRowSerializer(many=True)


# --- query strings ---------------------------------------------------------------------------------

class ClaimListQuerySerializer(serializers.Serializer):
    tab = named_choice("ClaimTabEnum", [(tab, tab) for tab in CLAIM_TABS], required=False, default="open",
                       help_text=_("open (waiting for a decision), due (nearing or past the decision clock), "
                                   "decide (assessed, under review), pay (approved), drafts, closed, all"))
    claim_type = claim_type_field(blank=True, required=False, default="")
    status = claim_status_field(blank=True, required=False, default="", help_text=_("Within the tab"))
    branch = IdField(required=False, allow_null=True, default=None, help_text=_("A branch id: its subtree"))
    min_amount = AmountField(positive=False, required=False, allow_null=True, default=None,
                             help_text=_("Claimed amount at least (CNY)"))
    max_amount = AmountField(positive=False, required=False, allow_null=True, default=None,
                             help_text=_("Claimed amount at most (CNY)"))
    search = serializers.CharField(max_length=SEARCH_MAX, required=False, allow_blank=True, default="",
                                   validators=[no_control_characters],
                                   help_text=_("A claim, waybill or ticket number (exact)"))
    sort = named_choice("ClaimSortEnum", [(sort, sort) for sort in SORTS], blank=True, required=False, default="",
                        help_text=_("clock (decision due first), amount (largest first), new (newest first); "
                                    "empty: the tab's order"))
    counts = serializers.BooleanField(required=False, default=False, help_text=_("Include the tab counts"))


class ClaimsReportQuerySerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False, allow_null=True, default=None,
                                      help_text=_("First filing day"))
    date_to = serializers.DateField(required=False, allow_null=True, default=None, help_text=_("Last filing day"))
    branch = IdField(required=False, allow_null=True, default=None, help_text=_("A branch id: its subtree"))


# --- writing ---------------------------------------------------------------------------------------

class ReachableTicketField(ScopedPrimaryKeyRelatedField):
    """A ticket id in a payload, resolved among the tickets the caller may read (context
    `membership`): a ticket of another branch is "does not exist" to a branch manager, like
    one of another company to anybody."""

    def get_queryset(self):
        return ticket_list(membership=self.context.get("membership"))


class ClaimCreateSerializer(serializers.Serializer):
    ticket = ReachableTicketField(Ticket, help_text=_("The ticket (with its waybill) the claim is for"))
    claim_type = claim_type_field()
    claimant_role = claimant_role_field(help_text=_("Who claims: the sender or the receiver of the waybill"))
    claimed_amount = AmountField()
    description = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, default="")


class ClaimUpdateSerializer(AllFieldsOptional, serializers.Serializer):
    """A draft's details; every field optional, what is left out keeps its value."""

    claimed_amount = AmountField()
    description = serializers.CharField(max_length=MAX_TEXT, allow_blank=True)
    claimant_role = claimant_role_field()


class ClaimEvidenceUploadSerializer(serializers.Serializer):
    kind = evidence_kind_field()
    file = serializers.FileField(help_text=_("Photo, scan or PDF; type checked by content, size capped as for "
                                             "ticket attachments"))
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ClaimAssessSerializer(serializers.Serializer):
    cause = cause_field()
    assessed_value = AmountField(positive=False, required=False, allow_null=True, default=None,
                                 help_text=_("Value of the goods (CNY); required for loss and damage"))
    damage_percent = PercentField(required=False, allow_null=True, default=None,
                                  help_text=_("Share of the value the damage took (%); required for damage"))
    note = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, default="")


class ClaimApproveSerializer(serializers.Serializer):
    amount = AmountField(required=False, allow_null=True, default=None,
                         help_text=_("Default: what the rules allow; another amount needs a reason"))
    reason = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, default="")


class ClaimReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=MAX_TEXT)


class ClaimPaySerializer(serializers.Serializer):
    amount = AmountField(help_text=_("At most the approved amount; less needs a note"))
    method = payout_method_field()
    payee_name = serializers.CharField(max_length=120)
    payee_account = serializers.CharField(max_length=80, required=False, allow_blank=True, default="",
                                          help_text=_("Stored encrypted, shown masked"))
    reference = serializers.CharField(max_length=80, help_text=_("The payment's transaction number"))
    paid_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                        help_text=_("Default: now; never in the future"))
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ClaimNoteSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=MAX_TEXT)
