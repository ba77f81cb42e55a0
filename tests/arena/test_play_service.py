"""The play service: a person's moves are validated under the row lock and the agent replies at once."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from arena.models import Checkpoint, Match, Rating
from arena.services import play_events
from arena.services.play import human_game_create, human_move
from arena.services.play_cache import match_state_keep, match_state_take
from arena.services.play_events import PlayError
from arena.services.play_forfeits import human_game_resign, human_games_expire
from arena.services.play_replies import warm_agents
from marl.match import MatchState
from tests.arena.conftest import wait_until
from tests.factories import checkpoint_specs

pytestmark = pytest.mark.django_db(transaction=True)


# BEGIN, the match row under its lock, the UPDATE, COMMIT: the seats and the position come from this
# process's caches after the game's first move here.
HUMAN_MOVE_QUERIES = 4


def _stored(match: Match) -> tuple:
    match.refresh_from_db()
    return (list(match.moves), match.seq, match.status, match.result)


def test_agent_replies_to_a_legal_move_and_both_are_stored(user):
    match = human_game_create(user=user, game="tictactoe", opponent="bot:minimax", seat="player_1", seed=1)
    events = human_move(match_id=match.pk, user=user, ply=0, move={"row": 1, "col": 1})
    assert [e["event"] for e in events] == ["move", "move"]
    assert [e["seq"] for e in events] == [1, 2]
    assert events[1]["seat"] == "player_2"
    analysis = events[1]["analysis"]  # what minimax thought of each cell before it replied
    assert analysis["kind"] == "search" and analysis["scores"][4] is None  # the taken cell has no value
    assert analysis["win_probability"] == 0.5  # perfect play from here is a draw
    match.refresh_from_db()
    assert match.moves[0] == 4 and len(match.moves) == 2


def test_agent_moves_first_when_the_person_takes_the_second_seat(user):
    match = human_game_create(
        user=user, game="connect_four", opponent="bot:alphabeta:2", seat="player_1", seed=1
    )
    match.refresh_from_db()
    assert len(match.moves) == 1 and match.seq == 1


@pytest.mark.parametrize(
    "ply, move, code",
    [
        (0, {"row": 5, "col": 0}, "illegal_move"),
        (0, "centre", "illegal_move"),
        (3, 4, "stale_ply"),
        ("0", 4, "bad_request"),
        (True, 4, "bad_request"),
    ],
)
def test_bad_moves_are_refused_and_change_nothing(user, ply, move, code):
    match = human_game_create(user=user, game="tictactoe", opponent="bot:random", seat="player_1", seed=2)
    before = _stored(match)
    with pytest.raises(PlayError) as refused:
        human_move(match_id=match.pk, user=user, ply=ply, move=move)
    assert refused.value.code == code
    assert _stored(match) == before


def test_an_occupied_cell_is_refused(user):
    match = human_game_create(user=user, game="tictactoe", opponent="bot:minimax", seat="player_1", seed=3)
    human_move(match_id=match.pk, user=user, ply=0, move=0)
    before = _stored(match)
    with pytest.raises(PlayError) as refused:
        human_move(match_id=match.pk, user=user, ply=2, move=before[0][1])
    assert refused.value.code == "illegal_move"
    assert _stored(match) == before


def test_another_user_cannot_move(user, other_user):
    match = human_game_create(user=user, game="tictactoe", opponent="bot:random", seed=4)
    before = _stored(match)
    with pytest.raises(PlayError) as refused:
        human_move(match_id=match.pk, user=other_user, ply=0, move=4)
    assert refused.value.code == "forbidden"
    assert _stored(match) == before


def test_a_full_game_against_minimax_never_ends_in_a_human_win_and_a_worker_rates_the_human(
    user, celery_worker
):
    match = human_game_create(user=user, game="tictactoe", opponent="bot:minimax", seat="player_1", seed=5)
    while True:
        match.refresh_from_db()
        if match.status != Match.RUNNING:
            break
        state = MatchState("tictactoe", seed=match.seed, moves=match.moves)
        human_move(
            match_id=match.pk, user=user, ply=len(match.moves), move=state.state_json()["legal_moves"][0]
        )
    assert match.status == Match.FINISHED and match.winner in ("", "player_2")
    with pytest.raises(PlayError) as refused:
        human_move(match_id=match.pk, user=user, ply=len(match.moves), move=0)
    assert refused.value.code == "game_over"
    wait_until(
        lambda: Rating.objects.filter(player__user=user, pool="tictactoe", games=1).exists(),
        timeout=30,
        message="the worker's rating",
    )
    replay = MatchState("tictactoe", seed=match.seed, moves=match.moves)
    assert replay.result().to_json() == match.result


def test_with_the_broker_unreachable_the_web_process_rates_the_finished_game_itself(user, monkeypatch):
    sent = []
    monkeypatch.setattr(play_events, "task_send", lambda *args: sent.append(args) and False)
    match = human_game_create(user=user, game="tictactoe", opponent="bot:minimax", seat="player_1", seed=5)
    events = human_move(match_id=match.pk, user=user, ply=0, move=0)
    assert not sent and not Rating.objects.filter(player__user=user).exists()  # no end, nothing to rate
    human_game_resign(match_id=match.pk, user=user)
    assert sent == [(play_events.RATE_TASK, match.pk)]
    assert Rating.objects.get(player__user=user, pool="tictactoe").games == 1
    assert events[-1]["event"] == "move"


def test_rating_a_finished_game_twice_counts_it_once(user):
    match = human_game_create(user=user, game="tictactoe", opponent="bot:minimax", seat="player_1", seed=5)
    human_game_resign(match_id=match.pk, user=user)  # the broker is up: the task waits in its queue
    first = play_events.human_game_rate(match_id=match.pk)
    second = play_events.human_game_rate(match_id=match.pk)  # a redelivered task
    assert first == second and first["provisional"]["games"] == 1
    assert Rating.objects.get(player__user=user, pool="tictactoe").games == 1


def test_rating_a_game_deleted_meanwhile_does_nothing(user):
    match = human_game_create(user=user, game="tictactoe", opponent="bot:minimax", seat="player_1", seed=5)
    human_game_resign(match_id=match.pk, user=user)
    Match.objects.filter(pk=match.pk).delete()
    assert play_events.human_game_rate(match_id=match.pk) is None
    assert not Rating.objects.filter(player__user=user).exists()


def test_open_games_are_limited_per_user(user, settings):
    settings.ARENA_MAX_OPEN_GAMES = 1
    human_game_create(user=user, game="tictactoe", opponent="bot:random")
    with pytest.raises(ValidationError, match="limit"):
        human_game_create(user=user, game="tictactoe", opponent="bot:random")


def test_abandoned_games_end_as_a_loss_for_the_person_to_move(user, settings):
    from datetime import timedelta

    from django.utils import timezone

    match = human_game_create(user=user, game="tictactoe", opponent="bot:random", seat="player_1", seed=6)
    Match.objects.filter(pk=match.pk).update(
        updated_at=timezone.now() - timedelta(seconds=settings.ARENA_ABANDON_SECONDS + 5)
    )
    assert human_games_expire() == 1
    match.refresh_from_db()
    assert match.status == Match.FINISHED and match.reason == "abandoned" and match.winner == "player_2"


def _game_against_an_agent(user) -> tuple[Match, Checkpoint]:
    """A tic-tac-toe game, the person first, against an agent version that learned both seats."""
    checkpoint = Checkpoint.objects.get(pk=int(checkpoint_specs(user, 1)[0].split(":")[1]))
    match = human_game_create(
        user=user, game="tictactoe", opponent=f"agent:{checkpoint.agent_id}@1", seat="player_1", seed=1
    )
    return match, checkpoint


def _free_cell(match: Match) -> dict[str, int]:
    match.refresh_from_db()
    cell = next(i for i in range(9) if i not in match.moves)
    return {"row": cell // 3, "col": cell % 3}


def test_one_human_move_and_the_agents_reply_cost_a_bounded_number_of_queries(user):
    match, _ = _game_against_an_agent(user)
    human_move(match_id=match.pk, user=user, ply=0, move={"row": 0, "col": 0})
    cell = _free_cell(match)
    with CaptureQueriesContext(connection) as queries:
        events = human_move(match_id=match.pk, user=user, ply=2, move=cell)
    assert [e["event"] for e in events] == ["move", "move"] and events[1]["analysis"]["kind"] == "q"
    assert len(queries.captured_queries) <= HUMAN_MOVE_QUERIES, [
        q["sql"][:60] for q in queries.captured_queries
    ]


def test_a_move_is_played_from_the_row_when_the_cached_position_is_not_the_rows(user):
    match = human_game_create(user=user, game="connect_four", opponent="bot:random", seat="player_0", seed=1)
    human_move(match_id=match.pk, user=user, ply=0, move=0)
    stale = match_state_take(Match.objects.get(pk=match.pk))  # what this process kept after ply 2
    # Another process plays the next move (this one's cache holds nothing for the game meanwhile).
    human_move(match_id=match.pk, user=user, ply=2, move=6)
    match_state_keep(Match.objects.get(pk=match.pk), stale)  # the old position back in the cache
    events = human_move(match_id=match.pk, user=user, ply=4, move=0)
    match.refresh_from_db()
    assert len(match.moves) == 6 and events[-1]["state"]["moves"] == match.moves
    with MatchState("connect_four", seed=match.seed, moves=match.moves) as replay:
        assert events[-1]["state"]["board"] == replay.state_json()["board"]
    # A refused move leaves nothing behind: the next one is played from the row as well.
    with pytest.raises(PlayError):
        human_move(match_id=match.pk, user=user, ply=6, move=9)
    events = human_move(match_id=match.pk, user=user, ply=6, move=6)
    match.refresh_from_db()
    assert match.moves[6] == 6 and events[-1]["state"]["moves"] == match.moves


def test_an_agent_is_loaded_once_per_process_and_its_replies_load_nothing_from_disk(user):
    warm_agents.clear()
    loads = warm_agents.loads
    match, checkpoint = _game_against_an_agent(user)
    assert warm_agents.loads == loads + 1  # its policy for the second seat, when the game is set up
    for row in Checkpoint.objects.filter(agent=checkpoint.agent):  # every seat's files gone
        Path(row.absolute_path()).unlink()
    for ply in (0, 2):
        events = human_move(match_id=match.pk, user=user, ply=ply, move=_free_cell(match))
        assert [e["seat"] for e in events] == ["player_1", "player_2"]
    assert warm_agents.loads == loads + 1


def test_a_loaded_agent_is_kept_out_of_the_collectors_full_passes(user):
    warm_agents.clear()
    gc.unfreeze()
    _game_against_an_agent(user)  # loads its network
    assert gc.get_freeze_count() > 0
    frozen = gc.get_freeze_count()
    gc.collect()
    assert len(gc.get_objects(generation=2)) < frozen / 10  # a full pass walks a tenth of it at most
    gc.unfreeze()


def test_a_web_process_starts_with_the_app_out_of_the_collectors_full_passes():
    # A fresh interpreter: this one's freeze count is every earlier test's.
    code = "import gc, arena.asgi; print(gc.get_freeze_count())"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert int(out.stdout.split()[-1]) > 10_000  # Django, Channels and the app's modules


def _idle(match: Match, settings) -> None:
    from datetime import timedelta

    from django.utils import timezone

    stale = timezone.now() - timedelta(seconds=settings.ARENA_ABANDON_SECONDS + 5)
    Match.objects.filter(pk=match.pk).update(updated_at=stale)


def test_an_abandoned_game_leaves_the_dashboards_live_list(client, user, settings):
    from django.urls import reverse

    match = human_game_create(user=user, game="tictactoe", opponent="bot:random", seat="player_1", seed=6)
    live = lambda: list(client.get(reverse("fragment_matches")).context["live_matches"])  # noqa: E731
    assert live() == [match]
    _idle(match, settings)
    human_games_expire()
    assert live() == []


def test_a_game_that_cannot_be_rebuilt_is_aborted_without_stopping_the_others(user, settings):
    broken = human_game_create(user=user, game="tictactoe", opponent="bot:random", seat="player_1", seed=6)
    sound = human_game_create(user=user, game="tictactoe", opponent="bot:random", seat="player_1", seed=7)
    Match.objects.filter(pk=broken.pk).update(moves=[99])  # no such cell: the board cannot be replayed
    _idle(broken, settings)
    _idle(sound, settings)
    assert human_games_expire() == 2
    broken.refresh_from_db()
    sound.refresh_from_db()
    assert (broken.status, broken.reason) == (Match.ABORTED, "abandoned")
    assert (sound.status, sound.reason) == (Match.FINISHED, "abandoned")


def test_a_game_with_a_recent_move_is_not_abandoned(user):
    match = human_game_create(user=user, game="tictactoe", opponent="bot:random", seat="player_1", seed=6)
    assert human_games_expire() == 0
    match.refresh_from_db()
    assert match.status == Match.RUNNING
