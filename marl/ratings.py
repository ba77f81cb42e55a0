"""Ratings: Elo, OpenSkill with uncertainty, Bradley-Terry with bootstrap intervals, standings.

Pure functions over plain values. A game result is ``(a, b, score_a)``: ``score_a`` is what the first
player scored, 1.0 a win, 0.5 a draw, 0.0 a loss (fractions in between count as that share of a win).

Scales:

* Elo: the classic scale, ``elo_expected(ra, rb) = 1 / (1 + 10 ** ((rb - ra) / 400))``.
* OpenSkill: Weng-Lin Plackett-Luce ``mu``/``sigma`` (default 25 / 8.33). ``display_rating`` maps
  ``mu`` onto Elo points relative to an anchor (say the random bot = 0), so the numbers a person reads
  mean the same thing in both systems: 100 points ahead = expected score 0.64.
* Bradley-Terry: Elo points too, ``400 * log10(strength)``, centred on the field's mean or on an anchor.

For a final table with draws and the first-move advantage in one likelihood, and intervals that
respect game pairs, see ``marl.elo_fit``; for a sequential test between two players, ``marl.sprt``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
from openskill.models import PlackettLuce

from marl.errors import MarlError

Result = tuple[str, str, float]

# One logit of win odds is 400 / ln(10) Elo points.
_ELO_PER_LOGIT = 400.0 / math.log(10.0)

# One model for the whole process: the defaults (mu 25, sigma 25/3, beta 25/6, tau 25/300) are the
# published Weng-Lin constants; tau keeps sigma from collapsing so ratings can still follow a learner.
_MODEL = PlackettLuce()

# Plackett-Luce scores a pair with a logistic in (mu_a - mu_b) / c, c = sqrt(sigma_a^2 + sigma_b^2 +
# 2 beta^2); with settled sigmas c -> sqrt(2) beta, which gives this many Elo points per unit of mu.
ELO_PER_MU = _ELO_PER_LOGIT / (math.sqrt(2.0) * _MODEL.beta)


def _check_score(score: float) -> float:
    if isinstance(score, bool) or not isinstance(score, Real) or not 0.0 <= score <= 1.0:
        raise MarlError(f"a score must be a number from 0 (loss) to 1 (win), got {score!r}")
    return float(score)


def _check_finite(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise MarlError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _check_results(results: Iterable[Result]) -> list[Result]:
    checked = []
    for item in results:
        if not (isinstance(item, Sequence) and len(item) == 3):
            raise MarlError(f"a result must be (player_a, player_b, score_a), got {item!r}")
        a, b, score = item
        if not (isinstance(a, str) and isinstance(b, str)) or not a or not b:
            raise MarlError(f"players must be non-empty strings, got {a!r} and {b!r}")
        if a == b:
            raise MarlError(f"a player cannot play itself: {a!r}")
        checked.append((a, b, _check_score(score)))
    return checked


# --------------------------------------------------------------------------------------------- Elo


def elo_expected(ra: float, rb: float) -> float:
    """Expected score of a player rated ``ra`` against one rated ``rb``."""
    ra, rb = _check_finite("ra", ra), _check_finite("rb", rb)
    return 1.0 / (1.0 + 10.0 ** ((rb - ra) / 400.0))


def elo_update(ra: float, rb: float, score_a: float, k: float = 32) -> tuple[float, float]:
    """New ``(ra, rb)`` after one game in which A scored ``score_a``; the exchange is zero-sum."""
    score_a = _check_score(score_a)
    k = _check_finite("k", k)
    if k <= 0:
        raise MarlError(f"k must be positive, got {k}")
    delta = k * (score_a - elo_expected(ra, rb))
    return ra + delta, rb - delta


# ---------------------------------------------------------------------------------------- OpenSkill


@dataclass(frozen=True)
class Rating:
    """A Weng-Lin rating: skill estimate ``mu`` and its uncertainty ``sigma`` (one standard deviation)."""

    mu: float
    sigma: float

    def __post_init__(self) -> None:
        _check_finite("mu", self.mu)
        _check_finite("sigma", self.sigma)
        if self.sigma <= 0:
            raise MarlError(f"sigma must be positive, got {self.sigma}")

    def to_dict(self) -> dict[str, float]:
        """Plain JSON: ``{"mu": ..., "sigma": ...}``."""
        return {"mu": float(self.mu), "sigma": float(self.sigma)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rating:
        """Inverse of ``to_dict``; raises on missing or unknown keys."""
        if not isinstance(data, dict) or set(data) != {"mu", "sigma"}:
            raise MarlError(f"a rating must be a dict with exactly 'mu' and 'sigma', got {data!r}")
        return cls(mu=data["mu"], sigma=data["sigma"])


def default_rating() -> Rating:
    """The rating of a newcomer: mu 25, sigma 25/3."""
    return Rating(mu=float(_MODEL.mu), sigma=float(_MODEL.sigma))


def conservative(r: Rating) -> float:
    """``mu - 3 sigma``: a skill the player very likely has; rank leaderboards by it."""
    return r.mu - 3.0 * r.sigma


def rate_match(
    a: Rating, b: Rating, score_a: float, *, fixed_a: bool = False, fixed_b: bool = False
) -> tuple[Rating, Rating]:
    """Ratings after one game (``score_a`` 1 win, 0.5 draw, 0 loss for A).

    A fixed side is an anchor (a reference bot): it moves the other side as usual but keeps its own
    rating, so the scale cannot drift. Give anchors a small sigma so they are trusted.
    """
    if not (isinstance(a, Rating) and isinstance(b, Rating)):
        raise MarlError("rate_match takes two Rating values")
    score_a = _check_score(score_a)
    if score_a not in (0.0, 0.5, 1.0):
        raise MarlError(f"score_a must be 1 (win), 0.5 (draw) or 0 (loss), got {score_a}")
    if fixed_a and fixed_b:
        return a, b
    # Plackett-Luce takes ranks: lower is better, equal ranks are a draw.
    ranks = {1.0: [0, 1], 0.5: [0, 0], 0.0: [1, 0]}[score_a]
    teams = [[_MODEL.rating(mu=a.mu, sigma=a.sigma)], [_MODEL.rating(mu=b.mu, sigma=b.sigma)]]
    (new_a,), (new_b,) = _MODEL.rate(teams, ranks=ranks)
    out_a = a if fixed_a else Rating(mu=float(new_a.mu), sigma=float(new_a.sigma))
    out_b = b if fixed_b else Rating(mu=float(new_b.mu), sigma=float(new_b.sigma))
    return out_a, out_b


def display_rating(r: Rating, anchor: Rating, *, lower_bound: bool = False) -> float:
    """``r`` in Elo points on a scale where ``anchor`` (say the random bot) is 0.

    ``(mu - anchor.mu) * ELO_PER_MU``: 100 points ahead of a player means an expected score of 0.64
    against it, as in Elo (exact once both sigmas are small). With ``lower_bound`` the player's
    ``conservative`` value is used instead of ``mu``, for leaderboards that should not reward luck.
    """
    skill = conservative(r) if lower_bound else r.mu
    return (skill - anchor.mu) * ELO_PER_MU


# ----------------------------------------------------------------------------------- Bradley-Terry


def _bt_tables(index: dict[str, int], results: Sequence[Result]) -> tuple[np.ndarray, np.ndarray]:
    """Games-between matrix and points per player."""
    games = np.zeros((len(index), len(index)))
    wins = np.zeros(len(index))
    for a, b, score in results:
        i, j = index[a], index[b]
        games[i, j] += 1.0
        games[j, i] += 1.0
        wins[i] += score
        wins[j] += 1.0 - score
    return games, wins


def _bt_fit(games: np.ndarray, wins: np.ndarray, prior: float, iterations: int, tol: float) -> np.ndarray:
    """Log-strengths by Hunter's MM algorithm; ``wins`` may hold a batch of rows (bootstrap replicates)."""
    # The prior is `prior` virtual draws per player against a reference of strength 1: it keeps an
    # unbeaten (or winless) player finite and pins the scale, so no renormalisation is needed.
    wins = wins + prior / 2.0
    if prior == 0.0 and (np.any(wins <= 0) or np.any(wins >= games.sum(axis=1))):
        raise MarlError("with prior=0 every player needs at least one win and one loss")
    strength = np.ones_like(wins)
    for _ in range(iterations):
        pair_sum = strength[..., :, None] + strength[..., None, :]
        denom = (games / pair_sum).sum(axis=-1) + prior / (strength + 1.0)
        new = wins / denom
        if prior == 0.0:
            new /= np.exp(np.mean(np.log(new), axis=-1, keepdims=True))
        step = np.max(np.abs(np.log(new) - np.log(strength)))
        strength = new
        if step < tol:
            break
    return np.log(strength)


def _bt_scale(log_strength: np.ndarray, index: dict[str, int], anchor: str | None) -> np.ndarray:
    elo = log_strength * _ELO_PER_LOGIT
    centre = elo[..., index[anchor]] if anchor is not None else elo.mean(axis=-1)
    return elo - np.asarray(centre)[..., None]


def _bt_index(results: Sequence[Result], anchor: str | None) -> dict[str, int]:
    if not results:
        raise MarlError("Bradley-Terry needs at least one result")
    players = sorted({p for a, b, _ in results for p in (a, b)})
    if anchor is not None and anchor not in players:
        raise MarlError(f"anchor {anchor!r} played no game")
    return {p: i for i, p in enumerate(players)}


def _check_bt_options(iterations: int, prior: float) -> None:
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise MarlError(f"iterations must be a positive integer, got {iterations!r}")
    if _check_finite("prior", prior) < 0:
        raise MarlError(f"prior must be >= 0, got {prior}")


def bradley_terry(
    results: Iterable[Result],
    *,
    iterations: int = 10_000,
    anchor: str | None = None,
    prior: float = 1.0,
    tol: float = 1e-12,
) -> dict[str, float]:
    """Bradley-Terry ratings in Elo points, fitted by the MM algorithm.

    ``rating = 400 * log10(strength)``, so ``elo_expected(r[a], r[b])`` is the fitted chance that a
    beats b. Ratings are centred on the mean (or ``anchor`` is 0). Draws count as half a win each way.
    ``prior`` adds that many virtual draws per player against an average opponent so an unbeaten
    player stays finite; ``prior=0`` is the plain maximum-likelihood fit. Iterates until the largest
    change in log-strength is under ``tol`` or ``iterations`` run out.
    """
    results = _check_results(results)
    _check_bt_options(iterations, prior)
    index = _bt_index(results, anchor)
    games, wins = _bt_tables(index, results)
    elo = _bt_scale(_bt_fit(games, wins, float(prior), iterations, tol), index, anchor)
    return {p: float(elo[i]) for p, i in index.items()}


def bradley_terry_intervals(
    results: Iterable[Result],
    *,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    anchor: str | None = None,
    prior: float = 1.0,
    iterations: int = 2_000,
) -> dict[str, tuple[float, float, float]]:
    """``{player: (estimate, lo, hi)}``: Bradley-Terry ratings with percentile bootstrap intervals.

    Each replicate resamples games with replacement *within each pairing*, so the schedule (who met
    whom how often) is kept and every player is in every replicate. Same inputs and seed, same output.
    """
    results = _check_results(results)
    _check_bt_options(iterations, prior)
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 1:
        raise MarlError(f"n_boot must be a positive integer, got {n_boot!r}")
    if not 0.0 < _check_finite("level", level) < 1.0:
        raise MarlError(f"level must be between 0 and 1, got {level}")
    if prior <= 0:
        raise MarlError("bootstrap intervals need prior > 0: a resample can leave a player unbeaten")
    index = _bt_index(results, anchor)
    prior, tol = float(prior), 1e-9
    games, wins = _bt_tables(index, results)
    estimate = _bt_scale(_bt_fit(games, wins, prior, iterations, tol), index, anchor)

    # Scores per pairing, seen from the alphabetically first player, sorted so the draw (hence the
    # output) does not depend on the order of `results`.
    by_pair: dict[tuple[str, str], list[float]] = defaultdict(list)
    for a, b, score in results:
        by_pair[(a, b) if a < b else (b, a)].append(score if a < b else 1.0 - score)
    rng = np.random.default_rng(seed)
    boot_wins = np.zeros((n_boot, len(index)))
    for (a, b), scores in sorted(by_pair.items()):
        drawn = np.sort(scores)[rng.integers(0, len(scores), size=(n_boot, len(scores)))].sum(axis=1)
        boot_wins[:, index[a]] += drawn
        boot_wins[:, index[b]] += len(scores) - drawn
    # The schedule is kept, so every replicate shares `games`: all of them are fitted in one batch.
    samples = _bt_scale(_bt_fit(games, boot_wins, prior, iterations, tol), index, anchor)
    alpha = (1.0 - level) / 2.0
    lo = np.quantile(samples, alpha, axis=0)
    hi = np.quantile(samples, 1.0 - alpha, axis=0)
    # A skewed bootstrap (few games) can put the point estimate outside its percentile interval;
    # widen to include it so a table never shows an estimate outside its own interval.
    lo, hi = np.minimum(lo, estimate), np.maximum(hi, estimate)
    return {p: (float(estimate[i]), float(lo[i]), float(hi[i])) for p, i in index.items()}


# ---------------------------------------------------------------------------------------- Standings


def head_to_head(results: Iterable[Result]) -> dict[str, dict[str, dict[str, int]]]:
    """``h2h[a][b] = {"w": ..., "d": ..., "l": ...}``: a's record against b (both directions filled)."""
    table: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    for a, b, score in _check_results(results):
        for me, other, s in ((a, b, score), (b, a, 1.0 - score)):
            rec = table[me].setdefault(other, {"w": 0, "d": 0, "l": 0})
            rec["w" if s > 0.5 else "l" if s < 0.5 else "d"] += 1
    return {p: dict(row) for p, row in table.items()}


def standings(results: Iterable[Result], participants: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The table, best first: one dict per player with ``rank, player, games, wins, draws, losses,
    points, sonneborn_berger``.

    Points are the sum of scores (win 1, draw 0.5). Ties break on Sonneborn-Berger (the sum, over a
    player's games, of its score times that opponent's points: beating strong players counts more),
    then wins, then the name so the order is total. ``participants`` adds players with no games yet.
    """
    results = _check_results(results)
    rows: dict[str, dict[str, Any]] = {}

    def row(p: str) -> dict[str, Any]:
        if p not in rows:
            rows[p] = {"player": p, "games": 0, "wins": 0, "draws": 0, "losses": 0, "points": 0.0}
        return rows[p]

    for p in participants:
        if not isinstance(p, str) or not p:
            raise MarlError(f"players must be non-empty strings, got {p!r}")
        row(p)
    for a, b, score in results:
        for me, s in ((a, score), (b, 1.0 - score)):
            r = row(me)
            r["games"] += 1
            r["points"] += s
            r["wins" if s > 0.5 else "losses" if s < 0.5 else "draws"] += 1
    sb: dict[str, float] = dict.fromkeys(rows, 0.0)
    for a, b, score in results:
        sb[a] += score * rows[b]["points"]
        sb[b] += (1.0 - score) * rows[a]["points"]
    for p, r in rows.items():
        r["sonneborn_berger"] = sb[p]
    table = sorted(
        rows.values(), key=lambda r: (-r["points"], -r["sonneborn_berger"], -r["wins"], r["player"])
    )
    return [{"rank": i + 1, **r} for i, r in enumerate(table)]
