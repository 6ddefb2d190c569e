from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class TenancyConfig(AppConfig):
    name = "tenancy"
    verbose_name = _("Tenancy")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import authz_cache, checks  # noqa: F401  (cache invalidation signals, system checks)
        from .api import schema  # noqa: F401  (registers OpenAPI auth extensions)
        from .rls import on_post_migrate

        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="tenancy-rls-sync")
