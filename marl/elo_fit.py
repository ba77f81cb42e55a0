"""One rating model for a pool of players: Elo with draws and a first-move advantage (BayesElo's).

A game is ``(first, second, score)``: ``first`` took the first seat, ``score`` is what it scored
(1 win, 0.5 draw, 0 loss). With ``f(x) = 1 / (1 + 10 ** (-x / 400))``, ``d`` the rating difference
``first - second``, ``adv`` the first seat's advantage and ``draw`` the draw parameter (all in Elo)::

    P(first wins) = f(d + adv - draw)    P(second wins) = f(-d - adv - draw)    P(draw) = the rest

The fit maximises the likelihood by Newton's method. Intervals come from the information in the
games (the inverse of the likelihood's curvature at the maximum), or from a bootstrap that resamples
game pairs, which keeps the two games of a pair (one opening, seats swapped) together. Players in
``anchors`` are pinned at given Elo values; without anchors the ratings average zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from marl.errors import MarlError

Game = tuple[str, str, float]
Interval = tuple[float, float, float]  # (estimate, low, high)

_C = math.log(10.0) / 400.0  # natural-log odds per Elo point
_MAX_ITERATIONS = 100
# Past this many Elo a parameter is running off to infinity (a player unbeaten or winless).
_DIVERGED = 10_000.0
_NO_MAXIMUM = "the fit has no finite maximum: a player may have won or lost every game (pass prior_draws > 0)"
# Where the likelihood has no finite maximum in the seat advantage or the draw parameter alone (a pool
# whose games were all drawn: every draw says "draws are likelier still"), the fit is redone with a
# weak normal prior on those two (sd in Elo, centred on 0), worth about a tenth of one game's
# information. Fits that have a maximum are the plain maximum-likelihood ones.
_PARAMETER_PRIOR_SD = 1000.0


@dataclass(frozen=True)
class EloFit:
    """Fitted ratings, seat advantage and draw parameter, each ``(estimate, low, high)`` in Elo."""

    ratings: dict[str, Interval]
    seat_advantage: Interval
    draw_elo: Interval
    games: int
    level: float = 0.95

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values: intervals as ``[estimate, low, high]`` lists."""
        return {
            "ratings": {p: list(v) for p, v in self.ratings.items()},
            "seat_advantage": list(self.seat_advantage),
            "draw_elo": list(self.draw_elo),
            "games": self.games,
            "level": self.level,
        }


@dataclass
class _Table:
    """Games grouped by (first, second): win, draw and loss counts of the first seat."""

    players: list[str]
    first: np.ndarray
    second: np.ndarray
    wins: np.ndarray
    draws: np.ndarray
    losses: np.ndarray


def _tabulate(games: Iterable[Game], players: Sequence[str], prior_draws: float) -> _Table:
    index = {p: i for i, p in enumerate(players)}
    counts: dict[tuple[int, int], list[float]] = {}
    for first, second, score in games:
        cell = counts.setdefault((index[first], index[second]), [0.0, 0.0, 0.0])
        cell[0 if score == 1.0 else 1 if score == 0.5 else 2] += 1.0
    if prior_draws > 0:  # BayesElo's prior: virtual draws between players who met, both seat orders
        for i, j in {tuple(sorted(key)) for key in counts}:
            for key in ((i, j), (j, i)):
                counts.setdefault(key, [0.0, 0.0, 0.0])[1] += prior_draws / 2.0
    keys = sorted(counts)
    table = np.array([counts[k] for k in keys]).reshape(-1, 3)
    return _Table(
        list(players),
        np.array([k[0] for k in keys], dtype=np.int64),
        np.array([k[1] for k in keys], dtype=np.int64),
        table[:, 0],
        table[:, 1],
        table[:, 2],
    )


def _check_games(games: Iterable[Game]) -> list[Game]:
    checked = []
    for item in games:
        if not (isinstance(item, Sequence) and len(item) == 3):
            raise MarlError(f"a game must be (first, second, score_of_first), got {item!r}")
        first, second, score = item
        if not (isinstance(first, str) and isinstance(second, str)) or not first or not second:
            raise MarlError(f"players must be non-empty strings, got {first!r} and {second!r}")
        if first == second:
            raise MarlError(f"a player cannot play itself: {first!r}")
        if score not in (0.0, 0.5, 1.0) or isinstance(score, bool):
            raise MarlError(f"a score must be 1 (win), 0.5 (draw) or 0 (loss), got {score!r}")
        checked.append((first, second, float(score)))
    if not checked:
        raise MarlError("the fit needs at least one game")
    return checked


class _Model:
    """The log-likelihood over a table, its gradient and Hessian in ``(ratings..., adv, draw)``."""

    def __init__(self, table: _Table, parameter_prior: bool = False) -> None:
        self.t = table
        self.prior_precision = 1.0 / _PARAMETER_PRIOR_SD**2 if parameter_prior else 0.0
        n, m = len(table.players), len(table.first)
        rows = np.arange(m)
        # u = C (r_first - r_second + adv - draw) and v = C (-r_first + r_second - adv - draw).
        self.ju = np.zeros((m, n + 2))
        self.ju[rows, table.first] += _C
        self.ju[rows, table.second] -= _C
        self.ju[:, n], self.ju[:, n + 1] = _C, -_C
        self.jv = -self.ju
        self.jv[:, n + 1] = -_C
        self.has_draws = bool(table.draws.sum() > 0)
        self.n = n

    def _terms(self, params: np.ndarray) -> tuple[np.ndarray, ...]:
        # Clipped far past any real rating gap, so exp() cannot overflow on a runaway step.
        u, v = np.clip(self.ju @ params, -500, 500), np.clip(self.jv @ params, -500, 500)
        pu, pv = 1.0 / (1.0 + np.exp(-u)), 1.0 / (1.0 + np.exp(-v))
        # With no draws anywhere the draw parameter stays 0 and P(draw) = 0 is never evaluated.
        pd = np.where(self.t.draws > 0, 1.0 - pu - pv, 1.0)
        return pu, pv, pd

    def log_likelihood(self, params: np.ndarray) -> float:
        """Log-likelihood, ``-inf`` where a draw has no probability left (draw parameter too small)."""
        pu, pv, pd = self._terms(params)
        if np.any(pd <= 0):
            return -math.inf
        t = self.t
        prior = -0.5 * self.prior_precision * float(params[self.n] ** 2 + params[self.n + 1] ** 2)
        return float(t.wins @ np.log(pu) + t.losses @ np.log(pv) + t.draws @ np.log(pd)) + prior

    def derivatives(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gradient and Hessian of the log-likelihood."""
        pu, pv, pd = self._terms(params)
        t = self.t
        su, sv = pu * (1.0 - pu), pv * (1.0 - pv)
        du, dv = t.draws * su / pd, t.draws * sv / pd
        lu = t.wins * (1.0 - pu) - du
        lv = t.losses * (1.0 - pv) - dv
        luu = -t.wins * su - du * (1.0 - 2.0 * pu) - du * su / pd
        lvv = -t.losses * sv - dv * (1.0 - 2.0 * pv) - dv * sv / pd
        luv = -du * sv / pd
        ju, jv = self.ju, self.jv
        grad = ju.T @ lu + jv.T @ lv
        cross = ju.T @ (luv[:, None] * jv)
        hess = ju.T @ (luu[:, None] * ju) + jv.T @ (lvv[:, None] * jv) + cross + cross.T
        for k in (self.n, self.n + 1):  # the prior on the seat advantage and the draw parameter
            grad[k] -= params[k] * self.prior_precision
            hess[k, k] -= self.prior_precision
        return grad, hess


def _start(table: _Table, anchors: Mapping[str, float]) -> np.ndarray:
    params = np.zeros(len(table.players) + 2)
    for i, p in enumerate(table.players):
        params[i] = anchors.get(p, 0.0)
    total = table.wins.sum() + table.draws.sum() + table.losses.sum()
    share = min(table.draws.sum() / total, 0.99)  # every game drawn: a finite start, the prior does the rest
    if share > 0:  # the draw parameter that gives this draw rate between equal players
        params[-1] = -math.log((1.0 - share) / 2.0 / (1.0 - (1.0 - share) / 2.0)) / _C
    return params


def _newton(model: _Model, params: np.ndarray, free: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximise over the ``free`` parameters; returns the maximum and the free block's Hessian."""
    value = model.log_likelihood(params)
    for _ in range(_MAX_ITERATIONS):
        grad, hess = model.derivatives(params)
        block = hess[np.ix_(free, free)]
        try:
            step = np.linalg.solve(-block, grad[free])
        except np.linalg.LinAlgError:
            raise MarlError(_NO_MAXIMUM) from None
        scale = 1.0
        while scale > 1e-8:  # halve until the likelihood goes up (and draws keep a probability)
            trial = params.copy()
            trial[free] += scale * step
            trial_value = model.log_likelihood(trial)
            if trial_value >= value:
                break
            scale /= 2.0
        params, value = trial, trial_value
        if np.max(np.abs(params)) > _DIVERGED:
            raise MarlError(_NO_MAXIMUM)
        if np.max(np.abs(scale * step)) < 1e-7:
            grad, hess = model.derivatives(params)
            return params, hess[np.ix_(free, free)]
    raise MarlError(_NO_MAXIMUM)


def _check_connected(games: Sequence[Game], players: list[str]) -> None:
    group = {p: p for p in players}

    def root(p: str) -> str:
        while group[p] != p:
            group[p] = group[group[p]]
            p = group[p]
        return p

    for first, second, _ in games:
        group[root(first)] = root(second)
    if len({root(p) for p in players}) > 1:
        raise MarlError("players fall into groups that never met: ratings across them are not defined")


def _players(games: Sequence[Game], anchors: Mapping[str, float]) -> list[str]:
    players = sorted({p for first, second, _ in games for p in (first, second)})
    missing = sorted(set(anchors) - set(players))
    if missing:
        raise MarlError(f"anchors {missing} played no game")
    for p, value in anchors.items():
        if not math.isfinite(float(value)):
            raise MarlError(f"anchor {p!r} needs a finite Elo, got {value!r}")
    return players


def _solve(
    games: Sequence[Game], anchors: Mapping[str, float], prior_draws: float
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The maximum-likelihood ``(ratings..., adv, draw)`` and its covariance in the chosen gauge."""
    players = _players(games, anchors)
    _check_connected(games, players)
    table = _tabulate(games, players, prior_draws)
    n = len(players)
    # Without anchors the first player is held at 0 during the fit, then the ratings are centred.
    pinned = {players.index(p) for p in anchors} if anchors else {0}
    model = _Model(table)
    free = [i for i in range(n) if i not in pinned] + [n] + ([n + 1] if model.has_draws else [])
    free_idx = np.array(free, dtype=np.int64)
    try:
        params, block = _newton(model, _start(table, anchors), free_idx)
    except MarlError:
        if not _unidentified_parameters(table):
            raise
        params, block = _newton(_Model(table, parameter_prior=True), _start(table, anchors), free_idx)
    cov = np.zeros((n + 2, n + 2))
    cov[np.ix_(free_idx, free_idx)] = np.linalg.inv(-block)
    if not anchors:
        centre = np.eye(n + 2)
        centre[:n, :n] -= 1.0 / n
        params, cov = centre @ params, centre @ cov @ centre.T
    return players, params, cov


def _unidentified_parameters(table: _Table) -> bool:
    """No decisive game (the draw parameter runs off) or every decisive game won by one seat (the
    advantage runs off): what the weak parameter prior exists for. A player who won or lost every
    game is a different case (``prior_draws``), and still an error."""
    return bool(table.wins.sum() == 0 or table.losses.sum() == 0)


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise MarlError(f"level must be between 0 and 1, got {level}")
    return NormalDist().inv_cdf((1.0 + level) / 2.0)


def elo_fit(
    games: Iterable[Game],
    *,
    anchors: Mapping[str, float] | None = None,
    prior_draws: float = 0.0,
    level: float = 0.95,
) -> EloFit:
    """Maximum-likelihood ratings, seat advantage and draw parameter with intervals (95% by default).

    Intervals are ``estimate +- z sd`` (1.96 sd at 95%) from the inverse observed information. Anchored players
    keep their value (a zero-width interval); the others are measured against them. ``prior_draws``
    adds that many virtual draws between every two players who met (BayesElo's prior, split over both
    seat orders): it keeps an unbeaten player finite at the cost of pulling ratings together.
    """
    games = _check_games(games)
    anchors = dict(anchors or {})
    if prior_draws < 0:
        raise MarlError(f"prior_draws must be >= 0, got {prior_draws}")
    z = _z(level)
    players, params, cov = _solve(games, anchors, float(prior_draws))
    return _result(players, params, z * np.sqrt(np.maximum(np.diag(cov), 0.0)), len(games), level)


def _result(players: list[str], params: np.ndarray, half: np.ndarray, games: int, level: float) -> EloFit:
    def interval(i: int) -> Interval:
        return (float(params[i]), float(params[i] - half[i]), float(params[i] + half[i]))

    n = len(players)
    return EloFit(
        ratings={p: interval(i) for i, p in enumerate(players)},
        seat_advantage=interval(n),
        draw_elo=interval(n + 1),
        games=games,
        level=level,
    )


def elo_fit_bootstrap(
    pairs: Sequence[Sequence[Game]],
    *,
    anchors: Mapping[str, float] | None = None,
    prior_draws: float = 0.0,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> EloFit:
    """``elo_fit`` on all games, with intervals from resampling whole game pairs.

    ``pairs`` holds the games grouped as played (usually the two games of one opening with seats
    swapped); each replicate draws ``len(pairs)`` groups with replacement, so games that share an
    opening move together and repeated identical games do not shrink the intervals. A replicate whose
    fit fails (a player left unbeaten, or cut off) is drawn again. The interval is the estimate
    +- z sd, with sd the replicates' standard deviation: with a few hundred replicates that covers
    closer to ``level`` than their percentiles do, whose tails rest on a handful of draws.
    """
    groups = [_check_games(pair) for pair in pairs]
    anchors = dict(anchors or {})
    z = _z(level)
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 2:
        raise MarlError(f"n_boot must be an integer >= 2, got {n_boot!r}")
    players, params, _ = _solve([g for group in groups for g in group], anchors, float(prior_draws))
    rng = np.random.default_rng(seed)
    samples: list[np.ndarray] = []
    for _ in range(50 * n_boot):
        if len(samples) == n_boot:
            break
        drawn = rng.integers(0, len(groups), size=len(groups))
        resampled = [g for k in drawn for g in groups[k]]
        if _players(resampled, anchors) != players:
            continue
        try:
            samples.append(_solve(resampled, anchors, float(prior_draws))[1])
        except MarlError:
            continue
    if len(samples) < n_boot:
        raise MarlError("too few bootstrap replicates could be fitted: add games or prior_draws")
    half = z * np.std(np.array(samples), axis=0, ddof=1)
    return _result(players, params, half, sum(len(group) for group in groups), level)
