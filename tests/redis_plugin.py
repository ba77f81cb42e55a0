"""Pytest plugin, loaded early (``-p tests.redis_plugin`` in pyproject.toml): a live Redis for the run.

pytest-django imports ``arena.settings`` in its ``pytest_load_initial_conftests`` hook, before any
conftest.py is imported, and settings read ``REDIS_URL`` at import time. So ``REDIS_URL`` is set here,
in the same hook marked ``tryfirst``: ``REDIS_URL`` if given, else the local server if it answers,
else an embedded one (stopped when the run ends); always on the test database (default /15).
"""

from __future__ import annotations

import os

import pytest

from launcher.redis_urls import redact
from launcher.testing import setup_test_redis, teardown_test_redis


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    setup_test_redis(os.environ)


def pytest_report_header(config: pytest.Config) -> str:
    return f"redis: {redact(os.environ.get('REDIS_URL', '(unset)'))}"


def pytest_unconfigure(config: pytest.Config) -> None:
    teardown_test_redis()
