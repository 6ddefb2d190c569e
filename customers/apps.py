from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers and sales")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import merge_handlers  # noqa: F401  (how each related table joins the survivor)
