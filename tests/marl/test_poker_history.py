"""The hand history's betting rounds and chips (``poker_view``'s ``history``), checked against RLCard's
own chips and round counter after every action of many random hands of each poker game."""

from __future__ import annotations

import numpy as np
import pytest

from marl.match import MatchState

POKER = ("leduc_holdem", "texas_holdem", "texas_holdem_no_limit")


def _random_hand(game: str, seed: int) -> tuple[MatchState, list[dict]]:
    """A hand of random legal actions, and RLCard's round and chips in for each action as it was made."""
    rng = np.random.default_rng(seed)
    state = MatchState(game, seed)
    truth = []
    while not state.done:
        rlcard = state.env.unwrapped.env.game
        mover = rlcard.game_pointer
        before = int(rlcard.players[mover].in_chips)
        street = int(rlcard.round_counter)
        _, mask = state.observation()
        state.apply(int(rng.choice(np.flatnonzero(mask))))
        truth.append({"round": street, "chips": int(rlcard.players[mover].in_chips) - before})
    return state, truth


@pytest.mark.parametrize("game", POKER)
def test_every_action_of_the_history_is_in_rlcards_round_with_the_chips_rlcard_took(game: str) -> None:
    rounds_seen: set[int] = set()
    all_ins = 0
    for seed in range(300):
        state, truth = _random_hand(game, seed)
        with state:
            history = state.state_json("player_0")["poker"]["history"]
        assert [{"round": h["round"], "chips": h["chips"]} for h in history] == truth, (seed, history)
        rounds_seen |= {h["round"] for h in history}
        all_ins += any(h["action"] == "all_in" for h in history)
    # The hands reached the last betting round, and no-limit's went all in often enough to count.
    assert max(rounds_seen) == (1 if game == "leduc_holdem" else 3)
    assert game != "texas_holdem_no_limit" or all_ins > 20


def test_a_no_limit_history_reads_as_checks_calls_and_raises_in_chips() -> None:
    # Small blind calls 1, big blind raises the pot (4), the call of 4 ends the pre-flop round.
    with MatchState("texas_holdem_no_limit", 5, moves=[1, 3, 1]) as state:
        history = state.state_json(None)["poker"]["history"]
    assert [(h["action"], h["round"], h["chips"]) for h in history] == [
        ("check_call", 0, 1),
        ("raise_pot", 0, 4),
        ("check_call", 0, 4),
    ]
