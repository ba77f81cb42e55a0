"""The JSON API on django-ninja: inputs validated by the same types that write /api/openapi.json.

One router per domain; `core` holds what they share (auth, the body guard, error replies).
"""

from __future__ import annotations

from ninja import NinjaAPI

from arena.api import agents, checkpoints, games, leagues, matches, ratings, runs, tokens, tournaments
from arena.api.core import GuardedParser, install_error_handlers

api = NinjaAPI(
    title="Arena API",
    version="1",
    description="Reads are public. Writes need a signed-in session (with its CSRF token) or "
    "`Authorization: Token <key>` from POST /api/tokens, and are limited per user (429 with Retry-After).",
    urls_namespace="api",
    docs_url=None,
    parser=GuardedParser(),
)
install_error_handlers(api)
for module in (games, agents, checkpoints, runs, matches, tournaments, ratings, leagues, tokens):
    api.add_router("", module.router)
