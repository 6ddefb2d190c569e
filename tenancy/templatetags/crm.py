from django import forms, template

register = template.Library()


@register.filter
def bs(field):
    """Render a bound field with the Bootstrap class its widget needs."""
    widget = field.field.widget
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, forms.Select):
        css = "form-select"
    else:
        css = "form-control"
    if field.errors:
        css += " is-invalid"
    return field.as_widget(attrs={"class": css})


@register.filter
def is_checkbox(field):
    return isinstance(field.field.widget, forms.CheckboxInput)


@register.simple_tag(takes_context=True)
def query_with(context, **kwargs):
    """The current query string with some parameters replaced (pagination links keep filters)."""
    query = context["request"].GET.copy()
    for key, value in kwargs.items():
        query[key] = value
    return query.urlencode()


@register.filter(name="masked")
def masked_filter(obj, field_name: str) -> str:
    """The screen-masked form of a personal field: {{ phone|masked:"phone" }}."""
    from tenancy.fields import masked

    if obj is None:
        return ""
    return masked(obj, field_name)


@register.inclusion_tag("_pii.html", takes_context=True)
def pii(context, obj, field_name: str):
    """A masked personal value with a Reveal button (reason asked, access logged)."""
    from tenancy.fields import masked

    value = masked(obj, field_name) if obj is not None else ""
    user = context.get("user")
    return {"obj": obj, "field": field_name, "value": value, "label": obj._meta.label_lower if obj else "",
            "can_reveal": bool(value) and user is not None and user.has_perm("tenancy.reveal_pii"),
            "dom_id": f"pii-{obj._meta.model_name}-{obj.pk}-{field_name}" if obj is not None else ""}


@register.filter(name="mask_name")
def mask_name_filter(value: str) -> str:
    """A person's name as shown on screen (at least one character hidden, DOMAIN.md §6)."""
    from tenancy.masking import mask_name

    return mask_name(value)
