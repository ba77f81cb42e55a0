"""The JSON API exposes what the pages show of ratings: a game's leaderboard of the pool's Elo fit, a
checkpoint's rating with its interval and history, and a league's gating results."""

from __future__ import annotations

import pytest

from arena.services.league_gates import league_gate_run
from tests.factories import AgentFactory, LeagueFactory, bot_gate, synthetic_rated_pool

pytestmark = pytest.mark.django_db


def test_the_leaderboard_is_the_pool_fit_with_intervals_and_the_seat_advantage(user, client):
    players = synthetic_rated_pool(user, 800)
    board = client.get("/api/leaderboards/tictactoe").json()
    by_id = {row["id"]: row for row in board["players"]}
    assert by_id[players["random"].pk]["elo"] == 0.0
    b = by_id[players["b"].pk]
    assert b["low"] < b["elo"] < b["high"]
    assert board["seat_advantage"]["low"] <= board["seat_advantage"]["elo"] <= board["seat_advantage"]["high"]
    assert client.get("/api/leaderboards/nonesuch").status_code == 404


def test_a_checkpoints_rating_comes_with_its_interval_history_and_calibration(user, client):
    players = synthetic_rated_pool(user, 800)
    checkpoint = players["b"].checkpoint
    rating = client.get(f"/api/checkpoints/{checkpoint.pk}/rating").json()
    assert rating["rating"]["low"] < rating["rating"]["elo"] < rating["rating"]["high"]
    assert rating["history"] and "status" in rating["calibration"]


def test_a_leagues_gates_show_their_llr_bounds_and_verdict(user, client, settings):
    member = LeagueFactory(user=user, members=[AgentFactory(owner=user).pk], gating=True).memberships.get()
    settings.ARENA_GATE_BATCH_PAIRS = 8
    gate = bot_gate(member, challenger="minimax", champion="random")
    league_gate_run(gate_id=gate.pk)
    gates = client.get(f"/api/leagues/{member.league_id}/gates").json()
    assert [g["gate"] for g in gates] == [gate.pk]
    assert gates[0]["status"] == "accepted" and gates[0]["llr"] >= gates[0]["upper"]


def test_the_schema_lists_the_rating_reads():
    from arena.api import api

    paths = api.get_openapi_schema()["paths"]
    assert {"/api/leaderboards/{game}", "/api/checkpoints/{pk}/rating", "/api/leagues/{pk}/gates"} <= set(
        paths
    )
