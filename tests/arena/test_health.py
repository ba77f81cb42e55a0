"""/healthz answers for the database and Redis."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_health_check_reports_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}
