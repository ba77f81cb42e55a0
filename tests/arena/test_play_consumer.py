"""The play socket (`ws/play/<id>/`) against the real ASGI stack (origin check, session auth) and the
real Redis channel layer: legal moves come back through the match group, every bad frame gets an error
with a code and leaves the stored game exactly as it was."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from arena.asgi import application
from arena.models import Match
from arena.services.play import human_game_create
from arena.services.play_forfeits import human_game_resign
from tests.arena.conftest import SAME_ORIGIN, session_cookie, socket_open

CODES = {
    "illegal_move",
    "stale_ply",
    "not_your_turn",
    "game_over",
    "forbidden",
    "bad_request",
    "rate_limited",
    "not_found",
}
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_play_limits(settings, private_channel_layer) -> None:
    """No rate limit in the way: the per-second counters are keyed by user id, which repeats across tests."""
    settings.ARENA_MOVES_PER_SECOND = 10_000
    settings.ARENA_MAX_OPEN_GAMES = 1_000


def _stored(match_id: int) -> tuple:
    match = Match.objects.get(pk=match_id)
    return (list(match.moves), match.seq, match.status, match.result, list(match.analysis))


@pytest.fixture
def game(user) -> Match:
    """Ada (player_1) against perfect minimax at tic-tac-toe; she moves first."""
    return human_game_create(user=user, game="tictactoe", opponent="bot:minimax", seat="player_1", seed=1)


async def test_a_move_comes_back_through_the_group_to_mover_and_spectator(user, game):
    player, snapshot = await socket_open(f"/ws/play/{game.pk}/", user)
    spectator, _ = await socket_open(f"/ws/matches/{game.pk}/")
    assert snapshot["type"] == "snapshot" and snapshot["seq"] == 0 and snapshot["seat"] == "player_1"
    assert snapshot["match"]["state"]["to_move"] == "player_1"

    await player.send_json_to({"type": "move", "ply": 0, "move": {"row": 1, "col": 1}})
    mine = [await player.receive_json_from(timeout=10) for _ in range(2)]
    theirs = [await spectator.receive_json_from(timeout=10) for _ in range(2)]
    assert mine == theirs  # one numbered stream for everyone
    assert [e["seq"] for e in mine] == [1, 2] and [e["seat"] for e in mine] == ["player_1", "player_2"]
    assert mine[0]["action"] == 4 and mine[1]["analysis"]["kind"] == "search"

    # A reload (a new socket) gets the game where it stood, the agent's evaluation included.
    again, resumed = await socket_open(f"/ws/play/{game.pk}/", user)
    stored = await database_sync_to_async(_stored)(game.pk)
    assert resumed["seq"] == 2 and resumed["match"]["moves"] == stored[0]
    assert resumed["match"]["analysis"] == [None, mine[1]["analysis"]]
    await again.send_json_to({"type": "resync"})
    assert await again.receive_json_from(timeout=5) == resumed
    for communicator in (player, spectator, again):
        await communicator.disconnect()


async def _refused(user, match_id: int, frame: str | bytes, code: str | None, path: str = "play") -> dict:
    """Send one bad frame: it gets an error with `code`, the game is unchanged, the socket still works."""
    before = await database_sync_to_async(_stored)(match_id)
    communicator, _ = await socket_open(f"/ws/{path}/{match_id}/", user)
    if isinstance(frame, bytes):
        await communicator.send_to(bytes_data=frame)
    else:
        await communicator.send_to(text_data=frame)
    error = await communicator.receive_json_from(timeout=10)
    assert error["type"] == "error" and error.get("code") == code, error
    assert error["error"]
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong", "seq": before[1]}
    assert await communicator.receive_nothing(timeout=0.3)  # no event was published
    assert await database_sync_to_async(_stored)(match_id) == before
    await communicator.disconnect()
    return error


def _move(ply, move) -> str:
    return json.dumps({"type": "move", "ply": ply, "move": move})


async def test_an_occupied_cell_is_refused(user, game):
    player, _ = await socket_open(f"/ws/play/{game.pk}/", user)
    await player.send_json_to({"type": "move", "ply": 0, "move": 4})
    reply = [await player.receive_json_from(timeout=10) for _ in range(2)]
    await player.disconnect()
    error = await _refused(user, game.pk, _move(2, reply[1]["action"]), "illegal_move")
    assert "not a legal move" in error["error"]


@pytest.mark.parametrize(
    ("move", "code"),
    [
        ({"row": 3, "col": 0}, "illegal_move"),  # off the board
        (9, "illegal_move"),
        ("centre", "illegal_move"),
        ({"action": 4, "extra": 1}, "illegal_move"),
    ],
)
async def test_illegal_moves_are_refused(user, game, move, code):
    await _refused(user, game.pk, _move(0, move), code)


async def test_a_stale_or_replayed_ply_is_refused(user, game):
    player, _ = await socket_open(f"/ws/play/{game.pk}/", user)
    await player.send_json_to({"type": "move", "ply": 0, "move": 0})
    [await player.receive_json_from(timeout=10) for _ in range(2)]
    await player.disconnect()
    await _refused(user, game.pk, _move(0, 0), "stale_ply")  # the same frame again
    await _refused(user, game.pk, _move(0, 8), "stale_ply")
    await _refused(user, game.pk, _move(7, 8), "stale_ply")  # from the future


async def test_a_move_out_of_turn_is_refused(user, game):
    # As if the agent's reply had not been stored yet: the agent (player_2) is to move at ply 1.
    await database_sync_to_async(Match.objects.filter(pk=game.pk).update)(moves=[4], seq=1)
    await _refused(user, game.pk, _move(1, 0), "not_your_turn")


async def test_a_move_after_the_end_is_refused(user, game):
    await database_sync_to_async(human_game_resign)(match_id=game.pk, user=user)
    await _refused(user, game.pk, _move(0, 4), "game_over")
    await _refused(user, game.pk, json.dumps({"type": "resign"}), "game_over")


def _rating_line(client, user, match_id: int) -> str:
    """The rating line of the play page as a reload renders it."""
    client.force_login(user)
    page = client.get(f"/play/{match_id}/").content.decode()
    return page.split("data-my-rating-value>")[1].split(" · ")[0]


@pytest.mark.parametrize(
    "opponent, in_fit",
    [
        ("bot:minimax", False),  # alone it never met random, the scale's zero: no Elo fit yet
        ("bot:random", True),
    ],
)
async def test_the_end_of_a_game_is_followed_by_the_rating_it_earned_as_a_reload_shows_it(
    user, client, opponent, in_fit, celery_worker
):
    create = database_sync_to_async(human_game_create)
    game = await create(user=user, game="tictactoe", opponent=opponent, seat="player_1", seed=1)
    assert "none yet" in await database_sync_to_async(_rating_line)(client, user, game.pk)
    player, _ = await socket_open(f"/ws/play/{game.pk}/", user)
    await player.send_json_to({"type": "resign"})
    ended = await player.receive_json_from(timeout=10)
    assert ended["event"] == "finished" and ended["result"]["reason"] == "resigned"
    assert ended["rating_pending"] is True  # a worker rates the game, then tells the page
    rated = await player.receive_json_from(timeout=30)
    await player.disconnect()
    assert rated["type"] == "rating" and rated["match_id"] == game.pk
    fit, provisional = rated["rating"]["fit"], rated["rating"]["provisional"]
    line = await database_sync_to_async(_rating_line)(client, user, game.pk)
    assert provisional["games"] == 1
    if in_fit:
        assert f"<strong>{fit['elo']}</strong> Elo" in line and f"(95%: {fit['low']} … {fit['high']})" in line
        assert fit["low"] < fit["elo"] < 0 < fit["high"]  # one loss to random: below it, and unsure
    else:
        assert fit is None
        assert (
            line.strip() == f"{provisional['elo']} ±{provisional['spread']} provisional after 1 game</span>"
        )


@pytest.mark.parametrize(
    "frame",
    [
        "{not json",
        "[1, 2]",
        '{"type": "move", "move": 4}',  # no ply
        '{"type": "move", "ply": 0, "move": 4, "seat": "player_2"}',  # no extra keys
        '{"type": "move", "ply": "0", "move": 4}',
        '{"type": "move", "ply": true, "move": 4}',
        json.dumps({"type": "move", "ply": 0, "move": 4, "pad": "x" * 5000}),  # over 4 KB
        b"\x00\x01",
    ],
)
async def test_malformed_frames_are_refused(user, game, frame):
    await _refused(user, game.pk, frame, "bad_request")


async def test_an_unknown_type_is_refused(user, game):
    error = await _refused(user, game.pk, '{"type": "teleport"}', "bad_request")
    assert "unknown message type" in error["error"]


async def test_another_user_cannot_move_or_resign(user, other_user, game):
    await _refused(other_user, game.pk, _move(0, 4), "forbidden")
    await _refused(other_user, game.pk, '{"type": "resign"}', "forbidden")
    # Spectator sockets are read-only whoever holds them.
    error = await _refused(user, game.pk, _move(0, 4), None, path="matches")
    assert "read-only" in error["error"]


async def test_anonymous_sockets_are_closed_with_4401(game):
    communicator = WebsocketCommunicator(application, f"/ws/play/{game.pk}/", headers=[SAME_ORIGIN])
    connected, _ = await communicator.connect(timeout=5)
    assert connected  # accepted, then closed with our code: the browser stops reconnecting
    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4401}
    await communicator.disconnect()  # end the application task (see test_consumer_limits)


async def test_unknown_game_is_closed_with_4404(user):
    headers = [SAME_ORIGIN, await database_sync_to_async(session_cookie)(user)]
    communicator = WebsocketCommunicator(application, "/ws/play/999999/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    assert (await communicator.receive_output(timeout=5))["code"] == 4404
    await communicator.disconnect()


async def test_rate_limited_moves_change_nothing(user, game, settings):
    import hashlib
    import time

    from django.core.cache import cache

    settings.ARENA_MOVES_PER_SECOND = 1
    now = int(time.time())
    digest = hashlib.sha256(str(user.pk).encode()).hexdigest()[:32]  # arena.ratelimit's key for a user
    for second in range(now, now + 3):  # this second's budget (and the next ones') already spent
        await database_sync_to_async(cache.set)(f"arena:rl:move:{digest}:{second}", 1, timeout=5)
    await _refused(user, game.pk, _move(0, 4), "rate_limited")


# --- property: any mix of frames never corrupts a game ------------------------------------------------

FRAMES = st.one_of(
    st.builds(
        lambda ply, move: {"type": "move", "ply": ply, "move": move},
        st.integers(-1, 10),
        st.one_of(
            st.integers(-1, 9),
            st.fixed_dictionaries({"row": st.integers(-1, 3), "col": st.integers(-1, 3)}),
            st.text(max_size=3),
            st.none(),
        ),
    ),
    st.just({"type": "resync"}),
    st.just({"type": "ping"}),
    st.text(min_size=1, max_size=20),  # mostly not JSON objects
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)

CURRENT_MOVES = st.builds(lambda a: {"type": "move", "ply": "current", "move": a}, st.integers(0, 8))


async def _play_frames(user, frames: list, seed: int) -> None:
    from marl.match import MatchState

    match = await database_sync_to_async(human_game_create)(
        user=user, game="tictactoe", opponent="bot:minimax", seat="player_1", seed=seed
    )
    communicator, snapshot = await socket_open(f"/ws/play/{match.pk}/", user)
    seq, actions = snapshot["seq"], list(snapshot["match"]["moves"])
    for frame in frames:
        before = await database_sync_to_async(_stored)(match.pk)
        if isinstance(frame, dict) and frame.get("type") == "move" and frame.get("ply") == "current":
            frame = {**frame, "ply": len(before[0])}
        await communicator.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))
        await communicator.send_json_to({"type": "ping"})
        errors, pongs = [], 1 + (frame == {"type": "ping"})
        while pongs:  # everything the frame caused directly comes before our pong
            message = await communicator.receive_json_from(timeout=10)
            if message["type"] == "pong":
                pongs -= 1
                continue
            if message["type"] == "error":
                errors.append(message)
            elif message["type"] == "event":
                assert message["seq"] == seq + 1
                seq = message["seq"]
                actions += [message["action"]] if message["event"] == "move" else []
        after = await database_sync_to_async(_stored)(match.pk)
        while seq < after[1]:  # the group's events may trail the pong
            message = await communicator.receive_json_from(timeout=10)
            assert message["type"] == "event" and message["seq"] == seq + 1, message
            seq = message["seq"]
            actions += [message["action"]] if message["event"] == "move" else []
        for error in errors:
            assert error["code"] in CODES, error
        if errors:
            assert after == before  # a refused frame changes nothing
    await communicator.disconnect()

    moves, seq_stored, status, result, analysis = await database_sync_to_async(_stored)(match.pk)
    assert moves == actions and seq_stored == seq and len(analysis) == len(moves)
    replay = MatchState("tictactoe", seed=seed, moves=moves)  # the stored moves replay cleanly
    if result.get("reason") == "resigned":
        assert status == "finished" and not replay.done
    elif replay.done:
        assert status == "finished" and result == replay.result().to_json()
    else:
        assert status == "running" and replay.to_move == "player_1"


@hsettings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    frames=st.lists(
        st.one_of(
            FRAMES,
            # Mostly well-formed moves at the current ply (some to taken cells), so games get somewhere,
            # and now and then a resignation.
            CURRENT_MOVES,
            CURRENT_MOVES,
            st.integers(0, 9).map(lambda n: {"type": "resign"} if n == 0 else {"type": "ping"}),
        ),
        min_size=6,
        max_size=24,
    ),
    seed=st.integers(0, 2**31 - 1),
)
def test_random_frames_never_corrupt_a_game(user, frames, seed):
    async_to_sync(_play_frames)(user, frames, seed)
