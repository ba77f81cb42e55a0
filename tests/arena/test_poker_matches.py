"""Poker matches of many hands: every deal dealt twice with the seats swapped, the small blind
alternating, scored in mbb/hand with a 95% interval that the stored hands reproduce, replayed hand by
hand, rated as one game per match, and played by a real worker in a tournament of the reference bots."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from arena.models import Match, RatingEvent, Tournament
from arena.services.matches import match_create, match_play
from arena.services.ratings import rating_fit_get
from arena.services.tournaments import tournament_create
from marl.games import get_game
from marl.match import MatchState
from marl.poker_match import hand_cards
from tests.arena.conftest import wait_until

GAME = "texas_holdem"
SEATS = ("player_0", "player_1")


def _played(
    user, hands: int = 20, seed: int = 5, seats: tuple[str, str] = ("bot:rule", "bot:random")
) -> Match:
    match = match_create(
        user=user,
        game=GAME,
        seats=dict(zip(SEATS, seats, strict=True)),
        seed=seed,
        hands=hands,
        dispatch=False,
    )
    assert match_play(match_id=match.pk) == Match.FINISHED
    return Match.objects.get(pk=match.pk)


def _first_player_chips(record: dict) -> float:
    """The first seat's player's chips in a stored hand, recomputed by replaying its seed and moves."""
    with MatchState(GAME, record["seed"], record["moves"]) as state:
        returns = state.result().returns
    return returns[SEATS[1] if record["swapped"] else SEATS[0]] * get_game(GAME).big_blinds_per_return


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_match_deals_every_deal_twice_with_the_same_cards_and_the_seats_swapped(user):
    match = _played(user)
    hands = match.hand_results
    assert len(hands) == match.hands == 20
    by_deal: dict[int, list[dict]] = defaultdict(list)
    for record in hands:
        by_deal[record["deal"]].append(record)
    assert sorted(by_deal) == list(range(10))
    for first, second in (sorted(pair, key=lambda r: r["swapped"]) for pair in by_deal.values()):
        assert first["seed"] == second["seed"] and (first["swapped"], second["swapped"]) == (False, True)
        # The same cards to the same seat: each player holds both hands of the deal.
        assert hand_cards(GAME, first["seed"], first["moves"]) == hand_cards(
            GAME, second["seed"], second["moves"]
        )
    assert len({r["seed"] for r in hands}) == 10


@pytest.mark.django_db(transaction=True)
def test_the_hands_are_played_with_the_small_blind_alternating_between_the_players(user):
    match = _played(user, hands=12)
    blinds = []
    for record in match.hand_results:
        with MatchState(GAME, record["seed"]) as state:
            seat = state.state_json()["poker"]["small_blind"]
        first_player_sits = SEATS[1] if record["swapped"] else SEATS[0]
        blinds.append("A" if seat == first_player_sits else "B")
    assert blinds == ["A", "B"] * 6


@pytest.mark.django_db(transaction=True)
def test_the_mbb_per_hand_and_its_interval_are_recomputed_from_the_stored_hands(user):
    match = _played(user, hands=40, seed=2)
    hands = match.hand_results
    chips = [_first_player_chips(r) for r in hands]
    assert chips == [r["chips"][SEATS[0]] for r in hands]
    assert all(r["chips"][SEATS[1]] == -r["chips"][SEATS[0]] for r in hands)
    # A duplicate pair is the independent unit: its two hands share the cards' luck.
    per_deal: dict[int, list[float]] = defaultdict(list)
    for record, won in zip(hands, chips, strict=True):
        per_deal[record["deal"]].append(won)
    units = [sum(pair) / 2 for pair in per_deal.values()]
    mbb = 1000 * statistics.mean(units)
    half = 1.959964 * statistics.stdev(units) / math.sqrt(len(units)) * 1000
    summary = match.result["poker"]
    assert summary["mbb_per_hand"] == pytest.approx(mbb, abs=0.051)
    assert summary["low"] == pytest.approx(mbb - half, abs=0.051)
    assert summary["high"] == pytest.approx(mbb + half, abs=0.051)
    assert summary["chips"] == {SEATS[0]: sum(chips), SEATS[1]: -sum(chips)}
    assert summary["hands"] == 40 and summary["deals"] == 20 and summary["duplicate"]
    # The winner only where the interval excludes 0; the seats' scores say the same to the ratings.
    expected = SEATS[0] if mbb - half > 0 else SEATS[1] if mbb + half < 0 else ""
    assert match.winner == expected
    scores = {s.seat: s.score for s in match.seats.all()}
    assert scores == (
        {SEATS[0]: 0.0, SEATS[1]: 0.0}
        if not expected
        else {expected: 1.0, ({*SEATS} - {expected}).pop(): -1.0}
    )


@pytest.mark.django_db(transaction=True)
def test_a_match_the_interval_cannot_split_is_a_draw_and_one_it_can_is_a_win(user):
    even = _played(user, hands=2, seats=("bot:call", "bot:call"))  # the same bot both ways: 0 mbb
    assert even.winner == "" and even.reason == "draw" and even.result["poker"]["mbb_per_hand"] == 0
    strong = _played(user, hands=200, seed=0)  # the rule bot against random, 100 pairs
    assert strong.result["poker"]["low"] > 0 and strong.winner == SEATS[0] and strong.reason == "win"


@pytest.mark.django_db(transaction=True)
def test_a_replay_reproduces_every_hand_and_the_page_lists_them_with_the_mbb(user, user_client):
    match = _played(user, hands=10)
    bb = get_game(GAME).big_blinds_per_return
    for index, record in enumerate(match.hand_results):
        states = user_client.get(reverse("match_replay", args=[match.pk]), {"hand": index}).json()["states"]
        assert len(states) == len(record["moves"]) + 1 and states[-1]["moves"] == record["moves"]
        sat = SEATS[1] if record["swapped"] else SEATS[0]
        assert states[-1]["result"]["returns"][sat] * bb == record["chips"][SEATS[0]]
    page = user_client.get(reverse("match_detail", args=[match.pk]), {"hand": 3}).content.decode()
    assert f"{match.result['poker']['mbb_per_hand']} mbb/hand" in page
    assert page.count('href="?hand=') == 10
    assert user_client.get(reverse("match_detail", args=[match.pk]), {"hand": 10}).status_code == 404
    assert user_client.get(reverse("match_replay", args=[match.pk]), {"hand": "²"}).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("hands", "message"),
    [
        (0, "hands must be a whole number from 2 to 2000, got 0"),
        (1, "hands must be a whole number from 2 to 2000, got 1"),
        (2001, "hands must be a whole number from 2 to 2000, got 2001"),
        ("ten", "hands must be a whole number from 2 to 2000, got 'ten'"),
        (True, "hands must be a whole number from 2 to 2000, got True"),
        (7, "a duplicate match plays every deal twice: hands must be even, got 7"),
    ],
)
def test_bad_hand_counts_are_refused_with_a_clear_error_and_nothing_created(user, hands, message):
    with pytest.raises(ValidationError, match=message):
        match_create(
            user=user, game=GAME, seats={"player_0": "bot:call", "player_1": "bot:random"}, hands=hands
        )
    with pytest.raises(ValidationError, match=message):
        tournament_create(
            user=user, game=GAME, format="round_robin", participants=["bot:call", "bot:random"], hands=hands
        )
    assert not Match.objects.exists() and not Tournament.objects.exists()


@pytest.mark.django_db
def test_hands_are_refused_for_a_game_whose_match_is_one_game_and_odd_counts_pass_without_duplicate(user):
    with pytest.raises(
        ValidationError, match="a Tic-tac-toe match is one game: hands and duplicate are for poker"
    ):
        match_create(
            user=user, game="tictactoe", seats={"player_1": "bot:random", "player_2": "bot:random"}, hands=10
        )
    match = match_create(
        user=user,
        game=GAME,
        seats={"player_0": "bot:call", "player_1": "bot:random"},
        hands=7,
        duplicate=False,
        dispatch=False,
    )
    assert (match.hands, match.duplicate) == (7, False)
    default = match_create(
        user=user, game=GAME, seats={"player_0": "bot:call", "player_1": "bot:random"}, dispatch=False
    )
    assert default.hands == get_game(GAME).hands_per_match == 200


def test_a_poker_tournament_of_the_reference_bots_finishes_through_a_real_worker_and_rates_them(
    celery_worker, user, client
):
    bots = ["bot:random", "bot:call", "bot:rule"]
    tournament = tournament_create(
        user=user,
        game=GAME,
        format="round_robin",
        participants=bots,
        games_per_pair=2,
        hands=200,
        batch_size=2,
        seed=1,
    )
    wait_until(
        lambda: Tournament.objects.get(pk=tournament.pk).status == Tournament.FINISHED,
        timeout=120,
        message="the poker round robin to finish",
    )
    tournament.refresh_from_db()
    matches = Match.objects.filter(tournament_match__round__tournament=tournament)
    assert matches.count() == 6 and set(matches.values_list("status", "hands")) == {(Match.FINISHED, 200)}
    assert all(len(m.hand_results) == 200 for m in matches)
    assert len(set(matches.values_list("seed", flat=True))) == 6  # no two matches deal the same hands
    rated = RatingEvent.objects.filter(match__in=matches).values_list("match_id", flat=True)
    assert sorted(rated) == sorted(m.pk for m in matches for _ in range(2))  # each rated once, both players
    assert sum(row["games"] for row in tournament.table["standings"]) == 12
    fit = rating_fit_get(pool=GAME)
    entrants = {str(e.player_id): e.player.label for e in tournament.entries.select_related("player")}
    assert set(entrants) <= set(fit.ratings)
    page = client.get(reverse("leaderboard", args=[GAME])).content.decode()
    assert all(label in page for label in entrants.values())


@pytest.mark.django_db
def test_the_api_and_the_form_take_a_poker_match_s_hands_and_refuse_bad_ones(user_client):
    seats = {"player_0": "bot:call", "player_1": "bot:random"}
    response = user_client.post(
        "/api/matches", {"game": GAME, "seats": seats, "hands": 3}, content_type="application/json"
    )
    assert response.status_code == 400 and "hands must be even, got 3" in response.json()["error"]
    response = user_client.post(
        "/api/matches", {"game": GAME, "seats": seats, "hands": 10}, content_type="application/json"
    )
    assert response.status_code == 201 and response.json()["hands"] == 10
    url = reverse("match_create") + f"?game={GAME}"
    form = {"seat_player_0": "bot:call", "seat_player_1": "bot:random", "move_delay": "0", "hands": "9"}
    page = user_client.post(url, form).content.decode()
    assert "hands must be even, got 9" in page and Match.objects.count() == 1
    assert user_client.post(url, {**form, "hands": "12"}).status_code == 302
    assert Match.objects.order_by("-pk").first().hands == 12


@pytest.mark.django_db
def test_a_long_match_reports_its_hands_as_it_goes_so_its_worker_is_seen_alive(user):
    from arena.services.poker_matches import poker_match_play

    match = match_create(
        user=user, game=GAME, seats={"player_0": "bot:call", "player_1": "bot:random"}, dispatch=False
    )
    done: list[int] = []
    players = {s.seat: s.player for s in match.seats.all()}
    result = poker_match_play(match=match, players=players, on_hands=done.append)
    assert done == [50, 100, 150, 200] and len(result.details["hand_results"]) == 200
