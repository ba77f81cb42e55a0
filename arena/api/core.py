"""What every endpoint shares: input types, auth for writes, the body guard, and errors as JSON.

Reads are public. Writes need a signed-in session (with its CSRF token) or `Authorization: Token <key>`,
and count against the per-user write limit. Every refusal is a 4xx `{"error": "..."}` of bounded size.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security.apikey import APIKeyCookie, APIKeyHeader
from ninja.utils import check_csrf
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from arena.models import ApiToken
from arena.ratelimit import RateLimited, rate_hit

MAX_BODY = 64 * 1024
MAX_DEPTH = 32  # JSON nesting; real configs need 3
MAX_MESSAGE = 500  # characters of an error message: input is never echoed back in bulk
MAX_ID = 2**63 - 1  # the largest primary key PostgreSQL and SQLite store


class Error(Schema):
    error: str


class Input(Schema):
    """A JSON body: unknown fields refused, no type coercion ("1" is not an id)."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _clean(value: str) -> str:
    """Refuse what PostgreSQL cannot store in text: NUL, and lone surrogates (not encodable as UTF-8)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


def text(max_length: int, *, min_length: int = 0, pattern: str | None = None) -> Any:
    """A string type for input: bounded as its DB column, clean as above."""
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length, pattern=pattern),
        AfterValidator(_clean),
    ]


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Limit = Annotated[int, Field(ge=1, le=200, description="at most this many items")]
Offset = Annotated[int, Field(ge=0, le=10_000_000, description="skip this many items")]

ERRORS: dict[int, Any] = {400: Error, 404: Error}
WRITE_ERRORS: dict[int, Any] = {**ERRORS, 401: Error, 403: Error, 413: Error, 429: Error}
WRITE_DOCS: dict[str, Any] = {
    "responses": {
        "429": {
            "description": "too many writes; try again after Retry-After seconds",
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
        }
    }
}


# -------------------------------------------------------------------------------------------- input
def _walk_json(data: Any) -> None:
    """Refuse deep nesting and unstorable strings anywhere in a body, without recursion."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise HttpError(400, f"body nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            stack.extend((key, depth) for key in value)
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            try:
                _clean(value)
            except ValueError as exc:
                raise HttpError(400, f"a string in the body {exc}") from None


def guard_body(request: HttpRequest) -> None:
    """Size, parse and sanity-check a write's body before anything else reads it.

    Uploads are judged by Content-Length alone, so an oversized one is never parsed or spooled.
    A JSON body is parsed here, once, and the parser below hands ninja the result.
    """
    if request.content_type == "multipart/form-data":
        limit = 2 * settings.ARENA_CHECKPOINT_UPLOAD_MAX_BYTES + 2 * 1024 * 1024
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise HttpError(400, "bad Content-Length") from None
        if length > limit:
            raise HttpError(413, f"upload over {limit} bytes")
        return
    if len(request.body) > MAX_BODY:
        raise HttpError(413, f"request body over {MAX_BODY} bytes")
    if not request.body:
        return
    try:
        data = json.loads(request.body)
    except RecursionError:
        raise HttpError(400, f"body nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise HttpError(400, "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise HttpError(400, "body must be a JSON object")
    _walk_json(data)
    request._arena_json = data


class GuardedParser(Parser):
    """Reuses the body `guard_body` parsed and checked."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        if hasattr(request, "_arena_json"):
            return request._arena_json
        return json.loads(request.body)


# --------------------------------------------------------------------------------------------- auth
def _admit(request: HttpRequest, user, *, session: bool = False) -> Any:
    """An authenticated call by `user`: its body checked, then CSRF for a session, then the write limit.

    Identity comes first, so an anonymous caller gets its 401 whatever it sent; the body guard comes
    before the CSRF check, which may read a form body.
    """
    guard_body(request)
    if session and check_csrf(request) is not None:
        raise HttpError(403, "CSRF check failed: send the csrftoken cookie's value in X-CSRFToken")
    request.user = user
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return user
    rate_hit(scope="api-write", ident=str(user.pk), limit=settings.ARENA_RATE_API_WRITES, what="API writes")
    return user


class TokenAuth(APIKeyHeader):
    """`Authorization: Token <key>`, from POST /api/tokens; dies with a password change."""

    param_name = "Authorization"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if not key or not key.startswith("Token "):
            return None
        token = ApiToken.objects.select_related("user").filter(key_hash=ApiToken.hash_key(key[6:].strip()))
        token = token.first()
        if token is None or not token.user.is_active or token.outlived_password():
            raise AuthenticationError(401, "invalid API token")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return _admit(request, token.user)


class SessionAuth(APIKeyCookie):
    """The browser's session; its writes must carry the CSRF token. Anonymous callers get a 401."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if not request.user.is_authenticated:
            return None
        return _admit(request, request.user, session=True)


WRITE_AUTH = [TokenAuth(), SessionAuth()]


Owner = Annotated[
    text(150), Field(description="a username; `me`: the caller's own (needs a session or an API token)")
]


def owner_name(request: HttpRequest, owner: str | None) -> str | None:
    """The username a list's `owner` filter names: `me` is the caller, who must then be known (401)."""
    if owner != "me":
        return owner
    if not request.user.is_authenticated:
        header = request.headers.get("Authorization")
        user = TokenAuth().authenticate(request, header) if header else None
        if user is None:
            raise AuthenticationError(401, "owner=me needs a signed-in session or an API token")
    return request.user.username


def owned_page(request: HttpRequest, rows: QuerySet, filters: Schema, *, owner_field: str) -> QuerySet:
    """One page of a list of owned things: `filters`' game, status and owner (the username of
    `owner_field`; `me`: the caller), then its offset and limit."""
    if filters.game:
        rows = rows.filter(game__name=filters.game)
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.owner:
        rows = rows.filter(**{f"{owner_field}__username": owner_name(request, filters.owner)})
    return rows[filters.offset : filters.offset + filters.limit]


# ------------------------------------------------------------------------------------------- errors
def _bounded(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def _validation_message(errors: list[dict[str, Any]]) -> str:
    """`field: what is wrong` per error, leaving out the (possibly huge) input itself."""
    parts = []
    for error in errors[:5]:
        where = ".".join(
            str(p) for p in error.get("loc", ()) if p not in ("body", "payload", "query", "path")
        )
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid")))
    return "; ".join(parts)


def install_error_handlers(api: NinjaAPI) -> None:
    """Every refusal becomes `{"error": ...}` with its 4xx status."""

    def reply(request: HttpRequest, status: int, message: str) -> HttpResponse:
        return api.create_response(request, {"error": _bounded(message)}, status=status)

    def rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
        response = reply(request, 429, "; ".join(exc.messages))
        response["Retry-After"] = str(exc.retry_after)
        return response

    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        message = exc.message if exc.message != "Unauthorized" else ""
        return reply(request, 401, message or "sign in or send an API token to change anything")

    handlers = {
        RateLimited: rate_limited,
        AuthenticationError: unauthenticated,
        HttpError: lambda request, exc: reply(request, exc.status_code, str(exc)),
        NinjaValidationError: lambda request, exc: reply(request, 400, _validation_message(exc.errors)),
        DjangoValidationError: lambda request, exc: reply(request, 400, "; ".join(exc.messages)),
        PermissionDenied: lambda request, exc: reply(request, 403, str(exc) or "forbidden"),
        ObjectDoesNotExist: lambda request, exc: reply(request, 404, "not found"),
    }
    for kind, handler in handlers.items():
        api.add_exception_handler(kind, handler)
