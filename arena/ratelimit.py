"""Fixed-window rate limits kept in the Redis cache, shared by every web and worker process.

A limit is `count` events per `window` seconds for one key (a user, or an IP plus a username). The
window counter is created with its expiry on the first event, so a key never outlives its window.
If the cache is unreachable the limit fails open: refusing every login because Redis blinked would
turn a cache outage into a site outage, and the other defences (CSRF, auth, per-user run caps) stand.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.core.cache import cache
from django.core.exceptions import ValidationError

logger = logging.getLogger(__name__)


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
        return int(cache.get(key) or 0)
    except Exception:
        logger.warning("rate limit %s: cache unreachable; not limiting", scope, exc_info=True)
        return 0


def rate_hit(*, scope: str, ident: str, limit: int, window: int = 60, what: str = "requests") -> None:
    """Count one event; raise RateLimited if it goes over `limit` in this window."""
    key, retry_after = _key(scope, ident, window)
    try:
        count = 1 if cache.add(key, 1, timeout=window + 1) else cache.incr(key)
    except ValueError:  # expired between add and incr: this is the window's first event again
        cache.set(key, 1, timeout=window + 1)
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
