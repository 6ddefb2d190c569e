"""Routes of the shipments API (included under /api/v1/ by tenancy.api.urls)."""
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.include_format_suffixes = False
router.register("waybills", views.WaybillViewSet, basename="waybill")

urlpatterns = [
    path("tracking-events/batch", views.TrackingEventBatchView.as_view(), name="api-tracking-events-batch"),
    path("", include(router.urls)),
]
