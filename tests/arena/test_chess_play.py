"""Chess in the arena: a person against Stockfish from a set-up opening, moves in UCI over the service
and the socket, and a Stockfish that dies mid-match failing that match only."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.core.exceptions import ValidationError

from arena.models import Match
from arena.services.matches import match_create, match_play
from arena.services.play import human_game_create, human_move
from arena.services.play_events import PlayError
from marl.engines import find_engine
from tests.arena.conftest import socket_open

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        find_engine("stockfish") is None, reason="Stockfish is not installed (make install-engines)"
    ),
]
FAKE = Path(__file__).resolve().parents[1] / "marl" / "fake_uci.py"
# White's pawn has taken its way to b7, the rook on a8 to take: promotion next.
PROMOTION_READY = "a2a4 b7b5 a4b5 a7a6 b5a6 c8b7 a6b7 g8f6"


@pytest.fixture(autouse=True)
def no_play_limits(settings, private_channel_layer) -> None:
    settings.ARENA_MOVES_PER_SECOND = 10_000
    settings.ARENA_MAX_OPEN_GAMES = 1_000


def _stored(match_id: int) -> tuple:
    match = Match.objects.get(pk=match_id)
    return (list(match.moves), match.seq, match.status)


def test_a_person_promotes_against_stockfish_from_an_opening_in_uci(user):
    match = human_game_create(
        user=user, game="chess", opponent="bot:stockfish:0", seat="player_0", opening=PROMOTION_READY.split()
    )
    match.refresh_from_db()
    assert match.opening_plies == 8 and match.seq == 0  # white (the person) to move
    before = _stored(match.pk)
    for bad, message in [
        ({"uci": "b7a8"}, "say to what"),
        ({"uci": "b7b8q"}, "not a legal move"),
        ({"uci": "b7a8k"}, "q, r, b or n"),
    ]:
        with pytest.raises(PlayError, match=message) as refused:
            human_move(match_id=match.pk, user=user, ply=8, move=bad)
        assert refused.value.code == "illegal_move"
    assert _stored(match.pk) == before
    events = human_move(match_id=match.pk, user=user, ply=8, move={"uci": "b7a8n"})
    assert [e["seat"] for e in events] == ["player_0", "player_1"]  # Stockfish answered at once
    state = events[0]["state"]
    assert state["san"][-1] == "bxa8=N" and state["fen"].startswith("N")
    assert events[1]["state"]["last_move"] and events[1]["state"]["to_move"] == "player_0"


def test_an_opening_that_is_not_legal_is_refused_with_the_move_that_failed(user):
    with pytest.raises(ValidationError, match=r"opening move 2 \('e7e4'\)"):
        human_game_create(user=user, game="chess", opponent="bot:random", opening=["e2e4", "e7e4"])
    assert not Match.objects.exists()


def test_a_stockfish_level_out_of_range_is_refused_before_any_match_exists(user):
    with pytest.raises(ValidationError, match="0..20"):
        match_create(
            user=user, game="chess", seats={"player_0": "bot:stockfish:21", "player_1": "bot:random"}
        )
    assert not Match.objects.exists()


async def test_an_illegal_uci_move_over_the_socket_gets_a_clear_error_and_changes_nothing(user):
    match = await database_sync_to_async(human_game_create)(
        user=user, game="chess", opponent="bot:stockfish:0", seat="player_0", opening=PROMOTION_READY.split()
    )
    before = await database_sync_to_async(_stored)(match.pk)
    player, snapshot = await socket_open(f"/ws/play/{match.pk}/", user)
    assert snapshot["match"]["state"]["fen"].startswith("rn1qkb1r/1Pp")
    await player.send_json_to({"type": "move", "ply": 8, "move": {"uci": "e2e5"}})
    error = await player.receive_json_from(timeout=10)
    assert error["code"] == "illegal_move" and "e2e5 is not a legal move" in error["error"]
    assert await database_sync_to_async(_stored)(match.pk) == before
    await player.disconnect()


def test_a_stockfish_that_dies_mid_match_fails_that_match_and_the_next_match_finishes(
    user, monkeypatch, tmp_path
):
    seats = {"player_0": "bot:stockfish:0", "player_1": "bot:random"}
    broken = match_create(user=user, game="chess", seats=seats, seed=1, dispatch=False)
    monkeypatch.setenv("ARENA_STOCKFISH", f"{sys.executable} {FAKE} crash {tmp_path / 'searches'} 3")
    assert match_play(match_id=broken.pk) == Match.FAILED
    broken.refresh_from_db()
    assert "EngineError" in broken.error and 0 < len(broken.moves) < 20
    stopped = broken.failure["stopped_at"]  # the report names the move it stopped at, mid-game
    assert stopped["ply"] == len(broken.moves) and stopped["to_move"] == "player_0"
    assert stopped["said"] == f"after {len(broken.moves)} moves, with player_0 to move"
    monkeypatch.delenv("ARENA_STOCKFISH")
    after = match_create(user=user, game="chess", seats=seats, seed=2, dispatch=False)
    assert match_play(match_id=after.pk) == Match.FINISHED
    after.refresh_from_db()
    assert after.winner == "player_0" and after.reason == "checkmate"
