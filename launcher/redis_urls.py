"""Redis URLs: check one, print one without its password, pick a database, ask a server for PING.

Standard library and ``redis`` only: this runs before (and without) Django being configured.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

VALID_SCHEMES = ("redis", "rediss", "unix")
PROBE_TIMEOUT_S = 0.5


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``, safe to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def validate_redis_url(url: str, *, name: str = "REDIS_URL") -> str:
    """Return ``url`` stripped if it is a usable Redis URL; raise ``ValueError`` saying why not."""
    url = url.strip()
    expected = "expected redis://[:password@]host:port/db, rediss://... (TLS) or unix:///path/to/redis.sock"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a non-numeric or out-of-range port
    except ValueError as exc:
        raise ValueError(f"{name}={redact(url)!r} is not a valid URL ({exc}); {expected}") from None
    scheme = parts.scheme.lower()
    if scheme not in VALID_SCHEMES:
        raise ValueError(f"{name}={redact(url)!r} has scheme {scheme or '(none)'!r}; {expected}")
    if scheme == "unix" and not parts.path:
        raise ValueError(f"{name}={redact(url)!r} names no socket path; {expected}")
    if scheme != "unix" and not parts.hostname:
        raise ValueError(f"{name}={redact(url)!r} names no host; {expected}")
    return url


def with_db(url: str, db: int) -> str:
    """The same server with database number ``db`` (``/db`` for TCP, ``?db=`` for unix sockets)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "db"] + [("db", str(db))]
        # urlunsplit would drop the empty authority and write "unix:/path"; keep "unix:///path".
        return f"unix://{parts.netloc}{parts.path}?{urlencode(query)}"
    return urlunsplit(parts._replace(path=f"/{db}"))


def ping(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True if a Redis server at ``url`` answers PING within about ``timeout`` seconds."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()
