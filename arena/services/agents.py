"""Agents: created, changed and deleted by their owner alone."""

from __future__ import annotations

import shutil

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from arena.models import Agent, LeagueMember, MatchSeat, Player, TournamentEntry
from arena.services.games import game_get
from marl.errors import MarlError
from marl.fastgames import fast_game
from marl.games import get_game

DEFAULT_NETWORK = {"kind": "mlp", "hidden": [128, 128]}


def agent_create(
    *,
    owner,
    game: str,
    name: str,
    algorithm: str = "dqn",
    network: dict | None = None,
    seat: str = "",
    description: str = "",
) -> Agent:
    """Create an agent for `game`. Raises ValidationError with a message on bad input."""
    game_row = game_get(game)
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationError("name must be 1 to 80 characters")
    if algorithm not in dict(Agent.ALGORITHMS):
        raise ValidationError(f"unknown algorithm {algorithm!r} (known: {', '.join(dict(Agent.ALGORITHMS))})")
    if seat and seat not in game_row.seats:
        raise ValidationError(f"seat {seat!r} is not a seat of {game} (seats: {', '.join(game_row.seats)})")
    if algorithm == "az":
        _check_az(game, seat)
    if algorithm == "mccfr":
        network = _mccfr_table(game, seat, network)
    else:
        network = network or dict(DEFAULT_NETWORK)
        _check_network(game, network)
    if Agent.objects.filter(owner=owner, name=name).exists():
        raise ValidationError(f"you already have an agent called {name!r}")
    return Agent.objects.create(
        owner=owner,
        game=game_row,
        name=name,
        algorithm=algorithm,
        network=network,
        seat=seat,
        description=description,
    )


def _check_az(game: str, seat: str) -> None:
    """az is expert iteration by self-play on a fast game core: one network for every seat."""
    if seat:
        raise ValidationError("an az agent learns every seat by self-play: leave its seat empty")
    try:
        fast_game(game)
    except MarlError:
        raise ValidationError(f"az needs a fast game core, and {game} has none") from None


def _mccfr_table(game: str, seat: str, network: dict | None) -> dict:
    """mccfr learns a table over a poker game's information states by self-play, for every seat."""
    from marl.regret import check_table_spec  # lazy: OpenSpiel

    if seat:
        raise ValidationError("an mccfr agent learns every seat by self-play: leave its seat empty")
    try:
        return check_table_spec(game, network)
    except MarlError as exc:
        raise ValidationError(str(exc)) from None


def _check_network(game: str, network: dict) -> None:
    """Check the spec for the game's shapes and count its weights without building it, so a bad or
    oversized spec is refused before anything is stored or allocated."""
    from marl.nets import network_parameters  # lazy: torch

    spec = get_game(game)
    try:
        weights = network_parameters(network, spec.obs_shape, spec.n_actions)
    except MarlError as exc:
        raise ValidationError(str(exc)[:300]) from None
    if weights > settings.ARENA_MAX_NETWORK_PARAMETERS:
        raise ValidationError(
            f"that network has {weights:,} weights; the limit is {settings.ARENA_MAX_NETWORK_PARAMETERS:,}"
        )


def agent_check_owner(*, agent: Agent, user) -> None:
    if not user.is_authenticated or agent.owner_id != user.pk:
        raise PermissionDenied("only the agent's owner may do that")


def agent_delete(*, user, agent_id: int) -> str:
    """Delete an agent, its runs and checkpoints (files too); owners only, not while it trains.

    An agent whose checkpoints have played is archived instead ("archived"): the matches, tournaments
    and ratings it took part in stay whole, and nobody can make an agent undeletable by playing it.
    Returns "deleted" or "archived".
    """
    with transaction.atomic():
        agent = Agent.objects.select_for_update().get(pk=agent_id)
        agent_check_owner(agent=agent, user=user)
        if agent.training_runs.filter(status__in=("queued", "running")).exists():
            raise ValidationError("cancel the agent's training runs first")
        if _has_played(agent):
            agent.archived_at = timezone.now()
            agent.save(update_fields=["archived_at"])
            LeagueMember.objects.filter(agent=agent).delete()
            return "archived"
        directory = settings.MEDIA_ROOT / "agents" / str(agent.pk)
        agent.delete()
    shutil.rmtree(directory, ignore_errors=True)
    return "deleted"


def _has_played(agent: Agent) -> bool:
    players = Player.objects.filter(checkpoint__agent=agent)
    return (
        MatchSeat.objects.filter(player__in=players).exists()
        or TournamentEntry.objects.filter(player__in=players).exists()
    )


def agent_check_active(*, agent: Agent) -> None:
    """Refuse new games and runs for an archived agent."""
    if agent.archived_at is not None:
        raise ValidationError(f"{agent.name} is archived: it keeps its history but plays and trains no more")
