from django import template

from customers.rules import SEGMENT_LABELS

register = template.Library()


@register.filter
def segment_label(code: str) -> str:
    return SEGMENT_LABELS.get(code, code)
