"""Shapes of the penalties API. Money is a decimal string in CNY (never a float), in and out; a
ledger amount is signed (issued +, reduced / reversed / paid −); hashes and signatures are
lowercase hex. Query-string serializers parse the list filters (400 naming the field)."""
from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from shipments.models import Waybill
from tenancy.api.base import AllFieldsOptional, ScopedPrimaryKeyRelatedField
from tenancy.inputs import MAX_TEXT
from tenancy.models import Branch, Membership
from tickets.api.claim_serializers import AmountField, IdField, no_control_characters
from tickets.api.serializers import named_choice
from tickets.models import Ticket

from ..models import (
    Appeal,
    AppealStatus,
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    Detector,
    EntryKind,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerVerification,
    PaymentMethod,
    Severity,
    SubjectKind,
    Tier,
    VerificationStatus,
    ViolationCase,
    ViolationCategory,
    ViolationEvidence,
    ViolationType,
    ViolationTypeVersion,
)
from ..selectors import CASE_TABS

SEARCH_MAX = 60
HEX_HASH = {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "SHA-256, lowercase hex"}
HEX_SIGNATURE = {"type": "string", "pattern": "^[0-9a-f]{128}$", "description": "Ed25519 signature, lowercase hex"}
CHAIN_STATES = ("intact", "broken", "unverified")
EXPORT_FORMATS = ("csv", "xlsx")


# --- choice sets (one OpenAPI component each) ---------------------------------------------------

def category_field(**kwargs):
    return named_choice("ViolationCategoryEnum", ViolationCategory.choices, **kwargs)


def severity_field(**kwargs):
    return named_choice("ViolationSeverityEnum", Severity.choices, **kwargs)


def detector_field(**kwargs):
    return named_choice("ViolationDetectorEnum", Detector.choices, **kwargs)


def case_status_field(**kwargs):
    return named_choice("FineStatusEnum", CaseStatus.choices, **kwargs)


def tier_field(**kwargs):
    return named_choice("FineTierEnum", Tier.choices, **kwargs)


def subject_kind_field(**kwargs):
    return named_choice("FineSubjectKindEnum", SubjectKind.choices, **kwargs)


def appeal_status_field(**kwargs):
    return named_choice("AppealStatusEnum", AppealStatus.choices, **kwargs)


def entry_kind_field(**kwargs):
    return named_choice("LedgerEntryKindEnum", EntryKind.choices, **kwargs)


def payment_method_field(**kwargs):
    return named_choice("FinePaymentMethodEnum", PaymentMethod.choices, **kwargs)


def money(*, max_digits: int = 14, **kwargs) -> serializers.DecimalField:
    """A stored amount, shown as a decimal string."""
    return serializers.DecimalField(max_digits=max_digits, decimal_places=2, read_only=True, **kwargs)


def person_name(user) -> str:
    return (user.display_name or user.username) if user is not None else ""


def subject_name(row) -> str:
    """Who is fined: the employee's name, or the branch's (a case or a ledger entry)."""
    if row.subject_kind == SubjectKind.EMPLOYEE and row.subject_membership_id:
        return person_name(row.subject_membership.user)
    return str(row.branch.name)


# --- the catalogue --------------------------------------------------------------------------------

class ViolationTypeSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True, help_text=_("In the request's language"))
    category = category_field(read_only=True)
    amount_min = money()
    amount_max = money()
    default_amount = money()
    default_severity = severity_field(read_only=True)
    detector = detector_field(blank=True, read_only=True)
    updated_by_name = serializers.SerializerMethodField()

    class Meta:
        model = ViolationType
        fields = ["id", "code", "name", "name_zh", "name_en", "category", "amount_min", "amount_max",
                  "default_amount", "default_severity", "legal_reference", "description", "detector", "is_active",
                  "version", "updated_at", "updated_by", "updated_by_name"]
        read_only_fields = fields

    def get_updated_by_name(self, vt) -> str:
        return person_name(vt.updated_by)


class ViolationTypeVersionSerializer(serializers.ModelSerializer):
    data = serializers.JSONField(read_only=True, help_text=_("The catalogue entry as it stood (amounts as strings)"))
    changed_by_name = serializers.SerializerMethodField()

    class Meta:
        model = ViolationTypeVersion
        fields = ["id", "violation_type", "version", "data", "note", "changed_by", "changed_by_name", "changed_at"]
        read_only_fields = fields

    def get_changed_by_name(self, version) -> str:
        return person_name(version.changed_by)


class ViolationTypeUpdateSerializer(AllFieldsOptional, serializers.Serializer):
    """A catalogue entry's fields; every field optional, what is left out keeps its value. Any
    change is a new version."""

    name_zh = serializers.CharField(max_length=120)
    name_en = serializers.CharField(max_length=120)
    category = category_field()
    amount_min = AmountField(positive=False, help_text=_("CNY"))
    amount_max = AmountField(positive=False, help_text=_("CNY"))
    default_amount = AmountField(help_text=_("CNY, within the range"))
    default_severity = severity_field()
    legal_reference = serializers.CharField(max_length=200, allow_blank=True,
                                            help_text=_("Required for a regulator's fine (law and article)"))
    description = serializers.CharField(max_length=MAX_TEXT, allow_blank=True)
    detector = detector_field(blank=True, help_text=_("The automatic check that proposes fines of this type"))
    is_active = serializers.BooleanField()
    note = serializers.CharField(max_length=300, allow_blank=True, help_text=_("What changed and why"))


class ViolationTypeCreateSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40, help_text=_("Capital letters, digits, underscores (e.g. FAKE_SCAN)"))
    name_zh = serializers.CharField(max_length=120)
    name_en = serializers.CharField(max_length=120)
    category = category_field()
    amount_min = AmountField(positive=False, help_text=_("CNY"))
    amount_max = AmountField(positive=False, help_text=_("CNY"))
    default_amount = AmountField(help_text=_("CNY, within the range"))
    default_severity = severity_field(required=False, default=Severity.MEDIUM)
    legal_reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                            help_text=_("Required for a regulator's fine (law and article)"))
    description = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, default="")
    detector = detector_field(blank=True, required=False, default="")
    is_active = serializers.BooleanField(required=False, default=True)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ViolationTypeListQuerySerializer(serializers.Serializer):
    active = serializers.BooleanField(required=False, allow_null=True, default=None,
                                      help_text=_("true: only entries in use"))


# --- cases ----------------------------------------------------------------------------------------

class FineSerializer(serializers.ModelSerializer):
    """A fine as the list shows it."""

    violation_type_code = serializers.CharField(source="violation_type.code", read_only=True)
    violation_type_name = serializers.CharField(source="violation_type.name", read_only=True)
    category = category_field(read_only=True)
    subject_kind = subject_kind_field(read_only=True)
    subject_name = serializers.SerializerMethodField(help_text=_("The employee or branch fined"))
    branch_name = serializers.CharField(source="branch.name", read_only=True)
    original_amount = money()
    amount = money(help_text=_("The fine in force (after a reduction)"))
    outstanding = money(max_digits=16, help_text=_("Still owed: the sum of the case's ledger entries"))
    tier = tier_field(read_only=True)
    status = case_status_field(read_only=True)
    detector = detector_field(blank=True, read_only=True)
    proposed_by_name = serializers.SerializerMethodField()

    class Meta:
        model = ViolationCase
        fields = ["id", "number", "violation_type", "violation_type_code", "violation_type_name", "type_version",
                  "category", "subject_kind", "subject_membership", "subject_name", "branch", "branch_name",
                  "original_amount", "amount", "outstanding", "tier", "status", "occurred_on", "detector",
                  "proposed_by", "proposed_by_name", "confirmed_at", "appeal_due_at", "settled_at", "voided_at",
                  "created_at", "updated_at"]
        read_only_fields = fields

    def get_subject_name(self, case) -> str:
        return subject_name(case)

    def get_proposed_by_name(self, case) -> str:
        return person_name(case.proposed_by)


class FineAppealSerializer(serializers.ModelSerializer):
    status = appeal_status_field(read_only=True)
    requested_amount = money(allow_null=True)
    reduced_to = money(allow_null=True)
    filed_by_name = serializers.SerializerMethodField()
    decided_by_name = serializers.SerializerMethodField()

    class Meta:
        model = Appeal
        fields = ["id", "case", "status", "filed_by", "filed_by_name", "on_behalf", "grounds", "requested_amount",
                  "decided_by", "decided_by_name", "decided_at", "decision_reason", "reduced_to", "created_at"]
        read_only_fields = fields

    def get_filed_by_name(self, appeal) -> str:
        return person_name(appeal.filed_by)

    def get_decided_by_name(self, appeal) -> str:
        return person_name(appeal.decided_by)


class FineAppealListSerializer(FineAppealSerializer):
    """An appeal with the fine it contests."""

    case_number = serializers.CharField(source="case.number", read_only=True)
    case_status = case_status_field(source="case.status", read_only=True)
    case_amount = money(source="case.amount")
    tier = tier_field(source="case.tier", read_only=True)
    violation_type = serializers.IntegerField(source="case.violation_type_id", read_only=True)
    violation_type_code = serializers.CharField(source="case.violation_type.code", read_only=True)
    subject_name = serializers.SerializerMethodField()
    branch = serializers.IntegerField(source="case.branch_id", read_only=True)
    branch_name = serializers.CharField(source="case.branch.name", read_only=True)

    class Meta(FineAppealSerializer.Meta):
        fields = [*FineAppealSerializer.Meta.fields, "case_number", "case_status", "case_amount", "tier",
                  "violation_type", "violation_type_code", "subject_name", "branch", "branch_name"]
        read_only_fields = fields

    def get_subject_name(self, appeal) -> str:
        return subject_name(appeal.case)


class FineEvidenceSerializer(serializers.ModelSerializer):
    uploaded_by_name = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text=_("Where a logged-in browser opens the file"))

    class Meta:
        model = ViolationEvidence
        fields = ["id", "case", "name", "content_type", "size", "sha256", "description", "uploaded_by",
                  "uploaded_by_name", "created_at", "url"]
        read_only_fields = fields

    def get_uploaded_by_name(self, evidence) -> str:
        return person_name(evidence.uploaded_by)

    def get_url(self, evidence) -> str:
        return reverse("penalties:evidence", args=[evidence.case_id, evidence.pk])


class FineEventSerializer(serializers.ModelSerializer):
    kind = named_choice("FineEventKindEnum", CaseEventKind.choices, read_only=True)
    actor_name = serializers.SerializerMethodField()
    data = serializers.JSONField(read_only=True)

    class Meta:
        model = CaseEvent
        fields = ["id", "kind", "actor", "actor_name", "body", "from_status", "to_status", "data", "created_at"]
        read_only_fields = fields

    def get_actor_name(self, event) -> str:
        return person_name(event.actor)


class HashFieldsMixin(serializers.Serializer):
    prev_hash = serializers.SerializerMethodField()
    entry_hash = serializers.SerializerMethodField()

    @extend_schema_field(HEX_HASH)
    def get_prev_hash(self, entry) -> str:
        return entry.prev_hash_hex

    @extend_schema_field(HEX_HASH)
    def get_entry_hash(self, entry) -> str:
        return entry.entry_hash_hex


class FineEntrySerializer(HashFieldsMixin, serializers.ModelSerializer):
    """One ledger entry of a case (the case's own fields are on the case)."""

    kind = entry_kind_field(read_only=True)
    amount = money(help_text=_("Signed: issued +, reduced / reversed / paid −"))
    payment_method = payment_method_field(blank=True, read_only=True)
    recorded_by_name = serializers.SerializerMethodField()

    class Meta:
        model = LedgerEntry
        fields = ["id", "sequence", "kind", "amount", "currency", "effective_on", "payment_method", "memo",
                  "recorded_by", "recorded_by_name", "recorded_at", "prev_hash", "entry_hash"]
        read_only_fields = fields

    def get_recorded_by_name(self, entry) -> str:
        return person_name(entry.recorded_by)


class FineDetailSerializer(FineSerializer):
    """Everything about one fine: what happened, the evidence (metadata), the appeal, the ledger
    entries, the timeline and the catalogue entry as it stood when the fine was proposed."""

    # The view passes selectors.case_detail(case) as the context key "detail".

    confirmed_by_name = serializers.SerializerMethodField()
    voided_by_name = serializers.SerializerMethodField()
    ticket_number = serializers.SerializerMethodField()
    waybill_number = serializers.SerializerMethodField()
    appeal = serializers.SerializerMethodField()
    evidence = serializers.SerializerMethodField()
    entries = serializers.SerializerMethodField()
    events = serializers.SerializerMethodField()
    type_snapshot = serializers.SerializerMethodField()

    class Meta(FineSerializer.Meta):
        fields = [*FineSerializer.Meta.fields, "description", "out_of_range_reason", "legal_reference", "ticket",
                  "ticket_number", "waybill", "waybill_number", "access_log_ids", "confirmed_by",
                  "confirmed_by_name", "voided_by", "voided_by_name", "void_reason", "appeal", "evidence",
                  "entries", "events", "type_snapshot"]
        read_only_fields = fields

    def _detail(self, case) -> dict:
        return self.context["detail"]

    def get_confirmed_by_name(self, case) -> str:
        return person_name(case.confirmed_by)

    def get_voided_by_name(self, case) -> str:
        return person_name(case.voided_by)

    def get_ticket_number(self, case) -> str:
        return case.ticket.number if case.ticket_id else ""

    def get_waybill_number(self, case) -> str:
        return case.waybill.number if case.waybill_id else ""

    @extend_schema_field(FineAppealSerializer(allow_null=True))
    def get_appeal(self, case):
        appeal = self._detail(case)["appeal"]
        return FineAppealSerializer(appeal).data if appeal is not None else None

    @extend_schema_field(FineEvidenceSerializer(many=True))
    def get_evidence(self, case):
        return FineEvidenceSerializer(self._detail(case)["evidence"], many=True).data

    @extend_schema_field(FineEntrySerializer(many=True))
    def get_entries(self, case):
        """The case's ledger entries in sequence order."""
        return FineEntrySerializer(self._detail(case)["entries"], many=True).data

    @extend_schema_field(FineEventSerializer(many=True))
    def get_events(self, case):
        """The timeline, oldest first."""
        return FineEventSerializer(self._detail(case)["events"], many=True).data

    @extend_schema_field(serializers.JSONField(allow_null=True))
    def get_type_snapshot(self, case):
        """The catalogue entry as it stood at `type_version` (null if that version is missing)."""
        version = self._detail(case)["type_version"]
        return version.data if version is not None else None


class FineListQuerySerializer(serializers.Serializer):
    tab = named_choice("FineTabEnum", [(tab, tab) for tab in CASE_TABS], required=False, default="all",
                       help_text=_("open (in force or undecided), proposed (to confirm), appealed, mine (my own "
                                   "fines), all"))
    status = case_status_field(blank=True, required=False, default="")
    tier = tier_field(blank=True, required=False, default="")
    violation_type = IdField(required=False, allow_null=True, default=None, help_text=_("A violation type id"))
    branch = IdField(required=False, allow_null=True, default=None, help_text=_("A branch id: its subtree"))
    subject_membership = IdField(required=False, allow_null=True, default=None,
                                 help_text=_("The fined employee's membership id"))
    category = category_field(blank=True, required=False, default="")
    detector = detector_field(blank=True, required=False, default="")
    date_from = serializers.DateField(required=False, allow_null=True, default=None,
                                      help_text=_("Occurred on or after"))
    date_to = serializers.DateField(required=False, allow_null=True, default=None,
                                    help_text=_("Occurred on or before"))
    q = serializers.CharField(max_length=SEARCH_MAX, required=False, allow_blank=True, default="",
                              validators=[no_control_characters],
                              help_text=_("Part of the fine's number or description"))
    counts = serializers.BooleanField(required=False, default=False, help_text=_("Include the tab counts"))

    def validate_branch(self, value):
        return _branch(value)


def _branch(value):
    """A branch id of this company as the Branch (another company's: "does not exist")."""
    if value is None:
        return None
    branch = Branch.objects.filter(pk=value).first()
    if branch is None:
        raise serializers.ValidationError(_("No such branch."))
    return branch


class FineProposeSerializer(serializers.Serializer):
    violation_type = ScopedPrimaryKeyRelatedField(ViolationType, help_text=_("A catalogue entry in use"))
    subject_kind = subject_kind_field(help_text=_("employee: the member named in `subject_membership`; branch: "
                                                  "the branch named in `branch`"))
    subject_membership = ScopedPrimaryKeyRelatedField(Membership, required=False, allow_null=True, default=None,
                                                      help_text=_("The employee fined (a membership id)"))
    branch = ScopedPrimaryKeyRelatedField(Branch, required=False, allow_null=True, default=None,
                                          help_text=_("The branch fined (for a fine against a branch)"))
    amount = AmountField(required=False, allow_null=True, default=None,
                         help_text=_("CNY; default: the catalogue's default amount"))
    out_of_range_reason = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, default="",
                                                help_text=_("Required when the amount is outside the catalogue "
                                                            "range"))
    description = serializers.CharField(max_length=MAX_TEXT, help_text=_("What happened"))
    occurred_on = serializers.DateField(help_text=_("Not in the future"))
    ticket = ScopedPrimaryKeyRelatedField(Ticket, required=False, allow_null=True, default=None,
                                          help_text=_("A ticket the fine is about (optional)"))
    waybill = ScopedPrimaryKeyRelatedField(Waybill, required=False, allow_null=True, default=None,
                                           help_text=_("A waybill the fine is about (optional)"))
    access_log_ids = serializers.ListField(child=IdField(), required=False, default=list, max_length=100,
                                           help_text=_("Access-log rows that show what happened"))


class FineConfirmSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, default="")


class FineAppealInputSerializer(serializers.Serializer):
    grounds = serializers.CharField(max_length=MAX_TEXT)
    requested_amount = AmountField(positive=False, required=False, allow_null=True, default=None,
                                   help_text=_("The amount considered fair (CNY), below the fine"))


class FineDecideAppealSerializer(serializers.Serializer):
    outcome = named_choice("AppealOutcomeEnum",
                           [c for c in AppealStatus.choices if c[0] != AppealStatus.PENDING])
    reason = serializers.CharField(max_length=MAX_TEXT, help_text=_("Reasons for the decision"))
    reduced_to = AmountField(required=False, allow_null=True, default=None,
                             help_text=_("For a reduction: the new amount (CNY), below the fine"))


class FineVoidSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=MAX_TEXT)


class FinePaymentSerializer(serializers.Serializer):
    amount = AmountField(help_text=_("At most what is still owed"))
    method = payment_method_field()
    paid_on = serializers.DateField(required=False, allow_null=True, default=None,
                                    help_text=_("Default: today; never in the future"))
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class FineEvidenceUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_("A photo (JPEG, PNG, WebP, GIF) or a PDF; the type is read from the "
                                             "content"))
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class FineNoteSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=MAX_TEXT)


class FineAppealListQuerySerializer(serializers.Serializer):
    status = appeal_status_field(blank=True, required=False, default="", help_text=_("Empty: every appeal"))


# --- the ledger -----------------------------------------------------------------------------------

class LedgerEntrySerializer(FineEntrySerializer):
    case_number = serializers.CharField(source="case.number", read_only=True)
    subject_kind = subject_kind_field(read_only=True)
    subject_name = serializers.SerializerMethodField()
    branch_name = serializers.CharField(source="branch.name", read_only=True)
    violation_type_code = serializers.CharField(source="violation_type.code", read_only=True)
    violation_type_name = serializers.CharField(source="violation_type.name", read_only=True)
    tier = tier_field(read_only=True)

    class Meta(FineEntrySerializer.Meta):
        fields = ["id", "sequence", "kind", "case", "case_number", "subject_kind", "subject_membership",
                  "subject_name", "branch", "branch_name", "violation_type", "violation_type_code",
                  "violation_type_name", "tier", "amount", "currency", "effective_on", "payment_method", "memo",
                  "recorded_by", "recorded_by_name", "recorded_at", "prev_hash", "entry_hash"]
        read_only_fields = fields

    def get_subject_name(self, entry) -> str:
        return subject_name(entry)


class LedgerQuerySerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False, allow_null=True, default=None,
                                      help_text=_("Effective on or after"))
    date_to = serializers.DateField(required=False, allow_null=True, default=None,
                                    help_text=_("Effective on or before"))
    branch = IdField(required=False, allow_null=True, default=None, help_text=_("A branch id: its subtree"))
    subject_membership = IdField(required=False, allow_null=True, default=None,
                                 help_text=_("The fined employee's membership id"))
    violation_type = IdField(required=False, allow_null=True, default=None, help_text=_("A violation type id"))
    tier = tier_field(blank=True, required=False, default="")
    kind = entry_kind_field(blank=True, required=False, default="")
    status = case_status_field(blank=True, required=False, default="", help_text=_("The fine's current status"))
    case = IdField(required=False, allow_null=True, default=None, help_text=_("A fine's id"))

    def validate_branch(self, value):
        return _branch(value)

    def filters(self) -> dict:
        """The validated query as `ledger_list`'s keyword arguments."""
        data = self.validated_data
        return {"date_from": data["date_from"], "date_to": data["date_to"], "branch": data["branch"],
                "subject_membership": data["subject_membership"], "violation_type": data["violation_type"],
                "tier": data["tier"] or None, "kind": data["kind"] or None, "status": data["status"] or None,
                "case": data["case"]}


class LedgerExportQuerySerializer(LedgerQuerySerializer):
    format = named_choice("LedgerExportFormatEnum", [(f, f) for f in EXPORT_FORMATS], required=False,
                          default="xlsx", help_text=_("csv or xlsx (Excel)"))


class LedgerSumsSerializer(serializers.Serializer):
    issued = money(max_digits=16, help_text=_("Fines issued (+)"))
    reduced = money(max_digits=16, help_text=_("Reductions and reversals (−)"))
    paid = money(max_digits=16, help_text=_("Payments received (−)"))
    balance = money(max_digits=16, help_text=_("Still owed"))
    entries = serializers.IntegerField(read_only=True)


class LedgerTierRowSerializer(LedgerSumsSerializer):
    tier = tier_field(read_only=True)


class LedgerBranchRowSerializer(LedgerSumsSerializer):
    branch = serializers.IntegerField(source="branch_id", read_only=True)
    branch_name = serializers.CharField(source="branch__name", read_only=True)


class LedgerTypeRowSerializer(LedgerSumsSerializer):
    violation_type = serializers.IntegerField(source="violation_type_id", read_only=True)
    code = serializers.CharField(source="violation_type__code", read_only=True)
    name_zh = serializers.CharField(source="violation_type__name_zh", read_only=True)
    name_en = serializers.CharField(source="violation_type__name_en", read_only=True)


class LedgerMonthRowSerializer(LedgerSumsSerializer):
    month = serializers.SerializerMethodField()

    def get_month(self, row) -> str:
        """YYYY-MM (month of the entries' effective date)."""
        return row["month"].strftime("%Y-%m")


class LedgerTotalsSerializer(serializers.Serializer):
    overall = LedgerSumsSerializer()
    by_tier = LedgerTierRowSerializer(many=True)
    by_branch = LedgerBranchRowSerializer(many=True)
    by_type = LedgerTypeRowSerializer(many=True)
    by_month = LedgerMonthRowSerializer(many=True, help_text=_("Newest month first"))


# --- checkpoints, verifications, the chain --------------------------------------------------------

class LedgerCheckpointSerializer(serializers.ModelSerializer):
    head_hash = serializers.SerializerMethodField()
    signature = serializers.SerializerMethodField()

    class Meta:
        model = LedgerCheckpoint
        fields = ["id", "sequence", "head_hash", "signed_at", "key_id", "signature"]
        read_only_fields = fields

    @extend_schema_field(HEX_HASH)
    def get_head_hash(self, checkpoint) -> str:
        return checkpoint.head_hash_hex

    @extend_schema_field(HEX_SIGNATURE)
    def get_signature(self, checkpoint) -> str:
        return bytes(checkpoint.signature).hex()


class LedgerCheckpointDocumentRowSerializer(serializers.Serializer):
    sequence = serializers.IntegerField(read_only=True)
    head_hash = serializers.CharField(read_only=True)
    signed_at = serializers.CharField(read_only=True, help_text=_("ISO 8601, UTC, microseconds — exactly as signed"))
    key_id = serializers.CharField(read_only=True)
    signature = serializers.CharField(read_only=True)


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"},
                      "description": "Key id → Ed25519 public key (raw 32 bytes, base64)"})
class PublicKeysField(serializers.DictField):
    pass


class LedgerCheckpointDocumentSerializer(serializers.Serializer):
    """Every checkpoint with its signature and the public keys: what auditors keep outside the
    system (the same document as the ledger page's download)."""

    format = serializers.CharField(read_only=True, help_text=_("The signed message's format tag"))
    tenant_id = serializers.IntegerField(read_only=True)
    tenant_code = serializers.CharField(read_only=True)
    public_keys = PublicKeysField(child=serializers.CharField(), read_only=True)
    checkpoints = LedgerCheckpointDocumentRowSerializer(many=True, read_only=True, help_text=_("Oldest first"))


class LedgerVerificationSerializer(serializers.ModelSerializer):
    status = named_choice("LedgerVerificationStatusEnum", VerificationStatus.choices, read_only=True)
    requested_by_name = serializers.SerializerMethodField()

    class Meta:
        model = LedgerVerification
        fields = ["id", "status", "source", "requested_by", "requested_by_name", "requested_at", "started_at",
                  "finished_at", "entries_checked", "checkpoints_checked", "head_sequence", "first_bad_sequence",
                  "problem"]
        read_only_fields = fields

    def get_requested_by_name(self, verification) -> str:
        return person_name(verification.requested_by)


class LedgerChainStatusSerializer(serializers.Serializer):
    state = named_choice("LedgerChainStateEnum", [(s, s) for s in CHAIN_STATES], read_only=True,
                         help_text=_("What the last finished verification found; unverified before the first"))
    head_sequence = serializers.IntegerField(read_only=True, help_text=_("The last entry's sequence number"))
    unverified_entries = serializers.IntegerField(read_only=True,
                                                  help_text=_("Entries added since the last verification"))
    last_verification = LedgerVerificationSerializer(read_only=True, allow_null=True)
    pending = LedgerVerificationSerializer(read_only=True, allow_null=True,
                                     help_text=_("A queued or running verification"))
    last_checkpoint = LedgerCheckpointSerializer(read_only=True, allow_null=True)
