"""Routes of the penalties app's pages: each area's views module lists its own."""
from .views import cases, catalogue, ledger

app_name = "penalties"

urlpatterns = [
    *ledger.urlpatterns,
    *catalogue.urlpatterns,
    *cases.urlpatterns,
]
