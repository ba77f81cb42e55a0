"""ASGI middleware that refuses a request body over its route's limit before anything reads it.

Django checks `DATA_UPLOAD_MAX_MEMORY_SIZE` only after the server has received the body and the
handler has spooled it, so one anonymous 300 MB POST could hold the event loop and hundreds of MB
of memory. Here, outermost in `arena.asgi`:
- a declared `Content-Length` over the limit is answered 413 at once, without one `receive()`;
- a streamed body (chunked, no length) is counted as the app reads it and cut off with 413 at the
  limit, so at most `limit` bytes are ever held.
The server must stream bodies to the app (uvicorn does; daphne buffers every body before it calls
the app, which is why `make run` serves with uvicorn).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(Exception):
    """Raised inside `receive` when a streamed body passes its limit."""


def route_limit(path: str, *, default: int, upload: int, upload_routes: list[re.Pattern[str]]) -> int:
    """The body limit for a path: `upload` for the checkpoint import routes, else `default`."""
    return upload if any(pattern.fullmatch(path) for pattern in upload_routes) else default


class BodyLimitMiddleware:
    """Wrap an ASGI app; `limit_for(path)` gives the largest body in bytes that a path accepts."""

    def __init__(self, app: ASGIApp, *, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared == -1:
            await _refuse(send, 400, "Content-Length is not a number")
            return
        if declared is not None and declared > limit:
            await _refuse(send, 413, f"request body over {limit} bytes")
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _refuse(send, 413, f"request body over {limit} bytes")


def _content_length(scope: Scope) -> int | None:
    """The declared body length; None when absent; -1 when it is not a non-negative integer."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 19 else -1
    return None


async def _refuse(send: Send, status: int, reason: str) -> None:
    body = f'{{"error": "{reason}"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
