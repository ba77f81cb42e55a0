"""Seats said clearly: the forms list a game's own seats, name the seat each checkpoint learned and
default to it; the agent page says which seat each checkpoint plays."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from arena.forms import AgentForm, MatchForm, PlayForm
from arena.models import Game, Match
from tests.factories import AgentFactory, CheckpointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def both_seats(user):
    """A tic-tac-toe agent with version 1 for each seat."""
    agent = AgentFactory(owner=user, name="duo")
    return {
        s: CheckpointFactory(agent=agent, seat=s, version=1, seed=i) for i, s in enumerate(agent.game.seats)
    }


def _options(html: str, name: str) -> dict[str, str]:
    """The <option value>: label pairs of the select called `name`."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select))


def _selected(html: str, name: str) -> str:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.search(r'<option value="([^"]*)"[^>]*selected', select).group(1)


def test_the_agent_form_lists_only_the_chosen_games_seats(user_client):
    page = user_client.get(reverse("agent_create") + "?game=connect_four").content.decode()
    assert set(_options(page, "seat")) == {"", "player_0", "player_1"}
    assert _options(page, "seat")["player_0"] == "player_0 (moves first)"
    # Every game's seats go to the page's script, which refills the list when the game changes.
    by_game = json.loads(re.search(r'id="seats-by-game"[^>]*>(.*?)</script>', page, re.S).group(1))
    assert [s for s, _ in by_game["tictactoe"]] == ["player_1", "player_2"]
    assert 'src="/static/arena/seats.js"' in page


def test_the_agent_form_refuses_a_seat_of_another_game():
    form = AgentForm({"game": "tictactoe", "name": "x", "algorithm": "dqn", "seat": "player_0"})
    assert not form.is_valid() and "seat" in form.errors
    good = AgentForm({"game": "connect_four", "name": "x", "algorithm": "dqn", "seat": "player_0"})
    assert good.is_valid(), good.errors


def test_each_match_seat_lists_only_checkpoints_learned_for_it(both_seats):
    form = MatchForm(game=Game.objects.get(name="tictactoe"))
    for seat, checkpoint in both_seats.items():
        groups = dict(form.fields[f"seat_{seat}"].choices)
        assert "Reference bots" in groups
        learned = [g for g in groups if g.startswith("Checkpoints")]
        assert learned == [f"Checkpoints that learned {form.fields[f'seat_{seat}'].label}"]
        assert [spec for spec, _ in groups[learned[0]]] == [f"checkpoint:{checkpoint.pk}"]
        assert dict(groups[learned[0]])[f"checkpoint:{checkpoint.pk}"].startswith(f"duo v1, learned {seat}")


def test_a_match_form_opened_for_a_checkpoint_puts_it_in_the_seat_it_learned(user_client, both_seats):
    second = both_seats["player_2"]
    url = reverse("match_create") + f"?game=tictactoe&checkpoint={second.pk}"
    page = user_client.get(url).content.decode()
    assert _selected(page, "seat_player_2") == f"checkpoint:{second.pk}"
    assert f"checkpoint:{second.pk}" not in _options(page, "seat_player_1")
    # An id of another game or none at all changes nothing.
    assert user_client.get(reverse("match_create") + "?game=connect_four&checkpoint=1").status_code == 200
    assert user_client.get(reverse("match_create") + "?game=tictactoe&checkpoint=x").status_code == 200


def test_the_play_form_groups_opponents_by_seat_and_gives_you_the_other_one(user_client, both_seats):
    first = both_seats["player_1"]
    page = user_client.get(reverse("play_new") + f"?game=tictactoe&opponent=checkpoint:{first.pk}")
    html = page.content.decode()
    assert "Checkpoints that learned player_1 (moves first)" in html
    assert "Checkpoints that learned player_2" in html
    assert _selected(html, "seat") == "player_2"  # it learned player_1, so you take player_2
    learned = json.loads(re.search(r'id="learned-seats"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert learned == {f"checkpoint:{c.pk}": s for s, c in both_seats.items()}


def test_taking_the_seat_the_checkpoint_learned_is_a_clear_form_error(user_client, both_seats):
    first = both_seats["player_1"]
    response = user_client.post(
        reverse("play_new") + "?game=tictactoe", {"opponent": f"checkpoint:{first.pk}", "seat": "player_1"}
    )
    assert response.status_code == 200 and Match.objects.count() == 0
    assert (
        "that checkpoint learned player_1 and plays only player_1: take player_2" in response.content.decode()
    )
    ok = user_client.post(
        reverse("play_new") + "?game=tictactoe", {"opponent": f"checkpoint:{first.pk}", "seat": "player_2"}
    )
    assert ok.status_code == 302 and Match.objects.count() == 1


def test_the_play_form_keeps_a_seat_the_link_asked_for(both_seats):
    game = Game.objects.get(name="tictactoe")
    form = PlayForm(game=game, initial={"opponent": f"checkpoint:{both_seats['player_2'].pk}", "seat": None})
    assert form.initial["seat"] == "player_1"
    asked = PlayForm(game=game, initial={"opponent": "bot:minimax", "seat": "player_2"})
    assert asked.initial["seat"] == "player_2"


def test_the_agent_page_names_the_seat_each_checkpoint_learned(client, both_seats):
    agent = both_seats["player_1"].agent
    html = client.get(agent.get_absolute_url()).content.decode()
    assert "Seat learned" in html and '<td data-seat="player_1">player_1 (moves first)</td>' in html
    assert "(you take player_1)" in html and "(you take player_2)" in html
    assert f"checkpoint={both_seats['player_2'].pk}" in html  # its match link seats it where it learned
