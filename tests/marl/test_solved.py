"""Strength against perfect play: exact tic-tac-toe analysis and the connect four ladder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from marl.agents import PolicyAgent, RandomAgent
from marl.bots import AlphaBetaAgent, MinimaxAgent
from marl.errors import MarlError
from marl.match import MatchState
from marl.solved import _observation, alphabeta_ladder, outcome, tictactoe_against_perfect_play

SEATS = ("player_1", "player_2")


def test_tictactoe_values_by_hand():
    assert outcome(0, 0) == 0  # a draw with perfect play
    assert outcome(0, 0b000_010_000) == 0  # after the centre the second player still draws
    assert outcome(0b000_000_011, 0b000_011_000) == 1  # the mover completes 0-1-2
    assert outcome(0b000_000_001, 0b000_000_010) == 1  # a corner answered by the next edge: the corner wins


@pytest.mark.parametrize("seat", SEATS)
def test_the_minimax_bot_makes_no_mistake_and_never_loses(seat):
    report = tictactoe_against_perfect_play(MinimaxAgent(), seat)
    assert report.positions > 0
    assert report.mistakes == 0 and report.mistake_share == 0.0
    assert report.loss == 0.0 and report.win == 0.0 and report.draw == pytest.approx(1.0)


@pytest.mark.parametrize("seat", SEATS)
def test_random_and_untrained_policies_make_mistakes_and_lose(seat):
    torch.manual_seed(0)
    untrained = PolicyAgent(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(18, 9)), device="cpu")
    for policy in (RandomAgent(0), untrained):
        report = tictactoe_against_perfect_play(policy, seat)
        assert 0.0 < report.mistake_share < 1.0
        assert report.loss > 0.0
        assert report.win + report.draw + report.loss == pytest.approx(1.0)
        assert report.win == 0.0  # perfect play never loses


def test_the_first_free_cell_policy_loses_every_game_by_hand():
    # As player_1 it plays 0 (a corner); the only reply that holds the draw is the centre 4, so the
    # perfect player takes it. It then plays 1, threatening 0-1-2: the reply must be 2, which threatens
    # 2-4-6. It plays 3 instead of blocking at 6 (a mistake) and the perfect player wins from there.
    def first_free(observation: np.ndarray, mask: np.ndarray) -> int:
        return int(np.flatnonzero(mask)[0])

    report = tictactoe_against_perfect_play(first_free, "player_1")
    assert report.loss == 1.0 and report.win == report.draw == 0.0
    assert report.mistakes >= 1


def test_the_observation_built_from_bits_is_pettingzoos():
    rng = np.random.default_rng(0)
    for _ in range(20):
        state = MatchState("tictactoe", 0)
        bits = [0, 0]
        while not state.done:
            mover = state.ply % 2
            obs, mask = state.observation()
            mine_obs, mine_mask = _observation(bits[mover], bits[1 - mover])
            assert np.array_equal(np.asarray(obs), mine_obs) and np.array_equal(np.asarray(mask), mine_mask)
            action = int(rng.choice(np.flatnonzero(mask)))
            state.apply(action)
            bits[mover] |= 1 << action


def test_an_illegal_policy_or_seat_is_refused():
    with pytest.raises(MarlError, match="illegal"):
        tictactoe_against_perfect_play(lambda obs, mask: 9, "player_1")
    with pytest.raises(MarlError, match="seat"):
        tictactoe_against_perfect_play(MinimaxAgent(), "player_0")


def test_the_connect_four_ladder_ranks_search_above_random():
    searcher = alphabeta_ladder(AlphaBetaAgent(depth=2), depths=(1,), pairs=3)
    rand = alphabeta_ladder(RandomAgent(0), depths=(1,), pairs=3)
    assert set(searcher) == {1}
    assert searcher[1] > 0.5 > rand[1]
