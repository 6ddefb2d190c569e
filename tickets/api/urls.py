"""Routes of the tickets API (included under /api/v1/ by tenancy.api.urls). Each area's module
registers its viewsets on the router and may list extra paths."""
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import claims, kb, sla, surveys, tickets

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.include_format_suffixes = False
for area in (tickets, sla, kb, claims, surveys):
    area.register(router)

urlpatterns = [
    *(path(route, view.as_view(), name=name) for route, view, name in tickets.urlpatterns_paths),
    *sla.urlpatterns,
    *kb.urlpatterns,
    *claims.urlpatterns,
    path("", include(router.urls)),
]
