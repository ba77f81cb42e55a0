"""Take over from here: any finished game's replay starts a human game at any move, against the
player that sat in the other seat, and the new game records where it came from."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from arena import live
from arena.models import Match
from arena.services.matches import match_create, match_play
from arena.services.play import human_game_create, human_move
from arena.services.play_events import PlayError
from arena.services.play_forfeits import human_game_resign
from arena.services.take_overs import match_take_over
from marl.poker_match import hand_cards
from tests.factories import CheckpointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished(user) -> Match:
    """A finished tic-tac-toe game: a checkpoint (player_1) against the random bot (player_2)."""
    checkpoint = CheckpointFactory(agent__owner=user, agent__seat="player_1", seat="player_1")
    match = match_create(
        user=user,
        game="tictactoe",
        seats={"player_1": f"checkpoint:{checkpoint.pk}", "player_2": "bot:random"},
        seed=5,
        opening_plies=0,
        dispatch=False,
    )
    match_play(match_id=match.pk)
    match.refresh_from_db()
    assert match.status == Match.FINISHED and len(match.moves) >= 5
    return match


def _player(match: Match, seat: str):
    return match.seats.get(seat=seat).player


def test_taking_over_at_move_3_starts_from_that_position_against_the_same_opponent(user, finished):
    game = match_take_over(user=user, match_id=finished.pk, ply=3, seat="player_2")
    assert game.status == Match.RUNNING and game.moves == finished.moves[:3]
    assert game.opening_plies == 3 and game.seed == finished.seed
    assert (game.source_match_id, game.source_ply) == (finished.pk, 3)
    assert _player(game, "player_1") == _player(finished, "player_1")  # the same checkpoint, same seat
    assert _player(game, "player_2").user == user


def test_taking_the_other_side_lets_the_opponent_reply_at_once(user, finished):
    game = match_take_over(user=user, match_id=finished.pk, ply=3, seat="player_1")
    assert _player(game, "player_2") == _player(finished, "player_2")  # the random bot
    assert game.moves[:3] == finished.moves[:3] and len(game.moves) == 4  # player_2 was to move


def test_a_taken_over_game_keeps_its_starting_position_as_its_opening_when_it_ends(user, finished):
    game = match_take_over(user=user, match_id=finished.pk, ply=2, seat="player_1")
    human_game_resign(match_id=game.pk, user=user)
    game.refresh_from_db()
    assert game.status == Match.FINISHED and game.opening_plies == 2 and game.winner == "player_2"


@pytest.mark.parametrize(
    ("ply", "message"), [(-1, "from 0 to"), (99, "from 0 to"), ("3", "integer"), (True, "integer")]
)
def test_a_ply_outside_the_game_is_refused_and_nothing_is_created(user, finished, ply, message):
    with pytest.raises(ValidationError, match=message):
        match_take_over(user=user, match_id=finished.pk, ply=ply, seat="player_2")
    assert not Match.objects.filter(source_match=finished).exists()


def test_the_final_position_is_refused_as_over(user, finished):
    with pytest.raises(ValidationError, match="over at ply"):
        match_take_over(user=user, match_id=finished.pk, ply=len(finished.moves), seat="player_2")


def test_a_live_match_and_an_unknown_seat_are_refused(user, finished):
    live = match_create(
        user=user,
        game="tictactoe",
        seats={"player_1": "bot:random", "player_2": "bot:random"},
        seed=1,
        dispatch=False,
    )
    with pytest.raises(ValidationError, match="still pending"):
        match_take_over(user=user, match_id=live.pk, ply=0, seat="player_1")
    with pytest.raises(ValidationError, match="seat must be one of"):
        match_take_over(user=user, match_id=finished.pk, ply=0, seat="player_9")


def test_a_seat_that_faced_a_person_cannot_be_taken_but_the_persons_own_seat_can(user, other_user):
    game = human_game_create(user=other_user, game="tictactoe", opponent="bot:minimax", seat="player_1")
    human_game_resign(match_id=game.pk, user=other_user)
    with pytest.raises(ValidationError, match="played by a person"):
        match_take_over(user=user, match_id=game.pk, ply=0, seat="player_2")
    again = match_take_over(user=user, match_id=game.pk, ply=0, seat="player_1")
    assert _player(again, "player_2").bot == "minimax"


def test_the_replay_page_offers_the_take_over_and_the_form_starts_the_game(user_client, finished):
    page = user_client.get(f"/matches/{finished.pk}/").content.decode()
    assert "data-take-over" in page and 'data-take-over-seat="player_2"' in page
    response = user_client.post(f"/matches/{finished.pk}/take-over/", {"ply": "3", "seat": "player_2"})
    game = Match.objects.get(source_match=finished)
    assert response.status_code == 302 and response["Location"] == f"/play/{game.pk}/"
    page = user_client.get(f"/play/{game.pk}/").content.decode()
    assert f"match #{finished.pk}</a> at move 3" in page


def test_a_refused_take_over_form_says_why_on_the_replay(user_client, finished):
    response = user_client.post(
        f"/matches/{finished.pk}/take-over/", {"ply": "99", "seat": "player_2"}, follow=True
    )
    assert "ply must be an integer from 0" in response.content.decode()


def test_the_api_takes_over_and_reports_the_source(user, user_client, client, finished):
    body = {"ply": 3, "seat": "player_2"}
    response = user_client.post(
        f"/api/matches/{finished.pk}/take-over", body, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["source"] == {"match": finished.pk, "ply": 3} and data["moves"] == finished.moves[:3]
    bad = user_client.post(
        f"/api/matches/{finished.pk}/take-over", {**body, "ply": 99}, content_type="application/json"
    )
    assert bad.status_code == 400 and "from 0 to" in bad.json()["error"]
    extra = user_client.post(
        f"/api/matches/{finished.pk}/take-over", {**body, "x": 1}, content_type="application/json"
    )
    assert extra.status_code == 400
    client.logout()
    assert (
        client.post(
            f"/api/matches/{finished.pk}/take-over", body, content_type="application/json"
        ).status_code
        == 401
    )


def _play_out(user, match: Match) -> Match:
    """Check, or call when there is a bet to meet, until the hand ends (bot:call only calls)."""
    while (match := Match.objects.get(pk=match.pk)).status == Match.RUNNING:
        try:
            human_move(match_id=match.pk, user=user, ply=len(match.moves), move={"move": "check"})
        except PlayError:
            human_move(match_id=match.pk, user=user, ply=len(match.moves), move={"move": "call"})
    return match


@pytest.fixture
def hand(user, settings) -> Match:
    """A finished Leduc hand: the user (player_0) against the calling bot, played to a showdown."""
    settings.ARENA_MOVES_PER_SECOND = 10_000
    game = human_game_create(user=user, game="leduc_holdem", opponent="bot:call", seat="player_0")
    finished = _play_out(user, game)
    assert finished.status == Match.FINISHED and len(finished.moves) >= 4
    return finished


def test_taking_over_a_finished_poker_hand_replays_its_deal_unrated(user, hand):
    game = match_take_over(user=user, match_id=hand.pk, ply=2, seat="player_0")
    assert game.status == Match.RUNNING and game.moves[:2] == hand.moves[:2]
    assert game.seed == hand.seed and not game.rated  # a known deal never counts
    seen = live.match_snapshot(Match.objects.get(pk=game.pk), "player_0")["match"]["state"]["poker"]
    assert seen["hands"] == {"player_0": hand_cards("leduc_holdem", hand.seed)["player_0"], "player_1": None}
    assert (game.source_match_id, game.source_ply) == (hand.pk, 2)
    assert _player(game, "player_1").bot == "call"
    assert _play_out(user, game).status == Match.FINISHED


def test_a_fresh_poker_hand_is_rated_and_other_take_overs_still_count(user, hand, finished):
    assert hand.rated
    assert match_take_over(user=user, match_id=finished.pk, ply=3, seat="player_2").rated


def test_a_chosen_poker_deal_is_refused_outside_a_take_over(user, hand):
    with pytest.raises(PlayError, match="cannot be chosen"):
        human_game_create(user=user, game="leduc_holdem", opponent="bot:call", seed=hand.seed)


def test_a_poker_match_of_many_hands_cannot_be_taken_over(user):
    match = match_create(
        user=user,
        game="leduc_holdem",
        seats={"player_0": "bot:call", "player_1": "bot:random"},
        seed=2,
        hands=2,
        dispatch=False,
    )
    match_play(match_id=match.pk)
    match.refresh_from_db()
    assert match.status == Match.FINISHED and match.hand_results
    with pytest.raises(ValidationError, match="many poker hands: play a hand of your own"):
        match_take_over(user=user, match_id=match.pk, ply=1, seat="player_0")
    assert not Match.objects.filter(source_match=match).exists()
