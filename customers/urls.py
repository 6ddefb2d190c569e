from django.urls import path

from . import views

app_name = "customers"

urlpatterns = [
    path("sales/leads/<int:pk>/", views.lead_detail, name="lead_detail"),
]
