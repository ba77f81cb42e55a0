"""schemathesis drives the live API from its own OpenAPI schema: no input gets a 500, and nobody
without credentials changes anything.

The operations are walked by hand rather than through schemathesis's pytest plugin, which does not run
under pytest 9 (it reads a removed private attribute of test items).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.factories import AgentFactory, UserFactory

pytestmark = pytest.mark.e2e

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
FUZZ = settings(max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def _operations(server: str) -> list:
    schema = schemathesis.openapi.from_url(f"{server}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, "the schema lost operations"
    return operations


def _fuzz(operation, check, headers: dict[str, str] | None = None) -> None:
    @FUZZ
    @given(case=operation.as_strategy())
    def run(case) -> None:
        check(case, case.call(headers=headers))

    run()


def test_anonymous_requests_never_get_a_500_or_change_anything(server: str):
    from arena.models import Agent, Match, TrainingRun

    def check(case, response) -> None:
        assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
        if case.method.upper() in WRITES:
            assert response.status_code in (401, 403, 404, 405), (
                case.method,
                case.path,
                response.status_code,
            )

    for operation in _operations(server):
        _fuzz(operation, check)
    assert not Agent.objects.exists() and not TrainingRun.objects.exists() and not Match.objects.exists()


def test_signed_in_requests_never_get_a_500(server: str):
    from arena.models import ApiToken

    user = UserFactory(username="fuzzer")
    AgentFactory(owner=user, name="fuzz-target")  # something real for ids to hit
    headers = {"Authorization": f"Token {ApiToken.issue(user=user)[1]}"}

    def check(case, response) -> None:
        assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])

    for operation in _operations(server):
        _fuzz(operation, check, headers)
