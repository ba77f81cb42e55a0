"""Fixed-window rate limits kept in the Redis cache, shared by every web and worker process.

A limit is `count` events per `window` seconds for one key (a user, or an IP plus a username). The
key names its window and each event sets its expiry a window ahead, so no key outlives the window
after its own by more than a second.
If the cache is unreachable the limit fails open: refusing every login because Redis blinked would
turn a cache outage into a site outage, and the other defences (CSRF, auth, per-user run caps) stand.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time

import redis
from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ValidationError

logger = logging.getLogger(__name__)

_shared: tuple[tuple[int, int], BaseCache, redis.Redis | None] | None = None
_shared_lock = threading.Lock()


def _clients() -> tuple[BaseCache, redis.Redis | None]:
    """The default cache and, when it is Redis, a client on its server: one of each per process.

    `django.core.cache.cache` is one per async context, so each socket of a web process opened a Redis
    connection of its own for its first move (redis-py's set-up reads package metadata: it measured
    more than the rest of the move), and every call builds a new client object besides."""
    global _shared
    key = (os.getpid(), id(settings.CACHES))  # a fork, or settings overridden in a test: new ones
    with _shared_lock:
        if _shared is None or _shared[0] != key:
            cache = caches.create_connection(DEFAULT_CACHE_ALIAS)
            location = settings.CACHES[DEFAULT_CACHE_ALIAS].get("LOCATION")
            if isinstance(location, list | tuple):
                location = location[0]
            client = redis.Redis.from_url(location) if isinstance(cache, RedisCache) else None
            _shared = (key, cache, client)
        return _shared[1], _shared[2]


def _incr(key: str, timeout: int) -> int:
    """Count one event under `key`: INCR and EXPIRE in one round trip on Redis (the key names its
    window, so pushing its expiry on with each event still drops it a moment after the window)."""
    cache, client = _clients()
    if client is None:  # another cache backend: its own add-then-incr
        return 1 if cache.add(key, 1, timeout=timeout) else cache.incr(key)
    name = cache.make_key(key)  # the cache's own key, so `cache.get` reads the count (a plain integer)
    pipe = client.pipeline(transaction=False)
    pipe.incr(name)
    pipe.expire(name, timeout)
    count, _ = pipe.execute()
    return int(count)


class RateLimited(ValidationError):
    """Too many requests: a ValidationError, so forms show it; the API answers 429 with Retry-After."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _key(scope: str, ident: str, window: int) -> tuple[str, int]:
    now = int(time.time())
    slot = now // window
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]  # usernames/IPs never land in Redis raw
    return f"arena:rl:{scope}:{digest}:{slot}", window - now % window


def rate_count(*, scope: str, ident: str, window: int = 60) -> int:
    """How many events `ident` had in the current window of `scope` (0 when the cache is down)."""
    key, _ = _key(scope, ident, window)
    try:
        return int(_clients()[0].get(key) or 0)
    except Exception:
        logger.warning("rate limit %s: cache unreachable; not limiting", scope, exc_info=True)
        return 0


def rate_hit(*, scope: str, ident: str, limit: int, window: int = 60, what: str = "requests") -> None:
    """Count one event; raise RateLimited if it goes over `limit` in this window."""
    key, retry_after = _key(scope, ident, window)
    try:
        count = _incr(key, window + 1)
    except ValueError:  # another backend's key expired between add and incr: the window's first event
        _clients()[0].set(key, 1, timeout=window + 1)
        count = 1
    except Exception:
        logger.warning("rate limit %s: cache unreachable; not limiting", scope, exc_info=True)
        return
    if count > limit:
        raise RateLimited(
            f"too many {what}: at most {limit} per {window} s; try again in {retry_after} s",
            retry_after=retry_after,
        )


def rate_check(*, scope: str, ident: str, limit: int, window: int = 60, what: str = "requests") -> None:
    """Raise RateLimited if `ident` already used up `limit` in this window (counts nothing)."""
    if rate_count(scope=scope, ident=ident, window=window) >= limit:
        _, retry_after = _key(scope, ident, window)
        raise RateLimited(
            f"too many {what}: at most {limit} per {window} s; try again in {retry_after} s",
            retry_after=retry_after,
        )


def client_ip(request) -> str:
    """The client's address; behind a proxy named in `ARENA_TRUSTED_PROXIES`, the one it forwarded."""
    from arena.identity import client_address

    return client_address(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR"))
