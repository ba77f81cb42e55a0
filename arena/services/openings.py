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
    """A given opening as action indices; refuses an illegal one or one that ends the game. Moves may
    also be written in the game's notation (chess: ``"e2e4"``); they are stored as action indices."""
    if not isinstance(opening, list | tuple) or not all(
        isinstance(a, int | str) and not isinstance(a, bool) for a in opening
    ):
        raise ValidationError(f"an opening is a list of moves (action indices), got {opening!r}"[:300])
    with MatchState(game.name, 0) as state:
        for number, move in enumerate(opening, start=1):
            try:
                action = move if isinstance(move, int) else state.spec.move_from_text(state.env, move)
                state.apply(action)
            except MarlError as exc:
                raise ValidationError(f"opening move {number} ({move!r}): {exc}"[:300]) from None
            if state.done:
                raise ValidationError(f"opening {list(opening)} ends the game before the players move"[:300])
        return list(state.moves)


def opening_parse(*, game: Game, text: str) -> list[int]:
    """One opening typed by a person: moves separated by commas or spaces, each an action index or in
    the game's notation (chess: ``e2e4, e7e5`` or ``e2e4 e7e5``)."""
    words = [w for w in str(text).replace(",", " ").split() if w]
    return opening_check(game=game, opening=[int(w) if w.lstrip("-").isdigit() else w for w in words])


def openings_parse(*, game: Game, text: str) -> list[list[int]]:
    """Openings from a form: one per line (blank lines skipped), each as ``opening_parse`` reads it."""
    openings = []
    for number, line in enumerate(str(text).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            openings.append(opening_parse(game=game, text=line))
        except ValidationError as exc:
            raise ValidationError(f"opening line {number}: {exc.messages[0]}"[:300]) from None
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
