"""Sequential probability ratio test over game pairs (pentanomial), as fishtest and fastchess run it.

A test asks whether a challenger is ``elo1`` better than a baseline (accept) or only ``elo0`` (reject).
Games come in pairs (one opening, seats swapped), so the pair score 0, 0.5, 1, 1.5 or 2 is the unit of
evidence: its five outcomes are the pentanomial counts ``[LL, LD+DL, LW+DD+WL, DW+WD, WW]``. The
log-likelihood ratio is the generalized one (GSPRT) of fishtest's ``LLRcalc``: for each hypothesis
the multinomial over the five outcomes closest to the observed one (maximum likelihood) whose mean
pair score matches it. ``model="logistic"`` reads elo0/elo1 as logistic Elo (expected score
``1 / (1 + 10 ** (-elo / 400))``, fishtest's ``LLR_logistic``); ``model="normalized"`` as normalized
Elo (fishtest's ``LLR_normalized``: the t-value of the pair score, so the test does not depend on the
draw rate). Wald's bounds are ``log(beta / (1 - alpha))`` and ``log((1 - beta) / alpha)``.

The state is plain JSON (the bounds, the model and five counts), so a test survives a restart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from marl.errors import MarlError

PAIR_SCORES = (0.0, 0.5, 1.0, 1.5, 2.0)
MODELS = ("logistic", "normalized")
# fishtest's regularisation: an empty outcome counts this much, so every outcome has a probability.
_EMPTY = 1e-3
_NELO_PER_T = 800.0 / math.log(10.0)


def pentanomial(pair_scores: Iterable[float]) -> list[int]:
    """Counts of pair scores 0, 0.5, 1, 1.5 and 2 (a player's points over the two games of a pair)."""
    counts = [0] * 5
    for score in pair_scores:
        if score not in PAIR_SCORES or isinstance(score, bool):
            raise MarlError(f"a pair score must be one of {PAIR_SCORES}, got {score!r}")
        counts[int(round(2 * score))] += 1
    return counts


def sprt_bounds(alpha: float, beta: float) -> tuple[float, float]:
    """Wald's ``(lower, upper)`` LLR bounds: below lower accept elo0 (reject), above upper accept elo1."""
    if not (0 < alpha < 1 and 0 < beta < 1 and alpha + beta < 1):
        raise MarlError(f"alpha and beta must be in (0, 1) with alpha + beta < 1, got {alpha}, {beta}")
    return math.log(beta / (1 - alpha)), math.log((1 - beta) / alpha)


def _distribution(counts: Sequence[float]) -> tuple[float, list[float], list[float]]:
    """``(pairs, values, probabilities)``: values are pair scores scaled to 0..1, as fishtest's pdf."""
    if len(counts) != 5 or any(c < 0 for c in counts):
        raise MarlError(f"a pentanomial is five non-negative counts, got {list(counts)!r}")
    regular = [c if c > 0 else _EMPTY for c in counts]
    total = sum(regular)
    return total, [i / 4 for i in range(5)], [c / total for c in regular]


def _secular(values: Sequence[float], probs: Sequence[float]) -> float:
    """The root ``x`` of ``sum(p * a / (1 + x * a)) = 0`` with every ``1 + x * a > 0`` (safeguarded Newton).

    The left side falls strictly in ``x`` on that interval, from +inf to -inf.
    """
    lo, hi = -1.0 / max(values), -1.0 / min(values)
    width = hi - lo
    lo, hi = lo + 1e-12 * width, hi - 1e-12 * width
    x = 0.0
    for _ in range(200):
        f = sum(p * a / (1 + x * a) for a, p in zip(values, probs, strict=True))
        if abs(f) < 1e-15:
            return x
        if f > 0:
            lo = x
        else:
            hi = x
        slope = -sum(p * a * a / (1 + x * a) ** 2 for a, p in zip(values, probs, strict=True))
        step = x - f / slope
        x = step if lo < step < hi else (lo + hi) / 2
        if hi - lo < 1e-15:
            return x
    return x


def _mean_var(values: Sequence[float], probs: Sequence[float]) -> tuple[float, float]:
    mean = sum(p * a for a, p in zip(values, probs, strict=True))
    return mean, sum(p * (a - mean) ** 2 for a, p in zip(values, probs, strict=True))


def _mle_with_mean(values: list[float], probs: list[float], mean: float) -> list[float]:
    """The distribution on ``values`` nearest ``probs`` (maximum likelihood) whose mean is ``mean``."""
    shifted = [a - mean for a in values]
    x = _secular(shifted, probs)
    return [p / (1 + x * b) for b, p in zip(shifted, probs, strict=True)]


def _mle_with_t(values: list[float], probs: list[float], ref: float, t: float) -> list[float]:
    """The maximum-likelihood distribution whose t-value ``(mean - ref) / sd`` is ``t`` (fixed point)."""
    current = [1.0 / len(values)] * len(values)
    for _ in range(100):
        mean, var = _mean_var(values, current)
        sd = math.sqrt(var)
        shifted = [a - ref - t * sd * (1 + ((mean - a) / sd) ** 2) / 2 for a in values]
        x = _secular(shifted, probs)
        new = [p / (1 + x * b) for b, p in zip(shifted, probs, strict=True)]
        done = max(abs(n - c) for n, c in zip(new, current, strict=True)) < 1e-12
        current = new
        if done:
            break
    return current


def _llr(probs: Sequence[float], pdf0: Sequence[float], pdf1: Sequence[float]) -> float:
    return sum(p * (math.log(b) - math.log(a)) for p, a, b in zip(probs, pdf0, pdf1, strict=True))


def llr_logistic(counts: Sequence[float], elo0: float, elo1: float) -> float:
    """GSPRT log-likelihood ratio of elo1 against elo0 (logistic Elo) for pentanomial ``counts``."""
    pairs, values, probs = _distribution(counts)
    s0, s1 = (1.0 / (1.0 + 10.0 ** (-elo / 400.0)) for elo in (elo0, elo1))
    return pairs * _llr(probs, _mle_with_mean(values, probs, s0), _mle_with_mean(values, probs, s1))


def llr_normalized(counts: Sequence[float], nelo0: float, nelo1: float) -> float:
    """GSPRT log-likelihood ratio of nelo1 against nelo0 (normalized Elo) for pentanomial ``counts``."""
    pairs, values, probs = _distribution(counts)
    # Normalized Elo is per game; a pair's t-value is sqrt(2) times a game's.
    t0, t1 = (math.sqrt(2.0) * nelo / _NELO_PER_T for nelo in (nelo0, nelo1))
    pdf0, pdf1 = (_mle_with_t(values, probs, 0.5, t) for t in (t0, t1))
    return pairs * _llr(probs, pdf0, pdf1)


@dataclass(frozen=True)
class SprtState:
    """A running test: its hypotheses, error rates, Elo model and the pentanomial counts so far."""

    elo0: float
    elo1: float
    alpha: float = 0.05
    beta: float = 0.05
    model: str = "logistic"
    counts: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise MarlError(f"model must be one of {MODELS}, got {self.model!r}")
        if not self.elo0 < self.elo1:
            raise MarlError(f"elo0 must be below elo1, got {self.elo0} and {self.elo1}")
        sprt_bounds(self.alpha, self.beta)
        if len(self.counts) != 5 or any(not isinstance(c, int) or c < 0 for c in self.counts):
            raise MarlError(f"counts must be five non-negative integers, got {self.counts!r}")

    @property
    def pairs(self) -> int:
        """Game pairs counted so far."""
        return sum(self.counts)

    def add_pairs(self, pair_scores: Iterable[float]) -> SprtState:
        """A new state with these pair scores (0..2, the challenger's points) counted in."""
        added = pentanomial(pair_scores)
        return replace(self, counts=tuple(c + a for c, a in zip(self.counts, added, strict=True)))  # type: ignore[arg-type]

    def llr(self) -> float:
        """The log-likelihood ratio so far (0 before any pair)."""
        if not self.pairs:
            return 0.0
        if self.model == "logistic":
            return llr_logistic(self.counts, self.elo0, self.elo1)
        return llr_normalized(self.counts, self.elo0, self.elo1)

    def bounds(self) -> tuple[float, float]:
        """Wald's ``(lower, upper)`` bounds for this test's alpha and beta."""
        return sprt_bounds(self.alpha, self.beta)

    def verdict(self) -> str:
        """``"accept"`` (elo1 holds) at the upper bound, ``"reject"`` at the lower, else ``"continue"``."""
        llr = self.llr()
        lower, upper = self.bounds()
        return "accept" if llr >= upper else "reject" if llr <= lower else "continue"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: everything needed to resume the test."""
        return {
            "elo0": self.elo0,
            "elo1": self.elo1,
            "alpha": self.alpha,
            "beta": self.beta,
            "model": self.model,
            "counts": list(self.counts),
        }

    @classmethod
    def from_json(cls, data: Any) -> SprtState:
        """Inverse of ``to_json``; raises ``MarlError`` on missing or unknown keys."""
        keys = {"elo0", "elo1", "alpha", "beta", "model", "counts"}
        if not isinstance(data, dict) or set(data) != keys:
            raise MarlError(f"an SPRT state needs exactly the keys {sorted(keys)}, got {data!r}")
        counts = data["counts"]
        if not isinstance(counts, list):
            raise MarlError(f"counts must be a list of five integers, got {counts!r}")
        return cls(
            elo0=float(data["elo0"]),
            elo1=float(data["elo1"]),
            alpha=float(data["alpha"]),
            beta=float(data["beta"]),
            model=data["model"],
            counts=tuple(counts),  # type: ignore[arg-type]
        )
