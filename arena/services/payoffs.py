"""Who beats whom in a game's pool: the payoff matrix of its top players, ordered by α-Rank, with the
cycles of "beats" (A beats B beats C beats A) that a single Elo number hides. A read: nothing is written.
"""

from __future__ import annotations

from typing import Any

from arena.models import Game, Player
from arena.selectors import leaderboard_rows, player_json
from arena.services.ratings import pool_games, rating_fit_get
from marl.payoffs import alpharank, beat_cycles, payoff_matrix

TOP_PLAYERS = 8
# A pair counts as "A beats B" in a cycle when A's net score against B is above this (of [-1, 1]).
CYCLE_MARGIN = 0.1


def payoffs_table(*, game: Game, top: int = TOP_PLAYERS) -> dict[str, Any]:
    """The top `top` players of the pool's Elo fit (people left out), ordered by α-Rank mass, their
    pairwise payoffs `(wins - losses) / games` and game counts, and the cycles among them."""
    rows = [
        r for r in leaderboard_rows(game, rating_fit_get(pool=game.name)) if r["player"].kind != Player.HUMAN
    ]
    rows = rows[:top]
    ids = [str(r["player"].pk) for r in rows]
    payoffs, counts = payoff_matrix(pool_games(game.name), ids)
    mass = alpharank(payoffs) if len(ids) else []
    # Strongest first by α-Rank mass, Elo breaking ties (many players share zero mass).
    order = sorted(range(len(rows)), key=lambda i: (-round(float(mass[i]), 6), -rows[i]["elo"]))
    payoffs, counts = payoffs[order][:, order], counts[order][:, order]
    players = [_player(rows[i], float(mass[i])) for i in order]
    cycles = beat_cycles(payoffs, margin=CYCLE_MARGIN)
    return {
        "game": game.name,
        "method": "alpharank",
        "players": players,
        "payoffs": [[round(float(v), 3) for v in row] for row in payoffs],
        "games": [[int(v) for v in row] for row in counts],
        "cycles": [[players[i]["label"] for i in cycle] for cycle in cycles],
        "cycle_margin": CYCLE_MARGIN,
    }


def _player(row: dict[str, Any], mass: float) -> dict[str, Any]:
    return {
        **player_json(row["player"]),
        "elo": round(row["elo"], 1),
        "low": round(row["low"], 1),
        "high": round(row["high"], 1),
        "mass": round(mass, 4),
    }
