"""The pentanomial SPRT: counting game pairs, LLRs against fishtest's reference values, resuming."""

from __future__ import annotations

import json
import math

import pytest

from marl.agents import RandomAgent
from marl.bots import MinimaxAgent
from marl.errors import MarlError
from marl.game_pairs import play_pairs
from marl.sprt import SprtState, llr_logistic, llr_normalized, pentanomial, sprt_bounds

# Values from fishtest's LLRcalc.py (LLR_logistic / LLR_normalized, commit b8eecff of
# official-stockfish/fishtest) on the same pentanomials: (counts, elo0, elo1, logistic, normalized).
FISHTEST = [
    ([10, 40, 100, 45, 12], 0, 10, 0.2097169027, 0.2293575568),
    ([10, 40, 100, 45, 12], -20, 5, 3.0402148800, 1.6441048394),
    ([0, 3, 20, 7, 1], 0, 50, 1.1520878989, 1.2945904683),
    ([1, 60, 500, 1200, 600], 0, 10, 66.8684231695, 65.7523128804),
    ([30, 120, 300, 140, 25], 0, 50, -27.7817525455, -10.3489860662),
]


def test_pair_scores_fall_into_five_outcomes():
    assert pentanomial([0, 0.5, 1, 1, 1.5, 2, 2, 2]) == [1, 1, 2, 1, 3]
    assert pentanomial([]) == [0, 0, 0, 0, 0]
    with pytest.raises(MarlError):
        pentanomial([0.75])


def test_game_pairs_count_into_the_pentanomial():
    pairs = play_pairs("tictactoe", MinimaxAgent(), RandomAgent(), range(12))
    counts = pentanomial(p.score() for p in pairs)
    assert sum(counts) == 12
    assert counts[0] == counts[1] == 0  # perfect play never loses a game
    assert counts == [sum(p.score() == s for p in pairs) for s in (0, 0.5, 1, 1.5, 2)]


@pytest.mark.parametrize(("counts", "elo0", "elo1", "logistic", "normalized"), FISHTEST)
def test_llr_matches_fishtest(counts, elo0, elo1, logistic, normalized):
    assert llr_logistic(counts, elo0, elo1) == pytest.approx(logistic, abs=1e-9)
    assert llr_normalized(counts, elo0, elo1) == pytest.approx(normalized, abs=1e-9)


def test_symmetric_results_between_symmetric_hypotheses_give_zero():
    # The observed mean pair score is exactly 1 (even): elo -e and +e are equally far from it.
    for counts in ([3, 10, 20, 10, 3], [1, 0, 5, 0, 1]):
        assert llr_logistic(counts, -20, 20) == pytest.approx(0.0, abs=1e-12)
        assert llr_normalized(counts, -20, 20) == pytest.approx(0.0, abs=1e-12)


def test_llr_is_close_to_the_brownian_approximation_worked_by_hand():
    # [10, 40, 100, 45, 12] over pair scores 0, .25, .5, .75, 1 (scaled): N = 207, mean 105.75 / 207
    # = 0.510870, E[a^2] = 64.8125 / 207 = 0.313104, var = 0.052116; s0 = 0.5, s1 = L(10) = 0.514387.
    # N (s1 - s0)(2 mean - s0 - s1) / (2 var) = 207 * 0.014387 * 0.007353 / 0.104232 = 0.2101.
    assert llr_logistic([10, 40, 100, 45, 12], 0, 10) == pytest.approx(0.2101, rel=0.01)


def test_wald_bounds():
    lower, upper = sprt_bounds(0.05, 0.05)
    assert lower == pytest.approx(-math.log(19)) and upper == pytest.approx(math.log(19))
    with pytest.raises(MarlError):
        sprt_bounds(0.6, 0.5)


def test_a_state_round_trips_through_json_and_resumes():
    scores = [2, 1.5, 1, 1, 0.5, 2, 1.5, 1.5, 1, 0, 2, 1.5] * 5
    whole = SprtState(elo0=0, elo1=50).add_pairs(scores)
    half = SprtState(elo0=0, elo1=50).add_pairs(scores[:30])
    stored = json.loads(json.dumps(half.to_json()))
    resumed = SprtState.from_json(stored).add_pairs(scores[30:])
    assert resumed == whole
    assert resumed.llr() == whole.llr() == llr_logistic(whole.counts, 0, 50)
    assert whole.pairs == 60
    with pytest.raises(MarlError):
        SprtState.from_json({**stored, "extra": 1})
    with pytest.raises(MarlError):
        SprtState.from_json({**stored, "model": "bayesian"})


def test_verdicts_follow_the_bounds():
    state = SprtState(elo0=0, elo1=50, alpha=0.05, beta=0.05)
    assert state.llr() == 0.0 and state.verdict() == "continue"
    assert state.add_pairs([2, 1.5, 1.5, 1]).verdict() == "continue"
    assert state.add_pairs([2, 1.5, 1.5, 1] * 40).verdict() == "accept"
    assert state.add_pairs([1, 0.5, 1, 1.5, 0.5] * 60).verdict() == "reject"
    normalized = SprtState(elo0=0, elo1=50, model="normalized").add_pairs([2, 1.5, 1.5, 1] * 40)
    assert normalized.verdict() == "accept"
