"""Search players: `checkpoint:<id> + mcts:N` (and `agent:<id>@<version> + mcts:N`) wherever a player is
chosen, with a bounded budget, and a human game against one whose heat map is the search's."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from arena.models import Match, Player, Tournament
from arena.services.play import human_game_create, human_move
from arena.services.players import player_from_spec
from marl.match import MatchState
from marl.search import checkpoint_search_agent
from tests.factories import AgentFactory, CheckpointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(user):
    """An agent version with an (untrained) checkpoint for each tic-tac-toe seat."""
    agent = AgentFactory(owner=user)
    return {
        seat: CheckpointFactory(agent=agent, seat=seat, seed=i) for i, seat in enumerate(agent.game.seats)
    }


def test_a_search_player_is_its_own_player_labelled_with_its_budget(version):
    checkpoint = version["player_1"]
    game = checkpoint.agent.game
    bare = player_from_spec(game=game, spec=f"checkpoint:{checkpoint.pk}")
    searching = player_from_spec(game=game, spec=f"checkpoint:{checkpoint.pk} + mcts:40")
    assert bare.search == 0 and searching.search == 40 and bare.pk != searching.pk
    assert searching.label == f"{checkpoint} + mcts:40"
    again = player_from_spec(game=game, spec=f"agent:{checkpoint.agent_id}@1+mcts:40")
    assert again.pk == searching.pk  # the agent version's first-seat checkpoint, same budget


@pytest.mark.parametrize(
    ("suffix", "message"),
    [
        (" + mcts:0", "1 to 800"),
        (" + mcts:801", "ARENA_MAX_SEARCH_SIMULATIONS"),
        (" + mcts:many", "whole number"),
    ],
)
def test_a_search_budget_outside_the_limit_is_refused_and_creates_nothing(version, suffix, message):
    checkpoint = version["player_1"]
    players = Player.objects.count()
    with pytest.raises(ValidationError, match=message):
        player_from_spec(game=checkpoint.agent.game, spec=f"checkpoint:{checkpoint.pk}{suffix}")
    assert Player.objects.count() == players


def test_search_goes_on_checkpoints_only_and_the_search_bot_is_bounded_too(version):
    game = version["player_1"].agent.game
    with pytest.raises(ValidationError, match="the search bot is bot:mcts:N"):
        player_from_spec(game=game, spec="bot:minimax + mcts:50")
    with pytest.raises(ValidationError, match="ARENA_MAX_SEARCH_SIMULATIONS"):
        player_from_spec(game=game, spec="bot:mcts:5000")


def test_a_search_player_round_trips_through_the_api(user_client, version):
    spec = f"checkpoint:{version['player_1'].pk} + mcts:30"
    body = {"game": "tictactoe", "seats": {"player_1": spec, "player_2": "bot:random"}}
    response = user_client.post("/api/matches", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["seats"]["player_1"] == f"{version['player_1']} + mcts:30"
    read = user_client.get(f"/api/matches/{created['id']}").json()
    assert read["seats"] == created["seats"]
    body["seats"]["player_1"] = f"checkpoint:{version['player_1'].pk} + mcts:9999"
    refused = user_client.post("/api/matches", data=json.dumps(body), content_type="application/json")
    assert refused.status_code == 400 and "ARENA_MAX_SEARCH_SIMULATIONS" in refused.content.decode()


def test_the_match_form_seats_a_checkpoint_with_search_on_top(user_client, user, version):
    page = user_client.get(reverse("match_create") + "?game=tictactoe").content.decode()
    assert 'name="search_player_1"' in page
    form = {
        "seat_player_1": f"checkpoint:{version['player_1'].pk}",
        "search_player_1": "25",
        "seat_player_2": "bot:random",
        "move_delay": "0",
    }
    response = user_client.post(reverse("match_create") + "?game=tictactoe", form)
    assert response.status_code == 302
    seats = Match.objects.get(created_by=user).seats_by_name()
    assert seats["player_1"].player.search == 25 and seats["player_2"].player.search == 0
    too_many = user_client.post(
        reverse("match_create") + "?game=tictactoe", {**form, "search_player_1": "100000"}
    )
    assert too_many.status_code == 200 and Match.objects.count() == 1


def test_the_tournament_form_takes_search_players_one_a_line(user_client, version):
    response = user_client.post(
        "/tournaments/new/",
        {
            "game": "tictactoe",
            "format": "round_robin",
            "participants": f"agent:{version['player_1'].agent_id}@1 + mcts:10\nbot:random",
            "games_per_pair": 2,
            "batch_size": 2,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    labels = {p.label for p in Tournament.objects.get().participants.all()}
    assert labels == {f"{version['player_1']} + mcts:10", "bot:random"}


def test_the_play_form_starts_a_game_against_a_search_player(user_client, user, version):
    response = user_client.post(
        reverse("play_new") + "?game=tictactoe",
        {"opponent": f"checkpoint:{version['player_2'].pk}", "search": "12", "seat": "player_1"},
    )
    assert response.status_code == 302
    match = Match.objects.get(created_by=user)
    assert match.seats_by_name()["player_2"].player.search == 12


def _expected(version, moves: list[int], simulations: int):
    """What a fresh search of the second-seat checkpoint makes of the position after `moves`."""
    state = MatchState("tictactoe", seed=0, moves=moves)
    obs, mask = state.observation()
    searcher = checkpoint_search_agent("tictactoe", version["player_2"].absolute_path(), simulations)
    return searcher.search(obs, mask), mask


def test_a_human_game_against_a_search_player_gets_its_replies_and_visit_shares(user, version):
    spec = f"agent:{version['player_1'].agent_id}@1 + mcts:30"
    match = human_game_create(user=user, game="tictactoe", opponent=spec, seat="player_1", seed=0)
    events = human_move(match_id=match.pk, user=user, ply=0, move=4)
    reply = events[-1]
    assert reply["seat"] == "player_2"
    expected, mask = _expected(version, [4], 30)
    assert reply["action"] == expected.action  # the search chose the move (network search is deterministic)
    analysis = reply["analysis"]
    assert analysis["kind"] == "visits"
    shares = np.array([np.nan if v is None else v for v in analysis["scores"]], dtype=float)
    assert np.isnan(shares[~mask.astype(bool)]).all()  # no share for an occupied cell
    assert np.nansum(shares) == pytest.approx(1.0, abs=1e-3)  # rounded to 4 places
    assert np.allclose(np.nan_to_num(shares), np.nan_to_num(expected.shares), atol=1e-4)
    assert analysis["value"] == pytest.approx(expected.root_value, abs=1e-4)
    # Tic-tac-toe is solved: the chance is the exact value of the position (a draw), not the search's.
    assert analysis["win_probability"] == 0.5 and analysis["win_source"] == "exact"
    match.refresh_from_db()
    assert match.analysis[-1] == analysis  # kept for a reload


def test_a_rematch_against_a_search_player_keeps_its_search(user, version):
    from arena.services.play import human_game_rematch

    spec = f"checkpoint:{version['player_2'].pk} + mcts:8"
    match = human_game_create(user=user, game="tictactoe", opponent=spec, seat="player_1", seed=0)
    rematch = human_game_rematch(match_id=match.pk, user=user)
    assert rematch.seats_by_name()["player_1"].player.search == 8
