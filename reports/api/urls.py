from django.urls import path

from . import views

urlpatterns = [
    path("<slug:chart>/", views.ChartView.as_view(), name="api-reports-chart"),
    path("<slug:chart>/csv/", views.ChartCsvView.as_view(), name="api-reports-chart-csv"),
]
