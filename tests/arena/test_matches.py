"""Matches played by a real Celery worker, streamed over the real Redis channel layer, and rated."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.exceptions import ValidationError

from arena import live, selectors
from arena.asgi import application
from arena.models import Checkpoint, Match, Rating, RatingEvent
from arena.selectors import match_state_json
from arena.services.match_batches import matches_play_batch
from arena.services.matches import match_create, match_play
from marl.match import opening_for_seed
from tests.arena.conftest import SAME_ORIGIN, refreshed, socket_open
from tests.factories import MatchFactory, checkpoint_specs, match_finished


def _bots(game: str = "tictactoe", first: str = "bot:minimax", second: str = "bot:random") -> dict[str, str]:
    from marl.games import get_game

    seats = get_game(game).seats
    return {seats[0]: first, seats[1]: second}


@pytest.mark.django_db(transaction=True)
async def test_match_task_events_reach_a_spectator_in_order(celery_worker, user):
    match = await database_sync_to_async(match_create)(
        user=user, game="tictactoe", seats=_bots(), seed=3, move_delay=0.05, dispatch=False
    )
    communicator = WebsocketCommunicator(application, f"/ws/matches/{match.pk}/", headers=[SAME_ORIGIN])
    connected, _ = await communicator.connect()
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot" and snapshot["seq"] == 0

    from arena.tasks import play_match

    await database_sync_to_async(play_match.delay)(match.pk)
    events = []
    while True:
        message = await communicator.receive_json_from(timeout=30)
        events.append(message)
        if message.get("event") in ("finished", "failed"):
            break
    await communicator.disconnect()

    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["event"] == "started" and events[-1]["event"] == "finished"
    stored = await database_sync_to_async(Match.objects.get)(pk=match.pk)
    moves = [e["action"] for e in events if e["event"] == "move"]
    # The match started from the game's default opening (stored with it); events carry the agents' moves.
    assert stored.opening_plies == 2 and stored.moves == [*stored.opening, *moves]
    assert events[0]["state"]["moves"] == stored.opening
    assert stored.seq == events[-1]["seq"]
    assert stored.status == Match.FINISHED and stored.winner in ("player_1", "")  # minimax never loses


@pytest.mark.django_db(transaction=True)
async def test_snapshot_after_reconnect_equals_the_stored_state(celery_worker, user):
    match = await database_sync_to_async(match_create)(
        user=user,
        game="connect_four",
        seats=_bots("connect_four", "bot:alphabeta:2", "bot:random"),
        seed=5,
        move_delay=0.2,
    )
    first = WebsocketCommunicator(application, f"/ws/matches/{match.pk}/", headers=[SAME_ORIGIN])
    assert (await first.connect())[0]
    await first.receive_json_from(timeout=5)
    for _ in range(3):  # watch a few moves, then drop the connection mid-game
        await first.receive_json_from(timeout=30)
    await first.disconnect()
    await asyncio.sleep(0.1)

    second = WebsocketCommunicator(application, f"/ws/matches/{match.pk}/", headers=[SAME_ORIGIN])
    assert (await second.connect())[0]
    snapshot = await second.receive_json_from(timeout=5)
    stored = await database_sync_to_async(Match.objects.select_related("game").get)(pk=match.pk)
    assert snapshot["seq"] <= stored.seq
    expected = await database_sync_to_async(match_state_json)(stored)
    if snapshot["seq"] == stored.seq:
        assert snapshot["match"]["state"] == expected["state"]
    # Whatever arrives next continues exactly after the snapshot: no gap, no repeat.
    following = await second.receive_json_from(timeout=30)
    assert following["seq"] == snapshot["seq"] + 1
    await second.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("private_channel_layer")
async def test_a_match_played_in_a_batch_sends_an_open_page_the_finished_event_of_one_played_alone(user):
    create = database_sync_to_async(match_create)
    batched = [
        await create(user=user, game="tictactoe", seats=_bots(), seed=s, dispatch=False) for s in (1, 2, 3)
    ]
    alone = await create(user=user, game="tictactoe", seats=_bots(), seed=4, dispatch=False)
    pages = {m.pk: await socket_open(f"/ws/matches/{m.pk}/") for m in [*batched[:2], alone]}
    # Nobody watches the third: the batch asks the layer, and builds no event for it.
    groups = [live.match_group(m.pk) for m in batched]
    assert await database_sync_to_async(live.groups_watched)(groups) == set(groups[:2])

    played = await database_sync_to_async(matches_play_batch)(
        match_ids=[m.pk for m in batched], dispatch=False
    )
    assert played == {"finished": 3, "failed": 0}
    assert await database_sync_to_async(match_play)(match_id=alone.pk) == Match.FINISHED
    communicator = pages[alone.pk][0]
    while (on_its_own := await communicator.receive_json_from(timeout=10))["event"] != "finished":
        pass
    for match in batched[:2]:
        communicator, snapshot = pages[match.pk]
        event = await communicator.receive_json_from(timeout=5)
        stored = await database_sync_to_async(refreshed)(match)
        # Numbered next after the page's snapshot, as the row stores it, with the result and last position.
        assert event["event"] == "finished" and event["seq"] == snapshot["seq"] + 1 == stored.seq
        assert event["match_id"] == match.pk and event["result"] == stored.result
        assert event["state"]["moves"] == stored.moves and event["state"]["result"]["winner"] == (
            stored.winner or None
        )
        assert set(event) == set(on_its_own) and set(event["state"]) == set(on_its_own["state"])
        await communicator.send_json_to({"type": "resync"})
        again = await communicator.receive_json_from(timeout=5)
        assert again["seq"] == event["seq"] and again["match"]["state"] == event["state"]
    for communicator, _ in pages.values():
        assert await communicator.receive_nothing(timeout=0.2)  # one end each, nothing after it
        await communicator.disconnect()
    await asyncio.sleep(0.1)
    assert await database_sync_to_async(live.groups_watched)(groups) == set()  # the pages left


def test_a_finished_rated_match_moves_the_agent_rating_but_not_the_anchor(user, transactional_db):
    match = match_create(user=user, game="tictactoe", seats=_bots(), seed=1, dispatch=False)
    assert match_play(match_id=match.pk) == Match.FINISHED
    ratings = {r.player.bot: r for r in Rating.objects.select_related("player")}
    from marl.ratings import default_rating

    assert ratings["minimax"].mu == pytest.approx(default_rating().mu)  # anchors stay where they are
    assert ratings["random"].mu == pytest.approx(default_rating().mu)
    assert RatingEvent.objects.filter(match=match).count() == 2
    # Recording the same match again changes nothing.
    from arena.services.ratings import ratings_record_match

    assert ratings_record_match(match_id=match.pk) == []


def test_a_match_is_played_once_even_when_delivered_twice(user, transactional_db):
    match = match_create(user=user, game="tictactoe", seats=_bots(), seed=2, dispatch=False)
    assert match_play(match_id=match.pk) == Match.FINISHED
    assert match_play(match_id=match.pk) is None
    match.refresh_from_db()
    from marl.match import MatchState

    replay = MatchState("tictactoe", seed=match.seed, moves=match.moves)
    assert replay.done and replay.result().winner == (match.winner or None)


@pytest.mark.parametrize(
    "seats, message",
    [
        ({"player_1": "bot:minimax"}, "seats must name exactly"),
        ({"player_1": "bot:nope", "player_2": "bot:random"}, "unknown bot"),
        ({"player_1": "checkpoint:999", "player_2": "bot:random"}, "no checkpoint"),
        ({"player_1": "robot", "player_2": "bot:random"}, "bad seat"),
    ],
)
def test_bad_match_requests_are_refused(user, seats, message, transactional_db):
    with pytest.raises(ValidationError, match=message):
        match_create(user=user, game="tictactoe", seats=seats, dispatch=False)
    assert not Match.objects.exists()


def test_unknown_game_is_refused(user, transactional_db):
    with pytest.raises(ValidationError, match="unknown game"):
        match_create(user=user, game="chess960", seats={}, dispatch=False)


def test_failing_player_marks_the_match_failed(user, transactional_db, media_root):
    match = match_create(user=user, game="tictactoe", seats=_bots(), seed=4, dispatch=False)
    seat = match.seats.get(seat="player_1")
    seat.player.bot = "broken"  # corrupt the stored player so loading it fails
    seat.player.save()
    assert match_play(match_id=match.pk) == Match.FAILED
    match.refresh_from_db()
    assert "broken" in match.error


def test_a_match_whose_worker_died_is_requeued_and_finished_from_its_stored_moves(
    user, settings, transactional_db
):
    from datetime import timedelta

    from django.utils import timezone

    from arena.services.matches import matches_reap

    match = match_create(user=user, game="tictactoe", seats=_bots(), seed=8, dispatch=False)
    # A worker took it, played two moves and died: the row says RUNNING and stops changing.
    Match.objects.filter(pk=match.pk).update(
        status=Match.RUNNING,
        moves=[4, 0],
        seq=3,
        updated_at=timezone.now() - timedelta(seconds=settings.ARENA_MATCH_STALE_SECONDS + 1),
    )
    assert matches_reap() == 1
    assert matches_reap() == 0  # already re-queued
    assert match_play(match_id=match.pk) == Match.FINISHED
    match.refresh_from_db()
    assert match.moves[:2] == [4, 0] and match.seq > 3


def test_a_replay_with_an_opening_reproduces_the_final_position(db, user):
    match = match_finished(
        user=user,
        game="connect_four",
        seats=_bots("connect_four", "bot:random", "bot:alphabeta:1"),
        seed=11,
        opening_plies=5,
    )
    assert match.opening_plies == 5 and match.opening == opening_for_seed("connect_four", 11, 5)
    assert match.result["opening_plies"] == 5
    states = selectors.match_replay_states(match)
    final = selectors.match_state_json(match)
    assert states[-1]["board"] == final["state"]["board"] and states[-1]["result"] == final["state"]["result"]
    assert final["opening_plies"] == 5 and final["moves"][:5] == match.opening
    # The opening's plies are on the board before the first agent move.
    assert states[5]["moves"] == match.opening


def test_a_given_opening_is_played_first_and_a_bad_one_is_refused(db, user):
    match = match_finished(user=user, game="tictactoe", seats=_bots(), seed=2, opening=[4, 0])
    assert match.moves[:2] == [4, 0] and match.opening_plies == 2
    with pytest.raises(ValidationError):
        MatchFactory(user=user, game="tictactoe", seats=_bots(), opening=[4, 4])
    with pytest.raises(ValidationError):
        MatchFactory(user=user, game="tictactoe", seats=_bots(), opening=[0, 3, 1, 4, 2])  # a finished game
    plain = match_finished(user=user, game="tictactoe", seats=_bots(), seed=2, opening_plies=0)
    assert plain.opening_plies == 0 and plain.opening == []


def test_a_temperature_varies_games_between_fixed_checkpoints_from_the_same_start(db, user):
    first, second = checkpoint_specs(user, 2)
    rival = Checkpoint.objects.get(pk=int(second.split(":")[1]))
    # The second version enters as an agent version, so it plays player_2 with its player_2 policy.
    seats = _bots("tictactoe", first, f"agent:{rival.agent_id}@{rival.version}")
    greedy = [match_finished(user=user, seats=seats, seed=s, opening_plies=0).moves for s in (1, 2)]
    assert greedy[0] == greedy[1]  # no opening, no sampling: one game, however often it is played
    sampled = {
        tuple(match_finished(user=user, seats=seats, seed=s, opening_plies=0, temperature=2.0).moves)
        for s in range(1, 7)
    }
    assert len(sampled) > 1
    with pytest.raises(ValidationError):
        MatchFactory(user=user, seats=seats, temperature=-1)
