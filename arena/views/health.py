"""`/healthz`: the database and Redis answer, for load balancers and compose health checks."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # report, never raise: a health check must answer
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        cache.set("healthz", 1, timeout=5)
        checks["redis"] = "ok" if cache.get("healthz") == 1 else "error: no round trip"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unhealthy", **checks}, status=200 if healthy else 503
    )
