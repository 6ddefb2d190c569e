"""System checks that keep the tenancy promises as the code grows."""
from django.core import checks


@checks.register(checks.Tags.models)
def tenant_models_fail_closed(app_configs, **kwargs):
    from .models import TenantManager
    from .rls import tenant_models

    errors = []
    for model in tenant_models():
        if not isinstance(model._base_manager, TenantManager):
            errors.append(checks.Error(
                f"{model._meta.label}'s base manager is not a TenantManager",
                hint="Inherit Meta from TenantScopedModel.Meta or keep base_manager_name='objects'.",
                id="tenancy.E001",
            ))
        if not isinstance(model._default_manager, TenantManager):
            errors.append(checks.Error(
                f"{model._meta.label}'s default manager is not a TenantManager",
                id="tenancy.E002",
            ))
        names = [tuple(c.fields) for c in model._meta.constraints if hasattr(c, "fields")]
        for fields in names:
            if fields and fields[0] != "tenant" and "tenant" not in fields:
                errors.append(checks.Error(
                    f"{model._meta.label} has a unique constraint {fields} without tenant",
                    hint="Uniqueness is per tenant: lead the constraint with 'tenant'.",
                    id="tenancy.E003",
                ))
    return errors
