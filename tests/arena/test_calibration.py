"""Calibration: every new checkpoint is rated against the anchors and its nearest rivals until its
interval is narrow enough or its game budget is spent, resuming from the games stored so far."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings as django_settings

from arena.models import Checkpoint
from arena.services.anchors import anchor_elo
from arena.services.calibration import (
    calibration_json,
    calibration_text,
    checkpoint_calibrate,
    expected_information,
    next_opponent,
)
from arena.services.checkpoints import checkpoint_record
from tests.arena.conftest import wait_until
from tests.factories import AgentFactory, CheckpointFactory, TrainingRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_batches(settings):
    settings.ARENA_CALIBRATION_BATCH_PAIRS = 3
    return settings


def _entrant(agent, version: int = 1) -> list[Checkpoint]:
    return [
        CheckpointFactory(agent=agent, seat=seat, version=version, seed=version * 10 + i)
        for i, seat in enumerate(agent.game.seats)
    ]


def test_calibration_stops_when_the_interval_is_narrow_enough(small_batches, media_root):
    small_batches.ARENA_CALIBRATION_HALF_WIDTH = 5000.0  # any fitted interval is narrow enough
    first, second = _entrant(AgentFactory())
    assert checkpoint_calibrate(checkpoint_id=first.pk) == Checkpoint.RATED
    for row in (first, second):  # one rating for the entrant, on each of its checkpoints
        row.refresh_from_db()
        # One batch of 3 pairs, or two when the first gives no finite fit (all drawn: the games' seeds
        # come from the rows' ids, which differ between databases).
        assert row.calibration_status == Checkpoint.RATED and row.calibration_games in (6, 12)
        assert row.calibration_low <= row.calibration_elo <= row.calibration_high
    assert second.calibration_elo == first.calibration_elo


def test_calibration_stops_when_the_game_budget_is_spent(small_batches, media_root):
    small_batches.ARENA_CALIBRATION_HALF_WIDTH = 1.0  # never reached
    small_batches.ARENA_CALIBRATION_GAMES = 12
    first, _ = _entrant(AgentFactory())
    assert checkpoint_calibrate(checkpoint_id=first.pk) == Checkpoint.BUDGET_SPENT
    first.refresh_from_db()
    assert first.calibration_games == 12 and len(first.calibration_record["games"]) == 12
    assert first.calibration_half_width > 1.0 and first.calibration_elo is not None


def test_calibration_resumes_from_the_stored_games(small_batches, media_root):
    small_batches.ARENA_CALIBRATION_HALF_WIDTH = 1.0
    first, _ = _entrant(AgentFactory())
    assert checkpoint_calibrate(checkpoint_id=first.pk, max_batches=1) == Checkpoint.PENDING
    first.refresh_from_db()
    stored = first.calibration_record["games"]
    assert first.calibration_games == 6 and first.calibration_elo is not None  # "rating pending" shows it
    checkpoint_calibrate(checkpoint_id=first.pk, max_batches=1)  # a restarted worker picks it up
    first.refresh_from_db()
    assert first.calibration_games == 12 and first.calibration_record["games"][:6] == stored


def test_a_checkpoint_waits_for_its_entrants_other_seat_then_both_are_rated(small_batches, media_root):
    small_batches.ARENA_CALIBRATION_HALF_WIDTH = 5000.0
    agent = AgentFactory()
    first = CheckpointFactory(agent=agent, seat="player_1", version=1)
    assert checkpoint_calibrate(checkpoint_id=first.pk) == Checkpoint.PENDING
    first.refresh_from_db()
    assert first.calibration_games == 0
    second = CheckpointFactory(agent=agent, seat="player_2", version=1, seed=5)
    assert checkpoint_calibrate(checkpoint_id=second.pk) == Checkpoint.RATED
    first.refresh_from_db()
    assert first.calibration_status == Checkpoint.RATED


def test_a_single_seat_entrant_is_rated_from_its_own_seat(small_batches, media_root):
    small_batches.ARENA_CALIBRATION_HALF_WIDTH = 5000.0
    checkpoint = CheckpointFactory(agent=AgentFactory(seat="player_2"), seat="player_2")
    assert checkpoint_calibrate(checkpoint_id=checkpoint.pk) == Checkpoint.RATED
    checkpoint.refresh_from_db()
    assert all(game[1] == "me" for game in checkpoint.calibration_record["games"])  # always second


def test_the_rated_checkpoint_nearest_an_even_game_is_the_next_opponent(media_root):
    agent = AgentFactory()
    old, _ = _entrant(agent, version=1)
    Checkpoint.objects.filter(agent=agent, version=1).update(
        calibration_status=Checkpoint.RATED,
        calibration_elo=-150.0,
        calibration_low=-190.0,
        calibration_high=-110.0,
    )
    new, _ = _entrant(agent, version=2)
    record = {"games": [], "opponents": {}}
    rival, elo = next_opponent(new, record, fit=(-140.0, -240.0, -40.0))
    assert rival.checkpoint_id == old.pk and elo == -150.0
    anchor, elo = next_opponent(new, record, fit=(550.0, 450.0, 650.0))
    assert anchor.bot == "minimax" and elo == anchor_elo("tictactoe")["minimax"]
    # An opponent met before keeps the Elo the stored games were fitted against.
    _, elo = next_opponent(
        new, {"games": [], "opponents": {f"checkpoint:{old.pk}": -120.0}}, fit=(-140.0, -240.0, -40.0)
    )
    assert elo == -120.0


def test_the_next_opponent_is_the_one_nearest_an_even_game():
    near, far = expected_information(300, 50, 320, 0), expected_information(300, 50, 0, 0)
    assert near > far and near == pytest.approx(0.25, abs=0.01)
    # Uncertainty flattens the curve: the same gap tells more when the ratings are uncertain.
    assert expected_information(300, 300, 0, 0) > expected_information(300, 10, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_a_recorded_checkpoint_queues_its_calibration_and_strength_jobs(media_root):
    from tests.factories import _untrained_checkpoint_file

    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    before = broker.llen("evaluation")
    run = TrainingRunFactory()
    path = _untrained_checkpoint_file(run.agent, "player_1", 1, 0, 64)
    checkpoint = checkpoint_record(run_id=run.pk, seat="player_1", path=path, meta={"env_steps": 64})
    assert checkpoint.calibration_status == Checkpoint.PENDING
    assert broker.llen("evaluation") == before + 2


def test_a_worker_rates_and_measures_a_recorded_checkpoint_on_the_evaluation_queue(
    evaluation_worker, media_root, settings
):
    from tests.factories import _untrained_checkpoint_file

    settings.ARENA_CALIBRATION_BATCH_PAIRS = 3
    settings.ARENA_CALIBRATION_GAMES = 6
    run = TrainingRunFactory(agent=AgentFactory(seat="player_2"))
    path = _untrained_checkpoint_file(run.agent, "player_2", 1, 0, 64)
    checkpoint = checkpoint_record(run_id=run.pk, seat="player_2", path=path, meta={"env_steps": 64})
    rated = wait_until(
        lambda: (
            Checkpoint.objects.filter(pk=checkpoint.pk, strength__kind="perfect_play")
            .exclude(calibration_status=Checkpoint.PENDING)
            .first()
        ),
        timeout=120,
        message="the worker to calibrate and measure the checkpoint",
    )
    assert rated.calibration_games == 6 and rated.calibration_elo is not None
    assert rated.strength["seat"] == "player_2"


def test_the_agent_page_shows_rating_pending_then_the_rating_with_its_interval(
    client, small_batches, media_root
):
    small_batches.ARENA_CALIBRATION_HALF_WIDTH = 5000.0
    first, second = _entrant(AgentFactory())
    page = client.get(f"/agents/{first.agent_id}/").content.decode()
    assert page.count(">rating pending</td>") == 2
    checkpoint_calibrate(checkpoint_id=first.pk)
    first.refresh_from_db()
    shown = calibration_text(calibration_json(first))  # the page's own rounding (to 0.1, then whole)
    assert shown.startswith(f"{first.calibration_elo:.0f} ±")
    page = client.get(f"/agents/{first.agent_id}/").content.decode()
    assert page.count(f">{shown}</td>") == 2 and "rating pending" not in page
    assert f'"Elo": [[1, {round(first.calibration_elo, 1)}]]' in page  # the curve over versions


def test_the_api_gives_a_checkpoints_calibration(client, small_batches, media_root):
    small_batches.ARENA_CALIBRATION_HALF_WIDTH = 5000.0
    first, _ = _entrant(AgentFactory())
    assert client.get(f"/api/checkpoints/{first.pk}").json()["calibration"]["status"] == "pending"
    checkpoint_calibrate(checkpoint_id=first.pk)
    calibration = client.get(f"/api/checkpoints/{first.pk}").json()["calibration"]
    assert (
        calibration["status"] == "rated" and calibration["low"] <= calibration["elo"] <= calibration["high"]
    )


@pytest.fixture
def poker_matches_seen(monkeypatch):
    """Every poker match played, with the result it scored (the real `match_result`, recorded)."""
    from marl.poker_match import PokerMatch

    seen: list[tuple[PokerMatch, object]] = []
    scored = PokerMatch.match_result

    def record(self):
        result = scored(self)
        seen.append((self, result))
        return result

    monkeypatch.setattr(PokerMatch, "match_result", record)
    return seen


def test_a_leduc_entrant_is_calibrated_in_whole_matches_one_game_each(
    small_batches, media_root, poker_matches_seen
):
    small_batches.ARENA_CALIBRATION_HALF_WIDTH = 1.0  # never reached: the budget ends it
    small_batches.ARENA_CALIBRATION_GAMES = 6
    first, _ = _entrant(AgentFactory(game="leduc_holdem"))
    assert checkpoint_calibrate(checkpoint_id=first.pk) == Checkpoint.BUDGET_SPENT
    first.refresh_from_db()
    games = first.calibration_record["games"]
    # Two batches of 3 pairs: in poker a pair is one duplicate match of the game's 200 hands.
    assert first.calibration_games == 6 and len(games) == len(poker_matches_seen) == 6
    for (match, _), (a, b, score) in zip(poker_matches_seen, games, strict=True):
        assert match.duplicate and len(match.hands) == 200 and (a, b[:4]) == ("me", "bot:")
        low, high = match.interval
        assert score == (1.0 if low > 0 else 0.0 if high < 0 else 0.5)


def test_poker_calibration_spends_at_most_its_match_budget(settings):
    from arena.services.calibration import POKER_CALIBRATION_MATCHES, _budget

    settings.ARENA_CALIBRATION_GAMES = 200
    leduc = Checkpoint(agent=AgentFactory(game="leduc_holdem"), seat="player_0")
    board = Checkpoint(agent=AgentFactory(), seat="player_1")
    assert _budget(leduc) == POKER_CALIBRATION_MATCHES < 200 and _budget(board) == 200
