"""The JSON API: agents, checkpoints, training runs, matches and ratings, described at /api/openapi.json.

Reads are public. Writes need a signed-in session (with its CSRF token) or `Authorization: Token <key>`.
Bad input gets a 4xx with `{"error": "..."}`, never a 500.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import HttpRequest, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from arena.api_schema import openapi_schema
from arena.models import Agent, ApiToken, Checkpoint, Game, Match, Rating, TrainingRun
from arena.ratelimit import RateLimited, rate_hit
from arena.serializers import agent_json, checkpoint_json, match_json, rating_json, run_json
from arena.services import agents as agent_services
from arena.services import matches as match_services
from arena.services import training as training_services
from arena.services.checkpoints import checkpoint_import

MAX_BODY = 64 * 1024


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _authenticate(request: HttpRequest) -> None:
    """Token auth for scripts; otherwise the session, whose writes must carry a CSRF token."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Token "):
        token = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=ApiToken.hash_key(header[6:].strip()))
            .first()
        )
        if token is None or not token.user.is_active:
            raise ApiError(401, "invalid API token")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        request.user = token.user
        return
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        reason = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
        if reason is not None:
            raise ApiError(403, "CSRF check failed: send the csrftoken cookie's value in X-CSRFToken")


def _upload_check(request: HttpRequest) -> None:
    """Refuse an oversized multipart upload by its Content-Length, before anything parses (or spools) it."""
    limit = 2 * settings.ARENA_CHECKPOINT_UPLOAD_MAX_BYTES + 2 * 1024 * 1024
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApiError(400, "bad Content-Length") from None
    if length > limit:
        raise ApiError(413, f"upload over {limit} bytes")


def _body(request: HttpRequest) -> dict[str, Any]:
    if request.content_type == "multipart/form-data":  # uploads: the view reads request.FILES
        return {}
    if len(request.body) > MAX_BODY:
        raise ApiError(413, f"request body over {MAX_BODY} bytes")
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "body must be a JSON object")
    return data


def endpoint(methods: tuple[str, ...]) -> Callable:
    """Wrap a view: method check, auth for writes, JSON body, and errors mapped to 4xx responses."""

    def wrap(view: Callable) -> Callable:
        @csrf_exempt  # _authenticate enforces CSRF for session writes itself, and exempts token writes
        @functools.wraps(view)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
            if request.method not in methods:
                return _error(
                    405, f"method {request.method} not allowed here (allowed: {', '.join(methods)})"
                )
            try:
                if request.content_type == "multipart/form-data":
                    _upload_check(request)
                _authenticate(request)
                if request.method not in ("GET", "HEAD") and not request.user.is_authenticated:
                    raise ApiError(401, "sign in or send an API token to change anything")
                if request.method not in ("GET", "HEAD", "OPTIONS"):
                    rate_hit(
                        scope="api-write",
                        ident=str(request.user.pk),
                        limit=settings.ARENA_RATE_API_WRITES,
                        what="API writes",
                    )
                data = _body(request) if request.method in ("POST", "PUT", "PATCH") else {}
                result = view(request, data, *args, **kwargs)
            except ApiError as exc:
                return _error(exc.status, exc.message)
            except RateLimited as exc:
                response = _error(429, "; ".join(exc.messages))
                response["Retry-After"] = str(exc.retry_after)
                return response
            except ValidationError as exc:
                return _error(400, "; ".join(exc.messages))
            except PermissionDenied as exc:
                return _error(403, str(exc) or "forbidden")
            except ObjectDoesNotExist:
                return _error(404, "not found")
            if isinstance(result, JsonResponse):
                return result
            status = 201 if request.method == "POST" else 200
            return JsonResponse(result, status=status, safe=False)

        return inner

    return wrap


def _field(
    data: dict[str, Any],
    name: str,
    kind: type | tuple[type, ...],
    *,
    required: bool = True,
    default: Any = None,
) -> Any:
    if name not in data:
        if required:
            raise ApiError(400, f"missing field {name!r}")
        return default
    value = data[name]
    if isinstance(value, bool) and kind is not bool:
        raise ApiError(400, f"field {name!r} has the wrong type")
    if not isinstance(value, kind):
        raise ApiError(400, f"field {name!r} has the wrong type")
    return value


def _page(request: HttpRequest) -> tuple[int, int]:
    try:
        limit = min(200, max(1, int(request.GET.get("limit", 50))))
        offset = max(0, int(request.GET.get("offset", 0)))
    except ValueError:
        raise ApiError(400, "limit and offset must be integers") from None
    return offset, offset + limit


@endpoint(("GET",))
def api_index(request, data):
    return {"schema": "/api/openapi.json", "resources": ["games", "agents", "runs", "matches", "ratings"]}


@endpoint(("GET",))
def api_schema(request, data):
    return openapi_schema()


@endpoint(("GET",))
def game_list(request, data):
    return [
        {"name": g.name, "env_id": g.env_id, "title": g.title, "seats": g.seats} for g in Game.objects.all()
    ]


@endpoint(("GET", "POST"))
def agent_list(request, data):
    if request.method == "POST":
        network = _field(data, "network", dict, required=False)
        agent = agent_services.agent_create(
            owner=request.user,
            game=_field(data, "game", str),
            name=_field(data, "name", str),
            algorithm=_field(data, "algorithm", str, required=False, default="dqn"),
            network=network,
            seat=_field(data, "seat", str, required=False, default=""),
        )
        return agent_json(agent)
    start, end = _page(request)
    agents = Agent.objects.select_related("game", "owner").order_by("-created_at")
    if game := request.GET.get("game"):
        agents = agents.filter(game__name=game)
    return [agent_json(a) for a in agents[start:end]]


@endpoint(("GET", "DELETE"))
def agent_detail(request, data, pk: int):
    if request.method == "DELETE":
        agent_services.agent_delete(user=request.user, agent_id=pk)
        return {"deleted": pk}
    return agent_json(Agent.objects.select_related("game", "owner").get(pk=pk), detail=True)


@endpoint(("GET", "POST"))
def agent_checkpoints(request, data, pk: int):
    if request.method == "POST":  # multipart: weights, sidecar and optionally state
        checkpoint = checkpoint_import(
            user=request.user,
            agent_id=pk,
            weights=request.FILES.get("weights"),
            sidecar=request.FILES.get("sidecar"),
            state=request.FILES.get("state"),
        )
        return checkpoint_json(checkpoint)
    agent = Agent.objects.get(pk=pk)
    return [checkpoint_json(c) for c in agent.checkpoints.select_related("agent").order_by("seat", "version")]


@endpoint(("GET",))
def checkpoint_detail(request, data, pk: int):
    return checkpoint_json(Checkpoint.objects.select_related("agent").get(pk=pk))


@endpoint(("GET", "POST"))
def run_list(request, data):
    if request.method == "POST":
        run = training_services.training_run_create(
            user=request.user,
            agent_id=_field(data, "agent", int),
            config=_field(data, "config", dict, required=False, default={}),
        )
        return run_json(run)
    start, end = _page(request)
    runs = TrainingRun.objects.select_related("agent").order_by("-created_at")
    if status := request.GET.get("status"):
        runs = runs.filter(status=status)
    return [run_json(r) for r in runs[start:end]]


@endpoint(("GET",))
def run_detail(request, data, pk: int):
    return run_json(TrainingRun.objects.select_related("agent").get(pk=pk), detail=True)


@endpoint(("POST",))
def run_cancel(request, data, pk: int):
    TrainingRun.objects.get(pk=pk)
    return run_json(training_services.training_run_cancel(user=request.user, run_id=pk))


@endpoint(("GET", "POST"))
def match_list(request, data):
    if request.method == "POST":
        seed = _field(data, "seed", int, required=False)
        delay = _field(data, "move_delay", (int, float), required=False, default=0.0)
        match = match_services.match_create(
            user=request.user,
            game=_field(data, "game", str),
            seats=_field(data, "seats", dict),
            seed=seed,
            move_delay=delay,
            rated=_field(data, "rated", bool, required=False, default=True),
        )
        return match_json(match)
    start, end = _page(request)
    matches = Match.objects.select_related("game").prefetch_related("seats__player").order_by("-created_at")
    if status := request.GET.get("status"):
        matches = matches.filter(status=status)
    return [match_json(m) for m in matches[start:end]]


@endpoint(("GET",))
def match_detail(request, data, pk: int):
    return match_json(Match.objects.select_related("game").get(pk=pk), detail=True)


@endpoint(("GET",))
def rating_list(request, data, game: str):
    Game.objects.get(name=game)
    ratings = Rating.objects.filter(pool=game).select_related("player__checkpoint__agent", "player__user")
    return [rating_json(r) for r in ratings.order_by("-mu")]


@endpoint(("POST",))
def token_create(request, data):
    token, key = ApiToken.issue(
        user=request.user, name=_field(data, "name", str, required=False, default="default")
    )
    return {"id": token.pk, "name": token.name, "token": key}


urlpatterns = [
    path("", api_index, name="api_index"),
    path("openapi.json", api_schema, name="api_schema"),
    path("games", game_list, name="api_games"),
    path("agents", agent_list, name="api_agents"),
    path("agents/<int:pk>", agent_detail, name="api_agent"),
    path("agents/<int:pk>/checkpoints", agent_checkpoints, name="api_agent_checkpoints"),
    path("checkpoints/<int:pk>", checkpoint_detail, name="api_checkpoint"),
    path("runs", run_list, name="api_runs"),
    path("runs/<int:pk>", run_detail, name="api_run"),
    path("runs/<int:pk>/cancel", run_cancel, name="api_run_cancel"),
    path("matches", match_list, name="api_matches"),
    path("matches/<int:pk>", match_detail, name="api_match"),
    path("ratings/<slug:game>", rating_list, name="api_ratings"),
    path("tokens", token_create, name="api_tokens"),
]
