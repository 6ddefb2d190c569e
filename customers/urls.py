from django.urls import path

from . import views, views_io, views_retention, views_sales

app_name = "customers"

urlpatterns = [
    path("customers/", views.customer_list, name="list"),
    path("customers/lookup/", views.lookup, name="lookup"),
    path("customers/new/", views.customer_create, name="create"),
    path("customers/<int:pk>/", views.customer_detail, name="detail"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="edit"),
    path("customers/<int:pk>/phones/", views.phone_add, name="phone_add"),
    path("customers/phones/<int:pk>/delete/", views.phone_remove, name="phone_remove"),
    path("customers/<int:pk>/addresses/", views.address_add, name="address_add"),
    path("customers/addresses/<int:pk>/delete/", views.address_remove, name="address_remove"),
    path("customers/<int:pk>/contacts/", views.contact_add, name="contact_add"),
    path("customers/contacts/<int:pk>/", views.contact_edit, name="contact_edit"),
    path("customers/<int:pk>/tags/", views.tag_assign, name="tag_assign"),
    path("customers/<int:pk>/follow-ups/", views.customer_activity_add, name="customer_activity_add"),
    path("customers/<int:pk>/contracts/new/", views.contract_create, name="contract_create"),
    path("customers/<int:pk>/opportunities/new/", views_sales.opportunity_create, name="opportunity_create"),
    path("customers/tags/", views.tag_list, name="tags"),
    path("customers/duplicates/", views.duplicate_list, name="duplicates"),
    path("customers/duplicates/<int:pk>/dismiss/", views.duplicate_dismiss, name="duplicate_dismiss"),
    path("customers/merge/", views.merge, name="merge"),
    path("contracts/", views.contract_list, name="contracts"),
    path("contracts/<int:pk>/", views.contract_detail, name="contract_detail"),
    path("sales/", views_sales.workspace, name="workspace"),
    path("sales/leads/", views_sales.lead_list, name="leads"),
    path("sales/leads/new/", views_sales.lead_create, name="lead_create"),
    path("sales/leads/<int:pk>/", views_sales.lead_detail, name="lead_detail"),
    path("sales/pipeline/", views_sales.pipeline, name="pipeline"),
    path("sales/opportunities/<int:pk>/", views_sales.opportunity_detail, name="opportunity_detail"),
    path("sales/opportunities/<int:pk>/move/", views_sales.opportunity_move, name="opportunity_move"),
    path("sales/follow-ups/<int:pk>/done/", views_sales.activity_done, name="activity_done"),
    path("sales/teams/", views_sales.team_list, name="teams"),
    path("sales/teams/new/", views_sales.team_edit, name="team_create"),
    path("sales/teams/<int:pk>/", views_sales.team_edit, name="team_edit"),
    path("customers/<int:pk>/churn/", views_retention.customer_churn_history, name="customer_churn"),
    path("retention/", views_retention.retention_list, name="retention"),
    path("retention/<int:pk>/", views_retention.retention_task, name="retention_task"),
    path("retention/<int:pk>/close/", views_retention.retention_task_close, name="retention_task_close"),
    path("retention/<int:pk>/reassign/", views_retention.retention_task_reassign, name="retention_task_reassign"),
    *views_io.urlpatterns,
]

# Public pages (no login), outside the namespace's login-only area.
public_urlpatterns = [
    path("p/<slug:tenant_code>/lead/", views_sales.public_lead_form, name="lead_form"),
]
