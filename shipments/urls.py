from django.urls import path

from . import views

app_name = "shipments"

urlpatterns = [
    path("waybills/", views.waybill_list, name="list"),
    path("waybills/<int:pk>/", views.waybill_detail, name="detail"),
    path("waybills/<int:pk>/timeline/", views.waybill_timeline, name="timeline"),
    path("waybills/<int:pk>/consents/", views.consent_add, name="consent_add"),
    path("waybills/customer/<int:customer_id>/", views.customer_waybills, name="customer_waybills"),
]
