"""The one rating model: the pool's Elo fit over its rated games, on the anchored scale (random = 0),
with the seat advantage; its cache, its history and its JSON."""

from __future__ import annotations

import pytest

from arena.models import RatingFit, RatingFitPoint
from arena.selectors import agent_rating_history, checkpoint_rating_json, leaderboard_json
from arena.services import ratings
from arena.services.anchors import anchor_elo
from arena.services.games import game_get
from arena.services.players import player_from_spec
from arena.services.ratings import pool_games_count, rating_fit_get, rating_fit_refresh
from tests.arena.conftest import wait_until
from tests.factories import (
    TRUE_ELO,
    TRUE_SEAT_ADVANTAGE,
    checkpoint_specs,
    store_rated_games,
    synthetic_rated_pool,
)


@pytest.mark.django_db
def test_the_fit_recovers_a_known_seat_advantage_from_seeded_synthetic_games(user):
    players = synthetic_rated_pool(user, 4000)
    fit = rating_fit_refresh(pool="tictactoe")
    assert fit.games == 4000 and not fit.error
    adv, low, high = fit.seat_advantage
    assert low <= TRUE_SEAT_ADVANTAGE <= high and high - low < 60
    assert fit.interval(players["random"].pk) == (0.0, 0.0, 0.0)
    for name in ("a", "b"):
        elo, lo, hi = fit.interval(players[name].pk)
        assert lo <= TRUE_ELO[name] <= hi, (name, elo, lo, hi)


@pytest.mark.django_db
def test_the_fit_is_stored_and_only_refitted_after_new_rated_games(user):
    players = synthetic_rated_pool(user, 300)
    first = rating_fit_get(pool="tictactoe")
    stamp = first.updated_at
    assert rating_fit_get(pool="tictactoe").updated_at == stamp  # served from the row
    assert RatingFitPoint.objects.filter(fit=first).count() == 2  # one point per checkpoint, not the anchor
    store_rated_games(game_get("tictactoe"), players, [("a", "random", 1.0)])
    again = rating_fit_get(pool="tictactoe")
    assert again.games == pool_games_count("tictactoe") == 301 and again.updated_at > stamp
    # Only the players whose games grew get a new history point.
    assert RatingFitPoint.objects.filter(fit=first, player=players["a"]).count() == 2
    assert RatingFitPoint.objects.filter(fit=first, player=players["b"]).count() == 1


@pytest.mark.django_db
def test_the_leaderboard_shows_the_fit_with_random_at_zero_and_the_seat_advantage(user, client):
    players = synthetic_rated_pool(user, 1500)
    fit = (
        RatingFit.objects.get(pool="tictactoe")
        if RatingFit.objects.exists()
        else rating_fit_get(pool="tictactoe")
    )
    board = leaderboard_json(game_get("tictactoe"))
    by_id = {row["id"]: row for row in board["players"]}
    assert by_id[players["random"].pk]["elo"] == 0.0 and by_id[players["random"].pk]["anchor"]
    assert [row["elo"] for row in board["players"]] == sorted(
        (row["elo"] for row in board["players"]), reverse=True
    )
    assert board["seat_advantage"]["low"] <= board["seat_advantage"]["elo"] <= board["seat_advantage"]["high"]
    assert board["anchors"] == anchor_elo("tictactoe") and board["anchors"]["random"] == 0.0
    b = by_id[players["b"].pk]
    assert b["low"] < b["elo"] < b["high"] and b["elo"] == fit.ratings[str(players["b"].pk)][0]
    page = client.get("/games/tictactoe/leaderboard/").content.decode()
    assert f"{round(board['seat_advantage']['elo'])}</strong> Elo" in page
    assert f"<td data-elo>{round(b['elo'])}</td>" in page
    assert f"{round(b['low'])} … {round(b['high'])}" in page


@pytest.mark.django_db
def test_a_checkpoint_rating_has_its_interval_and_history_over_versions(user):
    players = synthetic_rated_pool(user, 800)
    checkpoint = players["b"].checkpoint
    rating = checkpoint_rating_json(checkpoint)
    assert rating["rating"]["low"] < rating["rating"]["elo"] < rating["rating"]["high"]
    assert len(rating["history"]) == 1 and rating["history"][0]["elo"] == rating["rating"]["elo"]
    series = agent_rating_history(checkpoint.agent)
    rows = next(iter(series.values()))
    assert [r["version"] for r in rows] == [1, 2] and rows[1]["elo"] == rating["rating"]["elo"]


@pytest.mark.django_db
def test_a_pool_without_games_against_the_reference_bots_has_no_ratings(user):
    game = game_get("tictactoe")
    specs = checkpoint_specs(user, 2)
    players = {
        "a": player_from_spec(game=game, spec=specs[0]),
        "b": player_from_spec(game=game, spec=specs[1]),
    }
    store_rated_games(game, players, [("a", "b", 1.0), ("b", "a", 0.5)])
    fit = rating_fit_get(pool="tictactoe")
    assert fit.ratings == {} and "reference bots" in fit.error
    assert leaderboard_json(game)["players"] == []


def test_a_large_pool_is_refitted_by_a_worker_while_pages_show_the_last_fit(celery_worker, user, monkeypatch):
    monkeypatch.setattr(ratings, "INLINE_REFIT_GAMES", 100)
    players = synthetic_rated_pool(user, 300)
    first = rating_fit_get(pool="tictactoe")  # no fit yet: a placeholder, and the worker is asked
    assert first.ratings == {} and first.refresh_requested_at is not None
    fitted = wait_until(
        lambda: RatingFit.objects.filter(pool="tictactoe", games=300).exclude(ratings={}).first(),
        timeout=60,
        message="the worker's refit",
    )
    assert fitted.refresh_requested_at is None and str(players["a"].pk) in fitted.ratings
    store_rated_games(game_get("tictactoe"), players, [("a", "random", 1.0)])
    stale = rating_fit_get(pool="tictactoe")
    assert stale.games == 300 and stale.ratings == fitted.ratings  # served while the worker refits
    wait_until(
        lambda: RatingFit.objects.filter(pool="tictactoe", games=301).exists(),
        timeout=60,
        message="the refit",
    )


@pytest.mark.django_db
def test_the_agent_page_charts_its_checkpoints_elo_by_version(user, client):
    players = synthetic_rated_pool(user, 600)
    rating_fit_get(pool="tictactoe")
    agent = players["a"].checkpoint.agent
    page = client.get(agent.get_absolute_url()).content.decode()
    assert 'id="agent-rating-chart"' in page
    a = checkpoint_rating_json(players["a"].checkpoint)["rating"]
    assert f'{round(a["elo"])} <span class="muted">{round(a["low"])} … {round(a["high"])}</span>' in page
