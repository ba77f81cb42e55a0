"""What the agent thought of a position in a human game: its score for each legal move and its chance
of winning (`marl.winprob`), for the heat map and the win-probability line."""

from __future__ import annotations

import math
from typing import Any

from marl import winprob
from marl.match import MatchState
from marl.search import SearchResult


def move_analysis(agent, state, values: Any = None) -> dict[str, Any] | None:
    """What the agent thought of each legal move (its scores, or `values` when the caller has them) and
    its chance (`marl.winprob`): exact where the game is solved, else from its value network, or a
    proven result of its search."""
    exact = winprob.exact(state.spec.name, state.moves)
    scores = getattr(agent, "scores", None)
    obs, mask = state.observation()
    if values is None and scores is not None:
        values = scores(obs, mask)
    if values is None:
        return None if exact is None else {"kind": None, "scores": None, **exact.as_json()}
    cleaned = _cleaned(values)
    legal = [v for v, ok in zip(cleaned, mask, strict=False) if ok and v is not None]
    kind = getattr(agent, "kind", "search")  # PolicyAgent says "q" or "logits"; bots search
    best = max(legal) if legal else None
    chance = exact
    if chance is None and kind == "logits":  # action probabilities say nothing of how the game stands
        value = agent.value(obs) if hasattr(agent, "value") else None  # PPO's critic, az's value head
        chance = None if value is None else winprob.from_outcome_value(value, "value")
    elif chance is None and kind == "q" and best is not None:
        chance = winprob.from_outcome_value(best, "q")  # Q estimates the outcome, unbounded: clipped
    elif chance is None and best is not None:
        chance = winprob.from_search_scores(best)  # a heuristic score is no probability
    out: dict[str, Any] = {"kind": kind, "scores": cleaned}
    return {**out, **chance.as_json()} if chance else {**out, "win_probability": None}


def _cleaned(values: Any) -> list[float | None]:
    return [None if (v is None or not math.isfinite(float(v))) else round(float(v), 4) for v in values]


def search_analysis(result: SearchResult, state: MatchState) -> dict[str, Any]:
    """A tree search's view: the share of its simulations each legal move got, and its chance: exact
    where the game is solved, else from the root's value (the mover's mean outcome, in [-1, 1])."""
    value = max(-1.0, min(1.0, float(result.root_value)))
    chance = winprob.exact(state.spec.name, state.moves) or winprob.from_outcome_value(value, "search")
    return {"kind": "visits", "scores": _cleaned(result.shares), "value": round(value, 4), **chance.as_json()}
