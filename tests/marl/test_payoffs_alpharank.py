"""α-Rank and beat cycles against small games whose answers are known by hand."""

import numpy as np
import pytest

from marl.payoffs import alpharank, beat_cycles, payoff_matrix

ROCK_PAPER_SCISSORS = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], dtype=float)


def test_rock_paper_scissors_gives_each_strategy_a_third_of_the_mass():
    assert alpharank(ROCK_PAPER_SCISSORS) == pytest.approx([1 / 3] * 3, abs=1e-6)


def test_a_strategy_everyone_beats_gets_no_mass():
    # A beats B, both beat C: C is dominated, and A, unbeaten, takes all the mass.
    payoffs = np.array([[0, 0.5, 1], [-0.5, 0, 1], [-1, -1, 0]])
    mass = alpharank(payoffs)
    assert mass[2] == pytest.approx(0, abs=1e-6)
    assert mass[0] == pytest.approx(1, abs=1e-6)


def test_a_dominated_fourth_strategy_leaves_the_cycle_its_uniform_mass():
    payoffs = np.zeros((4, 4))
    payoffs[:3, :3] = ROCK_PAPER_SCISSORS
    payoffs[:3, 3], payoffs[3, :3] = 1, -1
    mass = alpharank(payoffs)
    assert mass[3] == pytest.approx(0, abs=1e-6)
    assert mass[:3] == pytest.approx([1 / 3] * 3, abs=1e-6)


def test_alpharank_refuses_a_matrix_that_is_not_square():
    with pytest.raises(ValueError, match="square"):
        alpharank(np.zeros((2, 3)))


def test_the_cycle_finder_names_rock_paper_scissors_once_from_its_smallest_member():
    assert beat_cycles(ROCK_PAPER_SCISSORS) == [(0, 2, 1)]  # rock beats scissors beats paper beats rock


def test_a_transitive_pool_has_no_cycle():
    payoffs = np.array([[0, 1, 1], [-1, 0, 1], [-1, -1, 0]], dtype=float)
    assert beat_cycles(payoffs) == []


def test_a_four_cycle_without_any_three_cycle_is_found():
    # 0 > 1 > 2 > 3 > 0, and the diagonals 0-2 and 1-3 are even.
    payoffs = np.zeros((4, 4))
    for a, b in ((0, 1), (1, 2), (2, 3), (3, 0)):
        payoffs[a, b], payoffs[b, a] = 0.6, -0.6
    assert beat_cycles(payoffs) == [(0, 1, 2, 3)]
    assert beat_cycles(payoffs, max_length=3) == []


def test_a_narrow_edge_under_the_margin_breaks_a_cycle():
    payoffs = ROCK_PAPER_SCISSORS * 0.05
    assert beat_cycles(payoffs, margin=0.1) == []


def test_the_payoff_matrix_nets_wins_against_losses_per_pair_and_counts_games():
    games = [("a", "b", 1.0), ("b", "a", 1.0), ("a", "b", 1.0), ("a", "c", 0.5), ("x", "a", 1.0)]
    payoffs, count = payoff_matrix(games, ["a", "b", "c"])
    assert payoffs[0, 1] == pytest.approx(1 / 3) and payoffs[1, 0] == pytest.approx(-1 / 3)
    assert payoffs[0, 2] == 0 and count[0, 2] == 1
    assert count[0, 1] == 3 and count[1, 2] == 0 and payoffs[1, 2] == 0
