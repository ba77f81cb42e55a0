"""A live Redis for a test run, found like ``make run`` finds one, on a database of its own.

Used by ``tests/redis_plugin.py`` and ``tests/conftest.py``, before Django settings are read.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

from launcher.redis_server import REPO_ROOT, ResolvedRedis, resolve_redis
from launcher.redis_urls import with_db

TEST_DB_DEFAULT = 15
TEST_DATA_DIR = REPO_ROOT / "var" / "redis-test"
_test_redis: ResolvedRedis | None = None


def setup_test_redis(environ: MutableMapping[str, str] = os.environ) -> str:
    """Point ``REDIS_URL`` at a live Redis, database ``ARENA_TEST_REDIS_DB`` (default 15), for a test run.

    Idempotent. Uses its own embedded data dir (``var/redis-test``) so a test run never stops the
    server of a running ``make run``. Call :func:`teardown_test_redis` at the end.
    """
    global _test_redis
    if _test_redis is not None:
        return environ["REDIS_URL"]
    raw_db = environ.get("ARENA_TEST_REDIS_DB", str(TEST_DB_DEFAULT))
    try:
        db = int(raw_db)
    except ValueError:
        raise ValueError(f"ARENA_TEST_REDIS_DB={raw_db!r} is not a database number") from None
    _test_redis = resolve_redis(environ, data_dir=TEST_DATA_DIR)
    url = with_db(_test_redis.url, db)
    environ["REDIS_URL"] = url
    return url


def teardown_test_redis() -> None:
    """Stop the embedded server :func:`setup_test_redis` started, if it started one."""
    global _test_redis
    if _test_redis is not None:
        _test_redis.stop()
        _test_redis = None
