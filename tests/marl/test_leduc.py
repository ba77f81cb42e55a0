"""Leduc's OpenSpiel mirror: the same tree as PettingZoo's env, exact exploitability, the CFR+ anchor."""

from __future__ import annotations

import numpy as np
import pyspiel
import pytest

from marl import leduc
from marl.agents import RandomAgent
from marl.match import MatchState, play_matches
from marl.poker_bots import AlwaysCallAgent, LeducCfrAgent, leduc_cfr_table

# Computed with OpenSpiel's exploitability on arena_leduc (big blinds per hand); the uniform policy's
# value is a property of the game's tree, so it cannot drift without the rules changing.
UNIFORM_EXPLOITABILITY = 1.471604938271605
# OpenSpiel's own Leduc (antes, fixed order) has this known value for the uniform policy (chips).
OPENSPIEL_LEDUC_UNIFORM = 4.747222222222222 / 2


def _deal_of(state: MatchState) -> tuple[int, int, int, int]:
    """(rank of player_0, rank of player_1, small blind seat, public rank to come) of a fresh hand."""
    game = state.env.unwrapped.env.game
    rank = {"J": 0, "Q": 1, "K": 2}
    public = game.dealer.deck[-1]  # the next card dealt
    hands = [rank[p.hand.rank] for p in game.players]
    return hands[0], hands[1], int(game.game_pointer), rank[public.rank]


def _seeds_for_every_deal() -> dict[tuple[int, int, int, int], int]:
    seeds: dict[tuple[int, int, int, int], int] = {}
    seed = 0
    while len(seeds) < 48 and seed < 5000:  # 3x3 ranks without three of a kind, 2 blinds, the public
        with MatchState("leduc_holdem", seed) as state:
            seeds.setdefault(_deal_of(state), seed)
        seed += 1
    return seeds


def _openspiel_state(deal: tuple[int, int, int, int]) -> leduc.ArenaLeducState:
    state = leduc.game().new_initial_state()
    for outcome in deal[:3]:
        state.apply_action(outcome)
    return state


def _walk(state: leduc.ArenaLeducState, seed: int, public: int, moves: list[int], seen: set[str]) -> int:
    """Compare every decision node below ``state`` with PettingZoo replaying ``moves``; count them."""
    if state.is_chance_node():
        state.apply_action(public)
        return _walk(state, seed, public, moves, seen)
    with MatchState("leduc_holdem", seed, moves) as env_state:
        if state.is_terminal():
            assert env_state.done
            returns = env_state.result().returns
            assert [returns["player_0"], returns["player_1"]] == pytest.approx(state.returns())
            return 0
        player = state.current_player()
        assert env_state.to_move == f"player_{player}"
        obs, mask = env_state.observation()
        mine_obs, mine_mask = leduc.observation_of(state, player)
        assert np.array_equal(obs, mine_obs), state
        assert np.array_equal(mask, mine_mask), state
        key = state.information_state_string()
        assert leduc.key_from_moves(obs, moves) == key
        seen.add(key)
    count = 1
    for action in state.legal_actions():
        count += _walk(state.child(action), seed, public, [*moves, action], seen)
    return count


def test_every_information_state_matches_pettingzoo_observation_mask_and_returns() -> None:
    seeds = _seeds_for_every_deal()
    assert len(seeds) == 48
    seen: set[str] = set()
    nodes = sum(_walk(_openspiel_state(deal), seed, deal[3], [], seen) for deal, seed in seeds.items())
    assert nodes > 1000
    # Every information state of the tree was visited from some deal: the mapping is total.
    assert seen == set(leduc_cfr_table())


def test_uniform_random_exploitability_is_the_pinned_constant() -> None:
    assert leduc.exploitability(leduc.uniform_policy) == pytest.approx(UNIFORM_EXPLOITABILITY, abs=1e-9)
    assert leduc.exploitability(leduc.seat_policy(RandomAgent(0))) == pytest.approx(UNIFORM_EXPLOITABILITY)


def test_openspiel_exploitability_reproduces_the_known_leduc_value() -> None:
    from open_spiel.python import policy
    from open_spiel.python.algorithms import exploitability

    game = pyspiel.load_game("leduc_poker")
    value = exploitability.exploitability(game, policy.UniformRandomPolicy(game))
    assert value == pytest.approx(OPENSPIEL_LEDUC_UNIFORM)


def test_the_cfr_plus_anchor_is_near_equilibrium() -> None:
    value = leduc.exploitability(leduc.seat_policy(LeducCfrAgent(0)))
    assert 0 <= value < 0.005
    assert value < UNIFORM_EXPLOITABILITY / 100


def test_always_call_is_far_more_exploitable_than_the_anchor() -> None:
    assert leduc.exploitability(leduc.seat_policy(AlwaysCallAgent(0))) > 0.5


def test_the_cfr_plus_bot_beats_random_over_many_hands() -> None:
    seats = ("player_0", "player_1")
    total = 0.0
    for cfr_seat in seats:
        other = seats[1 - seats.index(cfr_seat)]
        agents = {cfr_seat: LeducCfrAgent(1), other: RandomAgent(2)}
        total += sum(r.returns[cfr_seat] for r in play_matches("leduc_holdem", agents, range(300)))
    assert total / 600 > 0.3


def test_the_cfr_ladder_bots_mix_the_anchor_with_random_moves() -> None:
    from marl.bots import make_bot
    from marl.errors import MarlError

    def exploitability(name: str) -> float:
        return leduc.exploitability(leduc.seat_policy(make_bot("leduc_holdem", name, seed=0)))

    assert exploitability("cfr:0") == pytest.approx(UNIFORM_EXPLOITABILITY)  # all random moves
    assert exploitability("cfr:100") == pytest.approx(exploitability("cfr"))
    assert (
        UNIFORM_EXPLOITABILITY > exploitability("cfr:30") > exploitability("cfr:60") > exploitability("cfr")
    )
    with pytest.raises(MarlError, match="0..100%"):
        make_bot("leduc_holdem", "cfr:101")
