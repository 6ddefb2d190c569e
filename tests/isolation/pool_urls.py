"""The project's routes plus one probe that reports what a pooled connection carries before any
tenant scope is entered (an anonymous request enters none)."""
from django.db import connection
from django.http import JsonResponse
from django.urls import path

from courier_crm.urls import urlpatterns as project_urlpatterns


def connection_probe(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('app.tenant_id', true), current_setting('app.user_id', true), "
                       "pg_backend_pid()")
        tenant, user, pid = cursor.fetchone()
    return JsonResponse({"tenant": tenant, "user": user, "pid": pid})


urlpatterns = [path("_probe/connection/", connection_probe), *project_urlpatterns]
