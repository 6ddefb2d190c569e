from django.urls import include, path
from rest_framework.routers import DefaultRouter

from compliance.api.views import AccessLogViewSet

from . import views

router = DefaultRouter(trailing_slash=True)
router.register("branches", views.BranchViewSet, basename="branch")
router.register("memberships", views.MembershipViewSet, basename="membership")
router.register("access-log", AccessLogViewSet, basename="access-log")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="api-me"),
    path("pii/reveal/", views.RevealView.as_view(), name="api-pii-reveal"),
    path("", include("customers.api.urls")),
    path("", include("shipments.api.urls")),
    path("", include("tickets.api.urls")),
    path("", include(router.urls)),
]
