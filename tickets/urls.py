from django.urls import path

from . import views

app_name = "tickets"

urlpatterns = [
    path("exceptions/", views.exception_queue, name="exceptions"),
    path("tickets/<int:pk>/", views.ticket_detail, name="detail"),
]
