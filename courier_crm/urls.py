from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from customers import urls as customers_urls
from penalties import urls as penalties_urls
from shipments import urls as shipments_urls
from tenancy import urls as tenancy_urls
from tickets import urls as tickets_urls

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("tenancy.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("platform-admin/", admin.site.urls),
    path("compliance/", include("compliance.urls")),
    path("reports/", include("reports.urls")),
    path("", include((tenancy_urls.urlpatterns, "tenancy"))),
    path("", include((customers_urls.urlpatterns, "customers"))),
    path("", include((customers_urls.public_urlpatterns + tickets_urls.public_urlpatterns, "public"))),
    path("", include((shipments_urls.urlpatterns, "shipments"))),
    path("", include((tickets_urls.urlpatterns, "tickets"))),
    path("", include((penalties_urls.urlpatterns, "penalties"))),
    *tenancy_urls.root_urlpatterns,
]
