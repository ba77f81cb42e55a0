"""The browsable lists (`/agents/`, `/matches/`, `/runs/`): one query per list with a GET search and
a "mine" or "all" scope, paginated by Django's Paginator. Reads only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from arena.models import Agent, Match, Player, TrainingRun

PAGE_SIZE = 25
SEARCH_MAX = 100  # longer text is cut: a search box, not a query language


@dataclass(frozen=True)
class Listing:
    """What a list page shows: the page of rows, the search text, the scope, and the links' query."""

    page: Page
    q: str
    scope: str  # "mine" or "all"
    query: str  # the search and scope as a query string, for the pager's links


def _scope(request: HttpRequest) -> str:
    """ "mine" for a signed-in user unless `?scope=all`; strangers always see all."""
    if not request.user.is_authenticated:
        return "all"
    return "all" if request.GET.get("scope") == "all" else "mine"


def listing(request: HttpRequest, rows_for: Callable[..., QuerySet]) -> Listing:
    """Page `?page=` of `rows_for(q=..., user=...)` for this request's search and scope (a malformed
    or out-of-range page number gives the nearest real page)."""
    q, scope = request.GET.get("q", "").strip()[:SEARCH_MAX], _scope(request)
    rows = rows_for(q=q, user=request.user if scope == "mine" else None)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({key: value for key, value in (("q", q), ("scope", scope)) if value})
    return Listing(page=page, q=q, scope=scope, query=query)


def agents_listed(*, q: str, user: Any | None) -> QuerySet[Agent]:
    """Active agents, newest first; of `user` if given; matching `q` in name, game or owner."""
    agents = Agent.objects.active().select_related("game", "owner").order_by("-created_at", "-pk")
    if user is not None:
        agents = agents.filter(owner=user)
    if q:
        agents = agents.filter(
            Q(name__icontains=q)
            | Q(game__name__icontains=q)
            | Q(game__title__icontains=q)
            | Q(owner__username__icontains=q)
        )
    return agents


def _match_terms(q: str) -> Q:
    """A match is found by its number (`12` or `#12`), its game, an agent's name, a bot or a person."""
    terms = (
        Q(game__name__icontains=q)
        | Q(game__title__icontains=q)
        | Q(seats__player__checkpoint__agent__name__icontains=q)
        | Q(seats__player__bot__icontains=q)
        | Q(seats__player__user__username__icontains=q)
        | Q(status__iexact=q)
    )
    number = q.removeprefix("#")
    return terms | Q(pk=int(number)) if number.isdigit() else terms


def matches_listed(*, q: str, user: Any | None) -> QuerySet[Match]:
    """Matches, newest first; those `user` created, played in, or whose agents played; matching `q`."""
    matches = Match.objects.select_related("game").prefetch_related(
        "seats__player__checkpoint__agent", "seats__player__user"
    )
    if user is not None:
        matches = matches.filter(
            Q(created_by=user)
            | Q(seats__player__kind=Player.HUMAN, seats__player__user=user)
            | Q(seats__player__checkpoint__agent__owner=user)
        )
    if q:
        matches = matches.filter(_match_terms(q))
    ids = matches.values("pk")  # the joins above repeat a match once per seat
    return (
        Match.objects.filter(pk__in=ids)
        .select_related("game")
        .prefetch_related("seats__player__checkpoint__agent", "seats__player__user")
        .order_by("-created_at", "-pk")
    )


def runs_listed(*, q: str, user: Any | None) -> QuerySet[TrainingRun]:
    """Training runs, newest first; of `user`'s agents if given; matching `q` in agent, game or status."""
    runs = TrainingRun.objects.select_related("agent__game", "agent__owner").order_by("-created_at", "-pk")
    if user is not None:
        runs = runs.filter(agent__owner=user)
    if q:
        runs = runs.filter(
            Q(agent__name__icontains=q)
            | Q(agent__game__name__icontains=q)
            | Q(status__iexact=q.replace(" ", "_"))
        )
    return runs
