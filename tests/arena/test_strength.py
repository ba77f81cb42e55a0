"""Strength against perfect play: exact for tic-tac-toe, the alpha-beta ladder for connect four."""

from __future__ import annotations

import pytest

from arena.models import Checkpoint, Game
from arena.services.players import player_for_bot
from arena.services.strength import checkpoint_strength, player_strength, strength_summary
from tests.factories import AgentFactory, CheckpointFactory

pytestmark = pytest.mark.django_db


def test_a_perfect_player_makes_no_mistakes_and_never_loses():
    minimax = player_for_bot(game=Game.objects.get(name="tictactoe"), bot="minimax")
    for seat in ("player_1", "player_2"):
        strength = player_strength(player=minimax, seat=seat)
        assert strength["mistakes"] == 0 and strength["loss"] == 0.0 and strength["positions"] > 0


def test_a_random_player_makes_mistakes_and_loses_to_perfect_play():
    random = player_for_bot(game=Game.objects.get(name="tictactoe"), bot="random")
    strength = player_strength(player=random, seat="player_2")
    assert strength["mistake_share"] > 0.2 and strength["loss"] > 0.5
    assert "mistakes" in strength_summary(strength)


def test_the_alpha_beta_ladder_ranks_a_strong_player_over_a_random_one(settings):
    settings.ARENA_STRENGTH_PAIRS = 2
    game = Game.objects.get(name="connect_four")
    strong = player_strength(player=player_for_bot(game=game, bot="alphabeta:4"), seat="player_0")
    weak = player_strength(player=player_for_bot(game=game, bot="random"), seat="player_0")
    assert set(strong["scores"]) == {"1", "2", "4"}
    assert strong["scores"]["1"] > weak["scores"]["1"] and weak["scores"]["4"] < 0.25


def test_a_checkpoints_strength_is_stored_per_seat(media_root):
    checkpoint = CheckpointFactory(agent=AgentFactory(), seat="player_2")
    strength = checkpoint_strength(checkpoint_id=checkpoint.pk)
    checkpoint.refresh_from_db()
    assert checkpoint.strength == strength and strength["seat"] == "player_2"
    assert 0.0 <= strength["mistake_share"] <= 1.0
    assert strength["win"] + strength["draw"] + strength["loss"] == pytest.approx(1.0)


def test_a_connect_four_entrant_waits_for_its_other_seat(media_root, settings):
    settings.ARENA_STRENGTH_PAIRS = 1
    agent = AgentFactory(game="connect_four")
    first = CheckpointFactory(agent=agent, seat="player_0")
    assert checkpoint_strength(checkpoint_id=first.pk) == {}
    second = CheckpointFactory(agent=agent, seat="player_1", seed=3)
    strength = checkpoint_strength(checkpoint_id=second.pk)
    assert strength["kind"] == "alphabeta_ladder" and strength["seats"] == ["player_0", "player_1"]
    assert Checkpoint.objects.get(pk=first.pk).strength == strength


def test_checkpoints_from_before_the_jobs_are_rated_and_measured_on_request(media_root, settings):
    from django.core.management import call_command

    settings.ARENA_CALIBRATION_BATCH_PAIRS = 2
    settings.ARENA_CALIBRATION_GAMES = 4
    agent = AgentFactory()
    rows = [CheckpointFactory(agent=agent, seat=s, version=1, seed=i) for i, s in enumerate(agent.game.seats)]
    call_command("calibrate", "--here")
    for row in rows:
        row.refresh_from_db()
        assert row.calibration_status != Checkpoint.PENDING and row.strength["seat"] == row.seat


def test_the_agent_page_shows_each_checkpoints_strength_and_its_curve(client, media_root):
    checkpoint = CheckpointFactory(agent=AgentFactory(), seat="player_1")
    strength = checkpoint_strength(checkpoint_id=checkpoint.pk)
    page = client.get(f"/agents/{checkpoint.agent_id}/").content.decode()
    assert strength_summary(strength) in page
    assert f'"mistakes player_1": [[1, {strength["mistake_share"]}' in page
