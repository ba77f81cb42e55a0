"""The play pages: starting a game, the page only for the seated person, rematch with seats swapped."""

from __future__ import annotations

import pytest
from django.urls import reverse

from arena.models import Match
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


def test_play_form_starts_a_game_and_redirects_to_it(user_client, user):
    page = user_client.get(reverse("play_new") + "?game=tictactoe&opponent=bot:minimax")
    assert page.status_code == 200 and b"bot: minimax" in page.content
    response = user_client.post(
        reverse("play_new") + "?game=tictactoe", {"opponent": "bot:minimax", "seat": "player_2"}
    )
    match = Match.objects.get()
    assert response.status_code == 302 and response.url == reverse("play_detail", args=[match.pk])
    assert len(match.moves) == 1  # minimax opened

    page = user_client.get(response.url)
    assert page.status_code == 200
    assert page.context["snapshot"]["seat"] == "player_2"
    assert f'data-socket="/ws/play/{match.pk}/"'.encode() in page.content


def test_bad_opponent_is_a_form_error(user_client):
    response = user_client.post(
        reverse("play_new") + "?game=tictactoe", {"opponent": "bot:nope", "seat": "player_1"}
    )
    assert response.status_code == 200 and Match.objects.count() == 0


def test_others_are_sent_to_the_match_page_and_anonymous_to_login(client, other_user, user):
    from arena.services.play import human_game_create

    match = human_game_create(user=user, game="tictactoe", opponent="bot:random", seed=1)
    assert client.get(reverse("play_detail", args=[match.pk])).url.startswith(reverse("login"))
    client.force_login(other_user)
    assert client.get(reverse("play_detail", args=[match.pk])).url == reverse("match_detail", args=[match.pk])


def test_rematch_swaps_seats_against_the_same_opponent(user_client, user):
    from arena.services.play import human_game_create
    from arena.services.play_forfeits import human_game_resign

    match = human_game_create(user=user, game="tictactoe", opponent="bot:minimax", seat="player_1", seed=1)
    human_game_resign(match_id=match.pk, user=user)
    response = user_client.post(reverse("play_rematch", args=[match.pk]))
    rematch = Match.objects.exclude(pk=match.pk).get()
    assert response.url == reverse("play_detail", args=[rematch.pk])
    seats = {s.seat: s.player for s in rematch.seats.select_related("player")}
    assert seats["player_2"].user == user and seats["player_1"].bot == "minimax"


def test_agent_page_renders_and_the_nav_links_to_play(user_client, user):
    agent = AgentFactory(owner=user)
    page = user_client.get(agent.get_absolute_url())
    assert page.status_code == 200  # no checkpoints yet: no link, but the page renders
    assert b'href="/play/"' in user_client.get("/").content  # the nav's Play link
