from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from customers import urls as customers_urls
from tenancy import urls as tenancy_urls

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("tenancy.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("platform-admin/", admin.site.urls),
    path("compliance/", include("compliance.urls")),
    path("", include((tenancy_urls.urlpatterns, "tenancy"))),
    path("", include((customers_urls.urlpatterns, "customers"))),
    path("", include((customers_urls.public_urlpatterns, "public"))),
    *tenancy_urls.root_urlpatterns,
]
