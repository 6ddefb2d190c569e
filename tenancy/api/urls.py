from django.urls import include, path
from rest_framework.routers import DefaultRouter

from compliance.api import urls as compliance_api
from penalties.api import views as penalties_views

from . import jobs as jobs_api
from . import views

router = DefaultRouter(trailing_slash=True)
router.register("branches", views.BranchViewSet, basename="branch")
router.register("memberships", views.MembershipViewSet, basename="membership")
# background jobs and dead letters
for prefix, viewset, basename in jobs_api.ROUTES:
    router.register(prefix, viewset, basename=basename)
compliance_paths = compliance_api.register(router)  # access log, consent, requests, incidents, jobs
# penalties (violation catalogue, fines, appeals, the fine ledger)
router.register("penalties/violation-types", penalties_views.ViolationTypeViewSet, basename="penalties-violation-type")
router.register("penalties/cases", penalties_views.CaseViewSet, basename="penalties-case")
router.register("penalties/appeals", penalties_views.AppealViewSet, basename="penalties-appeal")
router.register("penalties/ledger", penalties_views.LedgerViewSet, basename="penalties-ledger")
router.register("penalties/checkpoints", penalties_views.CheckpointViewSet, basename="penalties-checkpoint")
router.register("penalties/verifications", penalties_views.VerificationViewSet, basename="penalties-verification")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="api-me"),
    path("pii/reveal/", views.RevealView.as_view(), name="api-pii-reveal"),
    path("penalties/chain-status/", penalties_views.ChainStatusView.as_view(), name="api-penalties-chain-status"),
    path("", include("customers.api.urls")),
    path("", include("shipments.api.urls")),
    path("", include("tickets.api.urls")),
    path("reports/", include("reports.api.urls")),
    *compliance_paths,
    *jobs_api.PATHS,
    path("", include(router.urls)),
]
