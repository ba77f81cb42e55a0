"""Who beats whom beyond one number: a payoff matrix from game results, its α-Rank, and its cycles.

One Elo per player assumes strength is transitive. A pool where A beats B, B beats C and C beats A has
no such order; α-Rank (Omidshafiei et al. 2019, OpenSpiel's implementation) ranks players by the mass
the evolutionary dynamics of the game put on each, and cycles show where a single number misleads.
Pure functions of numbers: no Django, no torch.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import numpy as np

# Selection intensity and population size for α-Rank: large α approaches the infinite-α limit, where
# mass sits only on the sink strongly connected components of the "who beats whom" graph.
ALPHA = 100.0
POPULATION = 50


def payoff_matrix(
    games: Iterable[tuple[str, str, float]], players: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """From games `(first, second, first's score in [0, 1])`, the payoff of each player of `players`
    against each other one, `(wins - losses) / games` in [-1, 1] (antisymmetric; 0 where they never met),
    and the number of games per pair."""
    index = {p: i for i, p in enumerate(players)}
    n = len(players)
    net, count = np.zeros((n, n)), np.zeros((n, n), dtype=int)
    for first, second, score in games:
        i, j = index.get(first), index.get(second)
        if i is None or j is None or i == j:
            continue
        net[i, j] += 2 * score - 1
        net[j, i] -= 2 * score - 1
        count[i, j] += 1
        count[j, i] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        payoffs = np.where(count > 0, net / np.maximum(count, 1), 0.0)
    return payoffs, count


def alpharank(payoffs: np.ndarray, *, alpha: float = ALPHA, population: int = POPULATION) -> np.ndarray:
    """α-Rank mass of each player of a symmetric zero-sum payoff matrix (row player's payoff against
    the column player); the masses sum to 1. Rock-paper-scissors gives each a third; a strategy every
    other beats gets none."""
    payoffs = np.asarray(payoffs, dtype=float)
    if payoffs.ndim != 2 or payoffs.shape[0] != payoffs.shape[1]:
        raise ValueError(f"a payoff matrix is square, got shape {payoffs.shape}")
    if payoffs.shape[0] == 0:
        return np.zeros(0)
    if payoffs.shape[0] == 1:
        return np.ones(1)
    from open_spiel.python.egt import alpharank as os_alpharank  # lazy: a second to import

    with warnings.catch_warnings(), np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # exp overflow in the fixation probability
        _, _, pi, _, _ = os_alpharank.compute([payoffs], m=population, alpha=alpha)
    pi = np.clip(np.asarray(pi, dtype=float), 0.0, None)
    return pi / pi.sum()


def beat_cycles(payoffs: np.ndarray, *, margin: float = 0.0, max_length: int = 4) -> list[tuple[int, ...]]:
    """Every cycle of "beats" (payoff above `margin`) of 3 to `max_length` players, each once: a tuple
    of indices starting at its smallest, A beats B beats ... beats A."""
    payoffs = np.asarray(payoffs, dtype=float)
    n = payoffs.shape[0]
    beats = [[j for j in range(n) if j != i and payoffs[i, j] > margin] for i in range(n)]
    cycles: list[tuple[int, ...]] = []

    def extend(path: list[int]) -> None:
        for nxt in beats[path[-1]]:
            if nxt == path[0] and len(path) >= 3:
                cycles.append(tuple(path))
            elif nxt > path[0] and nxt not in path and len(path) < max_length:
                extend([*path, nxt])

    for start in range(n):
        extend([start])
    return sorted(cycles, key=lambda c: (len(c), c))
