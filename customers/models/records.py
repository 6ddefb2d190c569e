"""Customer records: one table for B-end accounts and C-end persons (one customer view), their
phones, addresses, contacts and tags, duplicate candidates and the merge audit trail."""
from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.fields import BlindIndexField, EncryptedTextField
from tenancy.models import Membership, TenantScopedModel

from ..search import name_grams


class CustomerKind(models.TextChoices):
    ACCOUNT = "account", _("B-end account")
    PERSON = "person", _("C-end person")


class CustomerStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    ACTIVE = "active", _("Active")
    INACTIVE = "inactive", _("Inactive")
    MERGED = "merged", _("Merged into another record")


class Industry(models.TextChoices):
    ECOMMERCE = "ecommerce", _("E-commerce")
    RETAIL = "retail", _("Retail")
    MANUFACTURING = "manufacturing", _("Manufacturing")
    ELECTRONICS = "electronics", _("Electronics")
    APPAREL = "apparel", _("Apparel and textiles")
    FOOD = "food", _("Food and fresh produce")
    PHARMA = "pharma", _("Pharmaceuticals and health")
    AUTOMOTIVE = "automotive", _("Automotive parts")
    FINANCE = "finance", _("Finance and documents")
    GOVERNMENT = "government", _("Government and public sector")
    OTHER = "other", _("Other")


class CreditRating(models.TextChoices):
    AAA = "AAA", "AAA"
    AA = "AA", "AA"
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"


class SourceChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    WEB = "web", _("Web form")
    WECHAT = "wechat", _("WeChat")
    APP = "app", _("App")
    WALK_IN = "walk_in", _("Walk-in at a branch")
    SALES = "sales", _("Sales visit")
    REFERRAL = "referral", _("Referral")
    LEAD = "lead", _("Won sales lead")
    IMPORT = "import", _("Import")
    API = "api", _("API")


class SettlementType(models.TextChoices):
    CASH = "cash", _("Cash on shipping")
    MONTHLY = "monthly", _("Monthly settlement")
    PREPAID = "prepaid", _("Prepaid balance")


class DeliveryWindow(models.TextChoices):
    ANY = "", _("Any time")
    MORNING = "morning", _("Mornings (9–12)")
    AFTERNOON = "afternoon", _("Afternoons (12–18)")
    EVENING = "evening", _("Evenings (18–21)")
    WEEKDAYS = "weekdays", _("Working days only")
    WEEKENDS = "weekends", _("Weekends only")


class Customer(TenantScopedModel):
    """A customer of the courier company: a B-end account (company) or a C-end person."""

    number = models.CharField(_("customer number"), max_length=20, editable=False)
    kind = models.CharField(_("type"), max_length=10, choices=CustomerKind.choices)
    name = models.CharField(_("name"), max_length=200)
    search_grams = ArrayField(models.CharField(max_length=4), default=list, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=CustomerStatus.choices,
                              default=CustomerStatus.ACTIVE)
    province = models.CharField(_("province"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=40, blank=True)
    district = models.CharField(_("district"), max_length=40, blank=True)
    owner = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              verbose_name=_("account manager"))
    source_channel = models.CharField(_("source channel"), max_length=10, choices=SourceChannel.choices,
                                      default=SourceChannel.PHONE)
    # B-end
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    industry = models.CharField(_("industry"), max_length=20, choices=Industry.choices, blank=True)
    credit_rating = models.CharField(_("credit rating"), max_length=3, choices=CreditRating.choices, blank=True)
    settlement_type = models.CharField(_("settlement"), max_length=10, choices=SettlementType.choices,
                                       default=SettlementType.CASH)
    # C-end
    id_number = EncryptedTextField(_("ID number"), kind="id_number", blank=True, null=True)
    id_number_bidx = BlindIndexField(source="id_number")
    email = EncryptedTextField(_("email"), kind="email", blank=True, null=True)
    email_bidx = BlindIndexField(source="email")
    delivery_window = models.CharField(_("preferred delivery time"), max_length=10, blank=True,
                                       choices=DeliveryWindow.choices)
    delivery_notes = models.CharField(_("delivery preferences"), max_length=300, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # Computed by the segment job (the churn scan writes customers.CustomerChurn, a narrow 1:1 table).
    segments = ArrayField(models.CharField(max_length=30), default=list, blank=True, editable=False,
                          verbose_name=_("segments"))
    segments_computed_at = models.DateTimeField(null=True, blank=True, editable=False)
    personal_data_erased_at = models.DateTimeField(
        _("personal data erased at"), null=True, blank=True, editable=False,
        help_text=_("Set when a deletion request or the retention job anonymised this record."))
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    editable=False, verbose_name=_("merged into"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="customer_number_unique_per_tenant"),
            models.UniqueConstraint(fields=["tenant", "credit_code"], name="customer_credit_code_unique",
                                    condition=~Q(credit_code="") & ~Q(status="merged")),
            models.CheckConstraint(condition=Q(kind="account") | Q(credit_code=""),
                                   name="customer_credit_code_b_only"),
        ]
        indexes = [
            models.Index(fields=["tenant", "kind", "status", "-id"], name="customer_list"),
            models.Index(fields=["tenant", "owner", "-id"], name="customer_owner"),
            models.Index(fields=["tenant", "city", "-id"], name="customer_city"),
            models.Index(fields=["tenant", "id_number_bidx"], name="customer_id_bidx"),
            models.Index(fields=["tenant", "email_bidx"], name="customer_email_bidx"),
            GinIndex(fields=["segments"], name="customer_segments"),
        ]
        permissions = [
            ("merge_customer", _("Merge duplicate customers")),
            ("import_customers", _("Import customers from files")),
            ("export_customers", _("Export customer lists")),
            ("manage_tags", _("Manage the tag catalogue")),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.display_name}"

    def save(self, *args, **kwargs):
        grams = name_grams(f"{self.name}")
        changed = self._state.adding or grams != self.search_grams
        self.search_grams = grams
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "search_grams"}
        super().save(*args, **kwargs)
        if changed:
            CustomerNameGram.sync([self])

    @property
    def is_account(self) -> bool:
        return self.kind == CustomerKind.ACCOUNT

    @property
    def display_name(self) -> str:
        """Company names are shown in full; a person's name is masked (DOMAIN.md §6)."""
        if self.kind == CustomerKind.ACCOUNT:
            return self.name
        from tenancy.masking import mask_name

        return mask_name(self.name)


class CustomerNameGram(TenantScopedModel):
    """One character unigram or bigram of a customer's name, for name search.

    A row per gram with a b-tree index, not a GIN index on the array: under row-level security
    PostgreSQL only uses an index for LEAKPROOF operators, which `=` on text is and the array
    operators (@>, &&) are not."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    gram = models.CharField(max_length=4)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "customer", "gram"], name="namegram_once"),
        ]
        indexes = [models.Index(fields=["tenant", "gram", "customer"], name="namegram_lookup")]

    def __str__(self) -> str:
        return self.gram

    @classmethod
    def sync(cls, customers) -> None:
        """Replace the grams of these customers with those of their current names."""
        customers = [c for c in customers if c.pk]
        if not customers:
            return
        cls.objects.filter(customer_id__in=[c.pk for c in customers]).delete()
        cls.objects.bulk_create([cls(customer_id=c.pk, tenant_id=c.tenant_id, gram=g)
                                 for c in customers for g in (c.search_grams or name_grams(c.name))])


class CustomerPhone(TenantScopedModel):
    """A phone number of a customer (a person may have several). Looked up by blind index."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phones",
                                 verbose_name=_("customer"))
    phone = EncryptedTextField(_("phone"), kind="phone")
    phone_bidx = BlindIndexField(source="phone")
    label = models.CharField(_("label"), max_length=20, blank=True,
                             choices=[("mobile", _("Mobile")), ("landline", _("Landline")), ("work", _("Work"))])
    is_primary = models.BooleanField(_("primary"), default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("customer phone")
        verbose_name_plural = _("customer phones")
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "customer", "phone_bidx"],
                                    name="customerphone_once_per_customer"),
        ]
        indexes = [models.Index(fields=["tenant", "phone_bidx"], name="customerphone_bidx")]

    def __str__(self) -> str:
        from tenancy.fields import masked

        return masked(self, "phone")


class Address(TenantScopedModel):
    """A delivery / pickup address; the street part is personal data and sealed."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses",
                                 verbose_name=_("customer"))
    label = models.CharField(_("label"), max_length=40, blank=True)
    province = models.CharField(_("province"), max_length=20)
    city = models.CharField(_("city"), max_length=40)
    district = models.CharField(_("district"), max_length=40, blank=True)
    street = EncryptedTextField(_("street address"), kind="address")
    postal_code = models.CharField(_("postal code"), max_length=6, blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["-is_default", "id"]
        indexes = [models.Index(fields=["tenant", "customer"], name="address_customer")]

    def __str__(self) -> str:
        from tenancy.fields import masked

        return f"{self.province}{self.city}{self.district} {masked(self, 'street')}"


class Contact(TenantScopedModel):
    """A person at a B-end account (shipping clerk, finance, manager)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts",
                                 verbose_name=_("account"))
    name = models.CharField(_("name"), max_length=80)
    title = models.CharField(_("job title"), max_length=80, blank=True)
    phone = EncryptedTextField(_("phone"), kind="phone", blank=True, null=True)
    phone_bidx = BlindIndexField(source="phone")
    email = EncryptedTextField(_("email"), kind="email", blank=True, null=True)
    email_bidx = BlindIndexField(source="email")
    is_primary = models.BooleanField(_("primary contact"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    notes = models.CharField(_("notes"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-is_primary", "id"]
        indexes = [
            models.Index(fields=["tenant", "phone_bidx"], name="contact_phone_bidx"),
            models.Index(fields=["tenant", "customer"], name="contact_customer"),
        ]

    def __str__(self) -> str:
        from tenancy.masking import mask_name

        return mask_name(self.name)


class Tag(TenantScopedModel):
    """A manual tag from the tenant's catalogue (rule-based segments are separate)."""

    COLORS = [("secondary", _("Grey")), ("primary", _("Blue")), ("success", _("Green")),
              ("warning", _("Yellow")), ("danger", _("Red")), ("info", _("Cyan")), ("dark", _("Black"))]

    name = models.CharField(_("name"), max_length=40)
    color = models.CharField(_("colour"), max_length=10, choices=COLORS, default="secondary")
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="tag_name_unique_per_tenant")]

    def __str__(self) -> str:
        return self.name


class CustomerTag(TenantScopedModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="customer_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="customer_tags")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "customer", "tag"], name="customertag_once"),
        ]
        indexes = [models.Index(fields=["tenant", "tag", "customer"], name="customertag_tag")]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.tag_id}"


class DuplicateReason(models.TextChoices):
    PHONE = "phone", _("Same phone number")
    CREDIT_CODE = "credit_code", _("Same credit code")
    ID_NUMBER = "id_number", _("Same ID number")
    EMAIL = "email", _("Same email")
    NAME_CITY = "name_city", _("Similar name in the same city")


class DuplicateStatus(models.TextChoices):
    OPEN = "open", _("Open")
    MERGED = "merged", _("Merged")
    DISMISSED = "dismissed", _("Not a duplicate")


class DuplicateCandidate(TenantScopedModel):
    """A pair of customers that may be the same (customer_a.id < customer_b.id)."""

    customer_a = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    customer_b = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reasons = ArrayField(models.CharField(max_length=20), default=list)
    score = models.DecimalField(max_digits=4, decimal_places=3, default=0)
    status = models.CharField(max_length=10, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN)
    detected_at = models.DateTimeField(default=timezone.now)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-score", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "customer_a", "customer_b"], name="duplicate_pair_once"),
            models.CheckConstraint(condition=Q(customer_a__lt=models.F("customer_b")), name="duplicate_pair_ordered"),
        ]
        indexes = [models.Index(fields=["tenant", "status", "-score"], name="duplicate_queue")]

    def __str__(self) -> str:
        return f"{self.customer_a_id}~{self.customer_b_id}"


class MergeRecord(TenantScopedModel):
    """The audit trail of one merge: what moved from the merged record to the survivor.

    Insert-only (the merged record itself is kept, marked merged, pointing at the survivor)."""

    append_only = True
    redactable_fields = ("merged_name",)

    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_received")
    merged = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    merged_number = models.CharField(max_length=20)
    merged_name = models.CharField(max_length=200)
    moved = models.JSONField(default=dict)
    filled_fields = ArrayField(models.CharField(max_length=40), default=list)
    reason = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.merged_number} → {self.survivor_id}"
