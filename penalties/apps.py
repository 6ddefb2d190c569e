from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


class PenaltiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "penalties"
    verbose_name = _("Violations and fines")

    def ready(self):
        from tenancy.models import Tenant

        from .signals import catalogue_for_new_tenant

        post_save.connect(catalogue_for_new_tenant, sender=Tenant, dispatch_uid="penalties-catalogue-for-new-tenant")
