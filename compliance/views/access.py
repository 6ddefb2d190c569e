"""The personal-data access log (auditors and tenant admins)."""
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import path

from tenancy.models import User
from tenancy.views import perm_required

from ..forms import AccessLogFilterForm
from ..selectors.access import access_log_list


@perm_required("compliance.view_access_log")
def access_log(request):
    form = AccessLogFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    actor_id = None
    if filters.get("actor"):
        found = User.objects.filter(username__iexact=filters["actor"]).values_list("pk", flat=True).first()
        actor_id = found or -1
    qs = access_log_list(
        action=filters.get("action") or None, actor_id=actor_id,
        target_type=filters.get("target_type") or None, target_id=filters.get("target_id"),
        date_from=filters.get("date_from"), date_to=filters.get("date_to"),
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "compliance/access_log.html",
                  {"form": form, "page": page, "query": query.urlencode()})


urlpatterns = [
    path("access-log/", access_log, name="access_log"),
]
