"""How agent-vs-agent games start and vary: an opening (random legal plies from the match seed, or one
given) and, optionally, moves sampled at a temperature instead of the greedy ones.

Two fixed greedy checkpoints would otherwise play the same game every time, so a thousand games
would count as one. The opening goes into the match's stored moves (`Match.opening_plies` says how
many), so the worker, replays and the move list all rebuild the same game.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError

from arena.models import Game
from marl.agents import Agent, PolicyAgent, SoftmaxAgent
from marl.errors import MarlError
from marl.match import MatchState, opening_for_seed

MAX_OPENINGS = 1000
MAX_TEMPERATURE = 10.0


def opening_choose(
    *, game: Game, seed: int, plies: int | None = None, opening: Sequence[int] | None = None
) -> list[int]:
    """The opening a game starts from: `opening` when given (checked), else `plies` random legal plies
    from `seed` (the game's default number when None; 0 for none)."""
    if opening is not None:
        return opening_check(game=game, opening=opening)
    try:
        return opening_for_seed(game.name, seed, plies)
    except MarlError as exc:
        raise ValidationError(str(exc)) from None


def opening_check(*, game: Game, opening: Any) -> list[int]:
    """A given opening as action indices; refuses an illegal one or one that ends the game."""
    if not isinstance(opening, list | tuple) or not all(
        isinstance(a, int) and not isinstance(a, bool) for a in opening
    ):
        raise ValidationError(f"an opening is a list of action indices, got {opening!r}"[:300])
    try:
        with MatchState(game.name, 0, list(opening), opening_plies=len(opening)) as state:
            over = state.done
    except MarlError as exc:
        raise ValidationError(f"opening {list(opening)}: {exc}"[:300]) from None
    if over:
        raise ValidationError(f"opening {list(opening)} ends the game before the players move")
    return list(opening)


def openings_parse(*, game: Game, text: str) -> list[list[int]]:
    """Openings from a form: one per line, actions separated by commas (blank lines skipped)."""
    openings = []
    for number, line in enumerate(str(text).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            actions = [int(a) for a in line.replace(" ", "").split(",") if a != ""]
        except ValueError:
            raise ValidationError(
                f"opening line {number}: actions are integers separated by commas"
            ) from None
        openings.append(opening_check(game=game, opening=actions))
    if len(openings) > MAX_OPENINGS:
        raise ValidationError(f"at most {MAX_OPENINGS} openings")
    return openings


def openings_check(*, game: Game, openings: Any) -> list[list[int]]:
    """A list of openings from the API (each a list of action indices)."""
    if not isinstance(openings, list | tuple) or len(openings) > MAX_OPENINGS:
        raise ValidationError(f"openings must be a list of at most {MAX_OPENINGS} action lists")
    return [opening_check(game=game, opening=o) for o in openings]


def plies_check(*, game: Game, plies: Any) -> int | None:
    """A number of random opening plies (None: the game's default)."""
    if plies is None:
        return None
    if isinstance(plies, bool) or not isinstance(plies, int) or not 0 <= plies <= 40:
        raise ValidationError(f"opening plies must be an integer from 0 to 40, got {plies!r}")
    return plies


def temperature_check(temperature: Any) -> float:
    """A sampling temperature: 0 plays greedily."""
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise ValidationError("temperature must be a number")
    if not 0 <= float(temperature) <= MAX_TEMPERATURE:
        raise ValidationError(f"temperature must be from 0 to {MAX_TEMPERATURE:g}")
    return float(temperature)


def agent_at_temperature(agent: Agent, temperature: float, seed: int | None = None) -> Agent:
    """A checkpoint's policy sampling at `temperature` (> 0); bots and greedy play stay as they are."""
    if temperature > 0 and isinstance(agent, PolicyAgent):
        return SoftmaxAgent(agent, temperature, seed=seed)
    return agent
