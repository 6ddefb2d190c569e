from . import views  # noqa: F401 — the package, whose area modules follow
from .views import access, consent, incidents, keys, overview, requests, retention

app_name = "compliance"

urlpatterns = [
    *access.urlpatterns,
    *overview.urlpatterns,
    *consent.urlpatterns,
    *requests.urlpatterns,
    *retention.urlpatterns,
    *keys.urlpatterns,
    *incidents.urlpatterns,
]
