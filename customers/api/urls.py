"""Routes of the customers API (included under /api/v1/ by tenancy.api.urls)."""
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import retention, views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False  # the API root is tenancy's router's; this one only adds routes
# No `.json` twins of every route: JSON is the only format (and `?format=` still works).
router.include_format_suffixes = False
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("addresses", views.AddressViewSet, basename="address")
router.register("customer-phones", views.CustomerPhoneViewSet, basename="customer-phone")
router.register("tags", views.TagViewSet, basename="tag")
router.register("duplicates", views.DuplicateViewSet, basename="duplicate")
router.register("merges", views.MergeViewSet, basename="merge")
router.register("contracts", views.ContractViewSet, basename="contract")
router.register("contract-lanes", views.ContractLaneViewSet, basename="contract-lane")
router.register("leads", views.LeadViewSet, basename="lead")
router.register("opportunities", views.OpportunityViewSet, basename="opportunity")
router.register("quote-lines", views.QuoteLineViewSet, basename="quote-line")
router.register("pipeline", views.PipelineViewSet, basename="pipeline")
router.register("activities", views.ActivityViewSet, basename="activity")
router.register("sales-teams", views.SalesTeamViewSet, basename="sales-team")
router.register("retention-tasks", retention.RetentionTaskViewSet, basename="retention-task")

urlpatterns = [
    path("", include(router.urls)),
]
