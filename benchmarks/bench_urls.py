"""The project's URLs plus two comparison views:

- `bench/bare-branches/`: the same 50 branches as `GET /api/v1/branches/?page_size=50` (newest id
  first, same fields), from a plain function view with one raw query. It sets the tenant for
  row-level security and nothing else: no token, no membership, no permission check, no DRF. The
  floor the scoped endpoint is compared with (bench_api_list).
- `bench/ping/`: a constant JSON answer without any database access (called without cookie or
  token, the middleware stack touches neither the database nor Redis): the server's ceiling for
  one request (bench_tickets compares the queue API with it)."""
from django.db import connection, transaction
from django.http import HttpResponseBadRequest, JsonResponse
from django.urls import path

from courier_crm.urls import urlpatterns as project_urlpatterns

PAGE = 50
FIELDS = ["id", "code", "name", "kind", "parent", "path", "province", "city", "is_active", "staff_count"]
BARE_SQL = """
SELECT b.id, b.code, b.name, b.kind, b.parent_id, b.path, b.province, b.city, b.is_active,
       COUNT(m.id) FILTER (WHERE m.is_active) AS staff_count
FROM tenancy_branch b
LEFT JOIN tenancy_membership m ON m.branch_id = b.id
WHERE b.tenant_id = %s
GROUP BY b.id
ORDER BY b.id DESC
LIMIT %s
"""


def bare_branches(request):
    tenant = request.GET.get("tenant", "")
    if not tenant.isdigit():
        return HttpResponseBadRequest("?tenant=<id> is required")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [tenant])
        cursor.execute(BARE_SQL, [int(tenant), PAGE])
        rows = cursor.fetchall()
    return JsonResponse({"results": [dict(zip(FIELDS, row, strict=True)) for row in rows]})


def ping(request):
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/bare-branches/", bare_branches, name="bench-bare-branches"),
    path("bench/ping/", ping, name="bench-ping"),
    *project_urlpatterns,
]
