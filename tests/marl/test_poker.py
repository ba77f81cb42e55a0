"""Poker entries: what each viewer sees, named moves, duplicate deals, replays, reference bots."""

from __future__ import annotations

import json

import numpy as np
import pytest

from marl.agents import RandomAgent
from marl.bots import make_bot
from marl.errors import IllegalMoveError
from marl.games import get_game
from marl.games_poker import board_cards
from marl.match import MatchState, play_match, play_matches
from marl.poker_match import deal_seeds, hand_cards, play_poker_match

POKER = ("leduc_holdem", "texas_holdem", "texas_holdem_no_limit")


def _play_to_end(game: str, seed: int, pick) -> MatchState:
    state = MatchState(game, seed)
    while not state.done:
        _, mask = state.observation()
        state.apply(pick(np.flatnonzero(mask)))
    return state


def _calls(game: str):
    """Check or call every time (no-limit's action 1; limit's 3 when free, else 0)."""
    if game == "texas_holdem_no_limit":
        return lambda legal: 1
    return lambda legal: 3 if 3 in legal else 0


@pytest.mark.parametrize("game", POKER)
def test_a_seat_sees_its_own_cards_and_nobody_sees_the_other_hand_before_the_showdown(game: str) -> None:
    with MatchState(game, 5) as state:
        cards = hand_cards(game, 5)
        mine = state.state_json("player_0")["poker"]["hands"]
        theirs = state.state_json("player_1")["poker"]["hands"]
        watching = state.state_json()["poker"]["hands"]
        assert mine == {"player_0": cards["player_0"], "player_1": None}
        assert theirs == {"player_0": None, "player_1": cards["player_1"]}
        assert watching == {"player_0": None, "player_1": None}
        text = json.dumps(state.state_json())
        assert not any(card in text for hand in cards.values() for card in hand)


@pytest.mark.parametrize("game", POKER)
def test_a_showdown_shows_both_hands_to_everyone(game: str) -> None:
    state = _play_to_end(game, 7, _calls(game))
    view = state.state_json()["poker"]
    assert view["showdown"] is True
    assert view["hands"] == hand_cards(game, 7, state.moves)


@pytest.mark.parametrize("game", POKER)
def test_a_folded_hand_is_never_shown_and_neither_is_the_winners(game: str) -> None:
    fold = get_game(game).parse_move
    state = MatchState(game, 3)
    state.apply(fold(state.env.unwrapped, {"move": "fold"}))
    assert state.done
    for viewer in (None, "player_0", "player_1"):
        hands = state.state_json(viewer)["poker"]["hands"]
        assert [seat for seat, cards in hands.items() if cards] == ([viewer] if viewer else [])


def test_named_moves_map_to_legal_actions_and_illegal_ones_are_refused_clearly() -> None:
    spec = get_game("leduc_holdem")
    with MatchState("leduc_holdem", 0) as state:  # the small blind faces the big blind: no check
        with pytest.raises(IllegalMoveError, match="'check' is not a legal move here; legal: call 1"):
            spec.move_from_json(state.env, {"move": "check"})
        with pytest.raises(IllegalMoveError, match="not a legal size"):
            spec.move_from_json(state.env, {"move": "raise", "amount": 7})
        with pytest.raises(IllegalMoveError, match="send"):
            spec.move_from_json(state.env, {"move": "call", "extra": 1})
        assert spec.move_from_json(state.env, {"move": "call"}) == 0
        assert spec.move_from_json(state.env, {"move": "raise", "amount": 3}) == 1
        before = state.state_json("player_0")
        with pytest.raises(IllegalMoveError):
            state.apply(3)  # check, by index: refused, and nothing changed
        assert state.state_json("player_0") == before


def test_no_limit_raises_need_a_legal_amount() -> None:
    spec = get_game("texas_holdem_no_limit")
    with MatchState("texas_holdem_no_limit", 0) as state:
        sizes = {a["name"]: a["amount"] for a in state.state_json()["poker"]["actions"]}
        with pytest.raises(IllegalMoveError, match="say how many chips"):
            spec.move_from_json(state.env, {"move": "raise"})
        with pytest.raises(IllegalMoveError, match="raise of 5 chips is not a legal size here; legal: "):
            spec.move_from_json(state.env, {"move": "raise", "amount": 5})
        with pytest.raises(IllegalMoveError, match="amount must be"):
            spec.move_from_json(state.env, {"move": "raise", "amount": -1})
        assert spec.move_from_json(state.env, {"move": "raise", "amount": sizes["all_in"]}) == 4


def test_deals_alternate_the_small_blind() -> None:
    seeds = deal_seeds("leduc_holdem", 11, 6)
    blinds = []
    for seed in seeds:
        with MatchState("leduc_holdem", seed) as state:
            blinds.append(state.state_json()["poker"]["small_blind"])
    assert blinds == ["player_0", "player_1"] * 3


@pytest.mark.parametrize("game", POKER)
def test_a_duplicate_match_deals_the_same_cards_to_the_same_seat_with_the_players_swapped(game: str) -> None:
    match = play_poker_match(game, RandomAgent(1), make_bot(game, "call", 2), deals=8, seed=4)
    firsts, seconds = match.hands[:8], match.hands[8:]
    for seed, first, second in zip(match.seeds, firsts, seconds, strict=True):
        assert hand_cards(game, seed, first.moves) == hand_cards(game, seed, second.moves)
        with MatchState(game, seed, first.moves) as a, MatchState(game, seed, second.moves) as b:
            board_a, board_b = board_cards(a.env.unwrapped), board_cards(b.env.unwrapped)
            shorter = min(len(board_a), len(board_b))
            assert board_a[:shorter] == board_b[:shorter]
    low, high = match.interval
    assert low <= match.mbb_per_hand <= high


@pytest.mark.parametrize("game", POKER)
def test_a_replay_from_seed_and_moves_reproduces_every_state_of_the_hand(game: str) -> None:
    agents = {"player_0": RandomAgent(3), "player_1": make_bot(game, "call", 4)}
    for seed in range(5):
        seen: list[dict] = []
        result = play_match(
            game, agents, seed, on_step=lambda step, seen=seen: seen.append(step.state.state_json("player_0"))
        )
        replay = MatchState(game, seed)
        for index, action in enumerate(result.moves):
            replay.apply(action)
            assert replay.state_json("player_0") == seen[index]
        assert replay.result().returns == result.returns
        replay.close()


def test_the_rule_bot_beats_random_at_limit_holdem() -> None:
    match = play_poker_match(
        "texas_holdem", make_bot("texas_holdem", "rule", 0), RandomAgent(1), deals=100, seed=0
    )
    assert match.interval[0] > 0


@pytest.mark.parametrize("game", POKER)
def test_batched_hands_equal_hands_played_one_by_one(game: str) -> None:
    other = "call" if game == "leduc_holdem" else "rule"  # deterministic bots: the same moves either way

    def bots() -> dict:
        return {"player_0": make_bot(game, "call"), "player_1": make_bot(game, other)}

    seeds = [0, 3, 11, 12, 40]
    singles = [play_match(game, bots(), s) for s in seeds]
    assert play_matches(game, bots(), seeds) == singles
