"""Pairings: schedules checked for their invariants, Swiss against a brute-force oracle."""

from collections import Counter
from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marl.errors import MarlError
from marl.pairing import (
    gauntlet,
    knockout_bracket,
    knockout_next_round,
    knockout_round,
    knockout_slots,
    pfsp_sample,
    pfsp_weights,
    round_robin,
    swiss_pairings,
)


def names(n: int) -> list[str]:
    return [f"p{i}" for i in range(n)]


# ------------------------------------------------------------------------------------ Round robin


@pytest.mark.parametrize("n", range(2, 10))
@pytest.mark.parametrize("games_per_pair", [1, 2, 3, 4])
def test_round_robin_every_pair_meets_the_right_number_of_times(n, games_per_pair):
    players = names(n)
    rounds = round_robin(players, games_per_pair=games_per_pair)
    cycle = n - 1 if n % 2 == 0 else n
    assert len(rounds) == games_per_pair * cycle
    meetings = Counter(frozenset(g) for rd in rounds for g in rd)
    assert set(meetings) == {frozenset(p) for p in combinations(players, 2)}
    assert set(meetings.values()) == {games_per_pair}
    for rd in rounds:
        seated = [p for g in rd for p in g]
        assert len(seated) == len(set(seated))  # nobody plays twice in a round
        assert len(seated) == n - n % 2  # odd count: exactly one bye a round


@pytest.mark.parametrize("n", range(2, 10))
@pytest.mark.parametrize("games_per_pair", [2, 4])
def test_round_robin_even_games_per_pair_balances_seats_for_every_pair(n, games_per_pair):
    seats = Counter(g for rd in round_robin(names(n), games_per_pair=games_per_pair) for g in rd)
    for a, b in combinations(names(n), 2):
        assert seats[(a, b)] == seats[(b, a)] == games_per_pair // 2


@pytest.mark.parametrize("n", range(2, 13))
def test_round_robin_single_cycle_gives_each_player_the_first_seat_about_half_the_time(n):
    rounds = round_robin(names(n), games_per_pair=1)
    first = Counter(a for rd in rounds for a, _ in rd)
    games = Counter(p for rd in rounds for g in rd for p in g)
    for p in names(n):
        assert abs(2 * first[p] - games[p]) <= 1


def test_round_robin_of_three_hand_checked():
    assert round_robin(["a", "b", "c"], games_per_pair=2) == [
        [("b", "c")],
        [("c", "a")],
        [("a", "b")],
        [("c", "b")],
        [("a", "c")],
        [("b", "a")],
    ]


@pytest.mark.parametrize("bad", [["a"], ["a", "a"], ["a", ""]])
def test_round_robin_rejects_bad_participants(bad):
    with pytest.raises(MarlError):
        round_robin(bad)


# ------------------------------------------------------------------------------------------ Swiss


def min_rematches(players: list[str], met: set[frozenset]) -> int:
    """Fewest rematches over every bye choice and every perfect matching (brute force)."""

    def best(rest: list[str]) -> int:
        if not rest:
            return 0
        first, others = rest[0], rest[1:]
        return min((frozenset((first, o)) in met) + best([x for x in others if x != o]) for o in others)

    if len(players) % 2:
        return min(best([p for p in players if p != bye]) for bye in players)
    return best(players)


def check_round(players, pairs, bye):
    seated = [p for g in pairs for p in g] + ([bye] if bye is not None else [])
    assert sorted(seated) == sorted(players)  # every player paired (or given the bye) exactly once
    assert (bye is None) == (len(players) % 2 == 0)


def test_swiss_avoids_rematches():
    # a and b lead but already met; top-down pairing would give a-b, c-d, so both pairs must change.
    points = {"a": 2.0, "b": 1.5, "c": 1.0, "d": 0.5}
    pairs, bye = swiss_pairings(list("abcd"), points, [frozenset("ab"), frozenset("cd")])
    assert bye is None
    assert {frozenset(p) for p in pairs} == {frozenset("ac"), frozenset("bd")}


def test_swiss_pairs_within_score_groups_first():
    points = {"a": 2, "b": 2, "c": 1, "d": 1, "e": 0, "f": 0}
    pairs, _ = swiss_pairings(list("fedcba"), points, [])
    assert {frozenset(p) for p in pairs} == {frozenset("ab"), frozenset("cd"), frozenset("ef")}


def test_swiss_bye_goes_to_the_lowest_ranked_player_without_one():
    points = {"a": 2, "b": 1.5, "c": 1, "d": 0.5, "e": 0}
    _, bye = swiss_pairings(list("abcde"), points, [], byes=["e"])
    assert bye == "d"
    _, bye = swiss_pairings(list("abcde"), points, [])
    assert bye == "e"


def test_swiss_bye_moves_up_when_the_lowest_player_would_force_a_rematch():
    # a has met b, c and d: if e sits out, a must replay someone. With d out, a-e and b-c are new.
    points = {"a": 2, "b": 1.5, "c": 1, "d": 0.5, "e": 0}
    played = [frozenset("ab"), frozenset("ac"), frozenset("ad")]
    pairs, bye = swiss_pairings(list("abcde"), points, played)
    assert bye == "d"
    assert {frozenset(p) for p in pairs} == {frozenset("ae"), frozenset("bc")}


def test_swiss_uses_seat_history_from_ordered_games():
    # a already had the first seat twice, c never: c goes first.
    points = {"a": 1, "c": 1}
    pairs, _ = swiss_pairings(["a", "c"], points, [("a", "x"), ("a", "y"), ("z", "c")])
    assert pairs == [("c", "a")]


def test_swiss_is_deterministic_for_a_seed():
    players = names(10)
    assert swiss_pairings(players, {}, [], seed=3) == swiss_pairings(players, {}, [], seed=3)


def test_swiss_allows_a_rematch_only_when_unavoidable():
    # Three rounds among four players: everyone has met everyone, so two rematches are forced.
    played = [frozenset(p) for p in combinations("abcd", 2)]
    pairs, bye = swiss_pairings(list("abcd"), {}, played)
    check_round(list("abcd"), pairs, bye)
    assert len(pairs) == 2


def test_swiss_stays_quick_when_every_pair_has_already_met():
    # An exhaustive search over pairings would take exponential time to prove 12 rematches minimal.
    players = names(25)
    played = [frozenset(p) for p in combinations(players, 2)]
    pairs, bye = swiss_pairings(players, {}, played)
    check_round(players, pairs, bye)
    assert len(pairs) == 12


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.data())
def test_swiss_eight_players_three_rounds_never_rematch(seed, data):
    players = names(8)
    points: Counter[str] = Counter()
    played: list[tuple[str, str]] = []
    for rnd in range(3):
        pairs, bye = swiss_pairings(players, points, played, seed=seed + rnd)
        check_round(players, pairs, bye)
        assert not {frozenset(p) for p in pairs} & {frozenset(p) for p in played}
        for a, b in pairs:
            score = data.draw(st.sampled_from([0.0, 0.5, 1.0]))
            points[a] += score
            points[b] += 1.0 - score
            played.append((a, b))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 9).flatmap(
        lambda n: st.tuples(
            st.just(n), st.sets(st.sampled_from(list(combinations(range(n), 2)))) if n > 1 else st.just(set())
        )
    ),
    st.integers(0, 100),
)
def test_swiss_has_no_more_rematches_than_the_best_possible_pairing(case, seed):
    n, edges = case
    players = names(n)
    met = {frozenset((players[i], players[j])) for i, j in edges}
    points = {p: float(i % 3) for i, p in enumerate(players)}
    pairs, bye = swiss_pairings(players, points, met, seed=seed)
    check_round(players, pairs, bye)
    assert sum(frozenset(p) in met for p in pairs) == min_rematches(players, met)


# --------------------------------------------------------------------------------------- Knockout


def test_knockout_bracket_of_eight_is_hand_checked():
    assert knockout_bracket(8) == [(1, 8), (4, 5), (2, 7), (3, 6)]


def test_knockout_bracket_gives_byes_to_the_top_seeds():
    assert knockout_bracket(6) == [(1, None), (4, 5), (2, None), (3, 6)]
    assert knockout_bracket(2) == [(1, 2)]
    assert knockout_bracket(3) == [(1, None), (2, 3)]


@pytest.mark.parametrize("n", [4, 8, 16, 32])
def test_knockout_bracket_pairs_seeds_summing_to_n_plus_one(n):
    bracket = knockout_bracket(n)
    assert all(a + b == n + 1 for a, b in bracket)
    top_half = {s for pair in bracket[: n // 4] for s in pair}
    assert 1 in top_half and 2 not in top_half  # 1 and 2 can meet only in the final


def test_knockout_round_returns_pairs_and_byes():
    assert knockout_round(list("abcdef")) == ([("d", "e"), ("c", "f")], ["a", "b"])


@pytest.mark.parametrize("n", range(2, 18))
def test_knockout_with_favourites_winning_ends_in_a_final_of_the_top_two_seeds(n):
    players = names(n)  # seed order: p0 is the top seed
    slots = knockout_slots(players)
    while True:
        winners = {min(s, key=players.index) for s in slots if s[1] is not None}
        nxt = knockout_next_round(slots, winners)
        if not nxt:
            break
        slots = nxt
    assert len(slots) == 1 and set(slots[0]) == {"p0", "p1"}


def test_knockout_next_round_requires_one_winner_per_match():
    with pytest.raises(MarlError, match="exactly one"):
        knockout_next_round([("a", "b"), ("c", "d")], {"a", "b", "c"})


# --------------------------------------------------------------------------------------- Gauntlet


def test_gauntlet_swaps_seats_against_each_opponent():
    assert gauntlet("new", ["x", "y"]) == [("new", "x"), ("x", "new"), ("new", "y"), ("y", "new")]
    assert gauntlet("new", ["x"], games_per_opponent=3) == [("new", "x"), ("x", "new"), ("new", "x")]


def test_gauntlet_rejects_the_challenger_in_its_own_field():
    with pytest.raises(MarlError, match="challenger"):
        gauntlet("x", ["x", "y"])


# ------------------------------------------------------------------------------------------- PFSP

WIN_RATES = {"a": 0.0, "b": 0.5, "c": 0.75, "d": 1.0}


def test_pfsp_hard_weights_hand_checked():
    # (1 - x)^2: 1, 0.25, 0.0625, 0; sum 1.3125 = 21/16.
    w = pfsp_weights(WIN_RATES, mode="hard")
    assert w == pytest.approx({"a": 16 / 21, "b": 4 / 21, "c": 1 / 21, "d": 0.0})


def test_pfsp_even_weights_hand_checked():
    # x (1 - x): 0, 0.25, 0.1875, 0; sum 0.4375.
    assert pfsp_weights(WIN_RATES, mode="even") == pytest.approx({"a": 0.0, "b": 4 / 7, "c": 3 / 7, "d": 0.0})


def test_pfsp_linear_weights_hand_checked():
    # 1 - x: 1, 0.5, 0.25, 0; sum 1.75.
    assert pfsp_weights(WIN_RATES, mode="linear") == pytest.approx(
        {"a": 4 / 7, "b": 2 / 7, "c": 1 / 7, "d": 0.0}
    )


def test_pfsp_hard_with_p_one_equals_linear():
    assert pfsp_weights(WIN_RATES, mode="hard", p=1.0) == pytest.approx(
        pfsp_weights(WIN_RATES, mode="linear")
    )


def test_pfsp_falls_back_to_uniform_when_every_weight_is_zero():
    assert pfsp_weights({"a": 1.0, "b": 1.0}) == {"a": 0.5, "b": 0.5}


@pytest.mark.parametrize(
    "rates, kwargs", [({}, {}), ({"a": 1.5}, {}), ({"a": 0.5}, {"mode": "bogus"}), ({"a": 0.5}, {"p": 0})]
)
def test_pfsp_rejects_bad_input(rates, kwargs):
    with pytest.raises(MarlError):
        pfsp_weights(rates, **kwargs)


def test_pfsp_sample_is_deterministic_and_ignores_mapping_order():
    reordered = dict(reversed(list(WIN_RATES.items())))
    assert pfsp_sample(WIN_RATES, 5, k=20) == pfsp_sample(reordered, 5, k=20)
    assert pfsp_sample(WIN_RATES, np.random.default_rng(5), k=20) == pfsp_sample(WIN_RATES, 5, k=20)


def test_pfsp_sample_follows_the_weights_and_skips_zero_weight_opponents():
    picks = Counter(pfsp_sample(WIN_RATES, 0, k=20_000, mode="linear"))
    assert "d" not in picks
    assert picks["a"] / 20_000 == pytest.approx(4 / 7, abs=0.02)
    assert picks["c"] / 20_000 == pytest.approx(1 / 7, abs=0.02)
