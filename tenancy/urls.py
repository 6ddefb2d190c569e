from django.contrib.auth import views as auth_views
from django.urls import path

from . import views, views_jobs

app_name = "tenancy"

urlpatterns = [
    path("manage/users/", views.member_list, name="members"),
    path("manage/users/new/", views.member_create, name="member_create"),
    path("manage/users/add-existing/", views.member_add_existing, name="member_add_existing"),
    path("manage/users/<int:pk>/", views.member_edit, name="member_edit"),
    path("manage/users/<int:pk>/password/", views.member_password, name="member_password"),
    path("manage/users/<int:pk>/two-factor/reset/", views.member_two_factor_reset, name="member_two_factor_reset"),
    path("me/two-factor/disable/", views.two_factor_disable, name="two_factor_disable"),
    path("branches/", views.branch_list, name="branches"),
    path("manage/branches/new/", views.branch_create, name="branch_create"),
    path("manage/branches/<int:pk>/", views.branch_edit, name="branch_edit"),
    path("me/", views.profile, name="profile"),
    path("me/api-tokens/", views.api_tokens, name="api_tokens"),
    path("manage/rules/", views.rules, name="rules"),
    path("me/notifications/", views.notifications, name="notifications"),
    path("me/notifications/badge/", views.notifications_badge, name="notifications_badge"),
    path("me/api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("pii/<str:model_label>/<int:pk>/<str:field>/reveal/", views.reveal, name="reveal"),
    path("jobs/", views_jobs.jobs, name="jobs"),
    path("jobs/panel/", views_jobs.jobs_panel, name="jobs_panel"),
    path("jobs/dead-letters/<int:pk>/<str:action>/", views_jobs.dead_letter_action, name="dead_letter_action"),
]

# Top-level names used by settings (LOGIN_URL, LOGIN_REDIRECT_URL) live outside the namespace.
root_urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("switch-tenant/", views.switch_tenant, name="switch_tenant"),
    path("two-factor/setup/", views.two_factor_setup, name="two_factor_setup"),
    path("two-factor/verify/", views.two_factor_verify, name="two_factor_verify"),
]
