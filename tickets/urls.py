"""Routes of the tickets app's pages: each area's views module lists its own."""
from .views import claims, console, desk, exceptions, kb, sla, surveys, tickets

app_name = "tickets"

urlpatterns = [
    *console.urlpatterns,
    *tickets.urlpatterns,
    *exceptions.urlpatterns,
    *desk.urlpatterns,
    *sla.urlpatterns,
    *kb.urlpatterns,
    *claims.urlpatterns,
    *surveys.urlpatterns,
]

public_urlpatterns = console.public_urlpatterns + surveys.public_urlpatterns
