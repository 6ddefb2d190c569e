"""Per-tenant business rules with defaults, versioned by the date they take effect.

Each app declares its rules once in its own `rules.py`::

    HIGH_VALUE_REVENUE = Rule("customers.high_value_revenue_90d", Decimal("10000"), _("…"), kind="decimal")

and reads them with `HIGH_VALUE_REVENUE.value()` (today, current tenant) or `.value(on=day)`.
A tenant admin changes a rule by adding a `RuleSetting` row from a date; the default applies
until the first such row. Values are cached per request/task in the scope's tenant only."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from .scoping import current_tenant_id

REGISTRY: dict[str, Rule] = {}


@dataclass(frozen=True)
class Rule:
    key: str
    default: object
    label: str
    kind: str = "decimal"          # decimal | int | bool | text
    min_value: object = None
    max_value: object = None
    help: str = field(default="", compare=False)

    def __post_init__(self):
        REGISTRY[self.key] = self

    def parse(self, raw) -> object:
        """Turn stored JSON (or form input) into the rule's Python value; raises ValidationError."""
        try:
            if self.kind == "decimal":
                value = Decimal(str(raw).strip())
                if not value.is_finite():
                    raise InvalidOperation
            elif self.kind == "int":
                value = int(str(raw).strip())
            elif self.kind == "bool":
                value = raw if isinstance(raw, bool) else str(raw).strip().lower() in ("1", "true", "yes", "on")
            else:
                value = str(raw).strip()
        except (InvalidOperation, ValueError, TypeError) as exc:
            raise ValidationError({"value": _("Enter a valid value for this rule.")}) from exc
        if self.min_value is not None and value < self.min_value:
            raise ValidationError({"value": _("The value must be at least %(min)s.") % {"min": self.min_value}})
        if self.max_value is not None and value > self.max_value:
            raise ValidationError({"value": _("The value must be at most %(max)s.") % {"max": self.max_value}})
        return value

    def to_json(self, value) -> object:
        return str(value) if isinstance(value, Decimal) else value

    def value(self, on: dt.date | None = None):
        return rule_value(self, on=on)


def rule_value(rule: Rule, on: dt.date | None = None):
    """The value of `rule` for the current tenant on `on` (default today)."""
    return rule_value_with_version(rule, on=on)[0]


def rule_value_with_version(rule: Rule, on: dt.date | None = None) -> tuple[object, str]:
    """(value, version) of `rule` for the current tenant on `on`: the version is the date the
    tenant's setting took effect (ISO), or "default" while none applies — what a decision records
    so it can say which rule produced it."""
    from .models import RuleSetting

    on = on or timezone.localdate()
    current_tenant_id()  # fail closed outside a scope
    found = (RuleSetting.objects.filter(key=rule.key, effective_from__lte=on)
             .order_by("-effective_from", "-id").values_list("value", "effective_from").first())
    if found is None:
        return rule.default, "default"
    return rule.parse(found[0]), found[1].isoformat()


def rule_history(key: str):
    from .models import RuleSetting

    return RuleSetting.objects.filter(key=key).select_related("created_by").order_by("-effective_from", "-id")


def all_settings():
    from .models import RuleSetting

    return list(RuleSetting.objects.select_related("created_by").order_by("key", "-effective_from", "-id"))


def load_all_rules() -> None:
    """Import every app's rules module so the registry lists them all (the rules page)."""
    from importlib import import_module

    from django.apps import apps

    for config in apps.get_app_configs():
        try:
            import_module(f"{config.name}.rules")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.rules":
                raise
