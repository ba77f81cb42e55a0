"""The tournaments API: create with the form's service, list with filters, read the table, rounds and queue
place, cancel; writes need auth, only the creator cancels, bad input gets a 400 and stores nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from arena.management.commands.tournament import tournament_run
from arena.models import ApiToken, Match, Tournament
from arena.services import tournaments
from tests.factories import checkpoint_specs

pytestmark = pytest.mark.django_db

BOTS = {"game": "tictactoe", "format": "round_robin", "participants": ["bot:minimax", "bot:random"]}


def post(client: Client, url: str, body=None, **headers):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json", **headers)


def make(user, **change) -> Tournament:
    return tournaments.tournament_create(user=user, **{**BOTS, **change})


def test_a_token_holder_creates_a_round_robin_of_the_match_apis_players(client, user):
    plain, searched = checkpoint_specs(user, 2)
    token = ApiToken.issue(user=user)[1]
    body = {**BOTS, "participants": ["bot:random", plain, f"{searched} + mcts:8"], "name": "api cup"}
    response = post(client, "/api/tournaments", body, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["name"] == "api cup" and created["owner"] == user.username
    assert created["status"] == "running" and created["format"] == "round_robin"
    assert created["participants"][0] == "bot:random" and created["participants"][2].endswith(" + mcts:8")

    detail = client.get(f"/api/tournaments/{created['id']}").json()
    matches = Match.objects.filter(tournament_match__round__tournament_id=created["id"])
    assert [r["number"] for r in detail["rounds"]] == [1, 2, 3]  # three players: every round opened
    assert sorted(pk for r in detail["rounds"] for pk in r["matches"]) == sorted(m.pk for m in matches)
    assert matches.count() == 6 and all(r["recorded"] == 0 for r in detail["rounds"])
    assert {row["label"] for row in detail["table"]["standings"]} == set(created["participants"])
    assert detail["queue"]["own_waiting"] == 6 and detail["queue"]["ahead"] == 0
    assert "Queued" in detail["queue"]["text"] and detail["failed"] == 0


def test_a_finished_tournament_reads_its_standings_with_elo_intervals(user_client):
    body = {**BOTS, "games_per_pair": 4, "batch_size": 4, "seed": 3}
    created = post(user_client, "/api/tournaments", body).json()
    tournament_run(tournament_id=created["id"])
    detail = user_client.get(f"/api/tournaments/{created['id']}").json()
    assert detail["status"] == "finished" and detail["queue"] is None and detail["seed"] == 3
    assert all(r["status"] == "complete" and r["recorded"] == len(r["matches"]) for r in detail["rounds"])
    table = detail["table"]
    assert table["games"] == 4 and table["order"] == [row["player"] for row in table["standings"]]
    minimax, rnd = table["standings"]
    assert minimax["label"] == "bot:minimax" and minimax["rank"] == 1 and minimax["losses"] == 0
    assert rnd["elo"] == 0.0 and minimax["elo_lo"] <= minimax["elo"] <= minimax["elo_hi"]


def test_a_poker_tournaments_seed_stays_secret_while_it_plays(user):
    tournament = tournaments.tournament_create(
        user=user, game="leduc_holdem", format="gauntlet", participants=["bot:cfr", "bot:random"], seed=7
    )
    assert Client().get(f"/api/tournaments/{tournament.pk}").json()["seed"] is None


def test_the_list_filters_by_game_status_and_owner(client, user, other_user):
    mine = make(user)
    theirs = make(other_user, format="gauntlet")
    four = make(user, game="connect_four", participants=["bot:random", "bot:alphabeta:2"], start=False)
    tournaments.tournament_cancel(user=other_user, tournament_id=theirs.pk)

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/tournaments?{query}")
        assert response.status_code == 200, response.content
        return [t["id"] for t in response.json()]

    assert ids("") == [four.pk, theirs.pk, mine.pk]
    assert ids("limit=1&offset=1") == [theirs.pk]
    assert ids("game=tictactoe") == [theirs.pk, mine.pk]
    assert ids("status=cancelled") == [theirs.pk] and ids("status=pending") == [four.pk]
    assert ids(f"owner={other_user.username}") == [theirs.pk]
    assert client.get("/api/tournaments?owner=me").status_code == 401
    token = ApiToken.issue(user=other_user)[1]
    assert [
        t["id"] for t in client.get("/api/tournaments?owner=me", HTTP_AUTHORIZATION=f"Token {token}").json()
    ] == [theirs.pk]
    client.force_login(user)
    assert ids("owner=me") == [four.pk, mine.pk]
    assert client.get("/api/tournaments?status=done").status_code == 400


@pytest.mark.parametrize(
    "change, message",
    [
        ({"game": "chess960"}, "game: Input should be 'tictactoe'"),
        ({"format": "double_elimination"}, "format: Input should be 'round_robin'"),
        ({"participants": ["bot:random", "checkpoint:abc"]}, "participants.1: String should match pattern"),
        ({"participants": ["bot:random", "bot:nope"]}, "unknown bot 'nope' for tictactoe"),
        ({"participants": ["bot:random", "checkpoint:99999"]}, "no checkpoint '99999'"),
        ({"participants": ["bot:random"]}, "needs at least 2 participants, got 1"),
        ({"participants": ["bot:random", "bot:random"]}, "is listed twice"),
        ({"participants": ["bot:random", "human"]}, "not people"),
        ({"rounds": 3}, "only Swiss takes it"),
        ({"games_per_pair": 0}, "games_per_pair: Input should be greater than or equal to 1"),
        ({"games_per_pair": "2"}, "games_per_pair: Input should be a valid integer"),
        ({"openings": [[4, 4]]}, "opening move 2"),
        ({"hands": 10}, "hands and duplicate are for poker"),
        ({"created_by": "bob"}, "created_by: Extra inputs are not permitted"),
    ],
)
def test_bad_tournament_input_gets_a_clear_400(user_client, change, message):
    response = post(user_client, "/api/tournaments", {**BOTS, **change})
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert not Tournament.objects.exists() and not Match.objects.exists()


def test_anonymous_callers_create_and_cancel_nothing(client, user):
    assert post(client, "/api/tournaments", BOTS).status_code == 401
    tournament = make(user)
    assert post(client, f"/api/tournaments/{tournament.pk}/cancel").status_code == 401
    assert not Tournament.objects.exclude(pk=tournament.pk).exists()
    assert Tournament.objects.get(pk=tournament.pk).status == Tournament.RUNNING


def test_only_the_creator_cancels_and_its_queued_games_are_dropped(client, user, other_user):
    tournament = make(user)
    client.force_login(other_user)
    response = post(client, f"/api/tournaments/{tournament.pk}/cancel")
    assert response.status_code == 403 and "only the tournament's creator" in response.json()["error"]
    assert Tournament.objects.get(pk=tournament.pk).status == Tournament.RUNNING
    client.force_login(user)
    response = post(client, f"/api/tournaments/{tournament.pk}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    statuses = Match.objects.filter(tournament_match__round__tournament=tournament).values_list(
        "status", flat=True
    )
    assert set(statuses) == {Match.ABORTED}
    response = post(client, f"/api/tournaments/{tournament.pk}/cancel")
    assert response.status_code == 400 and "already cancelled" in response.json()["error"]
    assert post(client, "/api/tournaments/99999/cancel").status_code == 404
    assert client.get("/api/tournaments/99999").status_code == 404


def test_the_list_reads_the_same_number_of_queries_for_one_tournament_or_many(client, user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/tournaments").status_code == 200
        return len(captured)

    make(user, participants=["bot:random", *checkpoint_specs(user, 1)])
    one = queries()
    for _ in range(3):
        make(user, participants=["bot:minimax", *checkpoint_specs(user, 2)])
    assert queries() == one
