"""The lists at /agents/, /matches/ and /runs/: mine or all, a GET search, pages of PAGE_SIZE."""

from __future__ import annotations

import pytest
from django.urls import reverse

from arena.listings import PAGE_SIZE
from arena.models import Match
from tests.factories import AgentFactory, CheckpointFactory, MatchFactory, TrainingRunFactory, UserFactory

pytestmark = pytest.mark.django_db


def _listed(response, name: str) -> list:
    assert response.status_code == 200
    return list(response.context[name])


def _found(client, view: str, q: str) -> list:
    """What a search of everyone's rows for `q` lists."""
    name = {"agent_list": "agents", "match_list": "matches", "run_list": "runs"}[view]
    return _listed(client.get(reverse(view), {"q": q, "scope": "all"}), name)


def test_the_agent_list_shows_mine_by_default_and_everyones_on_request(user_client, user, agent, other_user):
    theirs = AgentFactory(owner=other_user, name="rival")
    assert _listed(user_client.get(reverse("agent_list")), "agents") == [agent]
    everyone = _listed(user_client.get(reverse("agent_list"), {"scope": "all"}), "agents")
    assert {a.pk for a in everyone} == {agent.pk, theirs.pk}


def test_a_stranger_sees_all_agents_and_no_mine_tab(client, agent, other_user):
    AgentFactory(owner=other_user, name="rival")
    response = client.get(reverse("agent_list"), {"scope": "mine"})
    assert len(_listed(response, "agents")) == 2
    assert b"scope=mine" not in response.content


def test_the_agent_search_matches_name_game_and_owner(user_client, user, agent, other_user):
    AgentFactory(owner=other_user, name="rival", game="connect_four")
    search = lambda q: [a.name for a in _found(user_client, "agent_list", q)]  # noqa: E731
    assert search("riv") == ["rival"]
    assert search("connect") == ["rival"]
    assert search(other_user.username) == ["rival"]
    assert search("nothing-like-this") == []


def test_the_agent_list_pages_through_every_agent_once(user_client, user):
    names = {AgentFactory(owner=user, name=f"a{i:02d}").name for i in range(PAGE_SIZE + 3)}
    first = _listed(user_client.get(reverse("agent_list")), "agents")
    second_response = user_client.get(reverse("agent_list"), {"page": 2})
    second = _listed(second_response, "agents")
    assert len(first) == PAGE_SIZE and len(second) == 3
    assert {a.name for a in first + second} == names
    assert b"page 2 of 2" in second_response.content
    # A page number out of range or malformed gives a real page rather than an error.
    assert len(_listed(user_client.get(reverse("agent_list"), {"page": 99}), "agents")) == 3
    assert len(_listed(user_client.get(reverse("agent_list"), {"page": "x"}), "agents")) == PAGE_SIZE


def test_my_matches_are_those_i_made_or_my_agents_played(user_client, user, agent, other_user):
    checkpoint = CheckpointFactory(agent=agent)
    mine_by_agent = MatchFactory(seats={"player_1": f"checkpoint:{checkpoint.pk}", "player_2": "bot:random"})
    mine_by_creation = MatchFactory(user=user)
    strangers = MatchFactory(user=other_user)
    mine = _listed(user_client.get(reverse("match_list")), "matches")
    assert {m.pk for m in mine} == {mine_by_agent.pk, mine_by_creation.pk}  # each once, seats notwithstanding
    everyone = _listed(user_client.get(reverse("match_list"), {"scope": "all"}), "matches")
    assert {m.pk for m in everyone} == {mine_by_agent.pk, mine_by_creation.pk, strangers.pk}


def test_a_match_is_found_by_number_agent_and_bot(user_client, user, agent):
    checkpoint = CheckpointFactory(agent=agent)
    by_agent = MatchFactory(seats={"player_1": f"checkpoint:{checkpoint.pk}", "player_2": "bot:random"})
    bots = MatchFactory(seats={"player_1": "bot:minimax", "player_2": "bot:minimax"})
    search = lambda q: {m.pk for m in _found(user_client, "match_list", q)}  # noqa: E731
    assert search(f"#{bots.pk}") == {bots.pk}
    assert search(agent.name) == {by_agent.pk}
    assert search("minimax") == {bots.pk}
    assert search("pending") == {by_agent.pk, bots.pk}
    assert Match.objects.count() == 2


def test_my_runs_are_my_agents_runs_and_the_search_finds_a_status(user_client, user, agent, other_user):
    mine = TrainingRunFactory(agent=agent)
    theirs = TrainingRunFactory(agent=AgentFactory(owner=other_user, name="rival"), status="failed")
    assert _listed(user_client.get(reverse("run_list")), "runs") == [mine]
    assert _found(user_client, "run_list", "failed") == [theirs]
    assert _found(user_client, "run_list", "rival") == [theirs]


def test_a_finished_match_row_names_the_winner_not_only_the_seat(client):
    from tests.factories import match_finished

    match = match_finished(seats={"player_1": "bot:minimax", "player_2": "bot:random"}, seed=3)
    assert match.winner == "player_1"
    page = client.get(reverse("match_list")).content.decode()
    assert "bot:minimax</span> won" in page


def test_the_navigation_shows_admin_to_staff_only(client, user):
    admin = reverse("admin:index")
    client.force_login(user)
    assert f'href="{admin}"' not in client.get(reverse("dashboard")).content.decode()
    staff = UserFactory(username="root", is_staff=True)
    client.force_login(staff)
    page = client.get(reverse("dashboard")).content.decode()
    assert f'href="{admin}"' in page and 'rel="icon"' in page


def test_the_leaderboard_link_opens_the_most_played_games_board(client):
    MatchFactory(game="connect_four", seats={"player_0": "bot:random", "player_1": "bot:random"})
    response = client.get(reverse("leaderboard_default"))
    assert response.status_code == 302 and response.url == reverse("leaderboard", args=["connect_four"])
