"""Routes of the tickets app's pages: each area's views module lists its own."""
from .views import exceptions, kb, sla

app_name = "tickets"

urlpatterns = [
    *exceptions.urlpatterns,
    *sla.urlpatterns,
    *kb.urlpatterns,
]
