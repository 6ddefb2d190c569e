from django import template

from shipments.models import WaybillStatus
from tickets.models import ExceptionKind

register = template.Library()

_STATUS_BADGE = {
    WaybillStatus.CREATED: "text-bg-secondary",
    WaybillStatus.PICKED_UP: "text-bg-info",
    WaybillStatus.IN_TRANSIT: "text-bg-primary",
    WaybillStatus.OUT_FOR_DELIVERY: "text-bg-primary",
    WaybillStatus.DELIVERED: "text-bg-success",
    WaybillStatus.EXCEPTION: "text-bg-danger",
    WaybillStatus.RETURNED: "text-bg-warning",
}


@register.filter
def waybill_badge(status: str) -> str:
    """The Bootstrap badge class of a waybill status."""
    return _STATUS_BADGE.get(status, "text-bg-light border")


@register.filter
def waybill_status_label(status: str) -> str:
    return WaybillStatus(status).label if status in WaybillStatus.values else status


@register.filter
def exception_label(kind: str) -> str:
    """The label of an exception kind (waybills store it as plain text)."""
    return ExceptionKind(kind).label if kind in ExceptionKind.values else kind
