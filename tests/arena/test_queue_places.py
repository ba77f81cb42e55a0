"""A queued match or tournament says where it stands in the games queue and why it waits, counted from
the database: pending matches older than it are ahead, worker matches running are what it waits for."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from arena.models import Match, Tournament
from arena.services.play import human_game_create
from arena.services.queue_places import match_queue_place, tournament_queue_place
from arena.services.tournaments import tournament_create, tournament_start
from tests.factories import MatchFactory

pytestmark = pytest.mark.django_db


def _running(match: Match) -> Match:
    """As a games worker would have it: taken off the queue, playing."""
    Match.objects.filter(pk=match.pk).update(status=Match.RUNNING, started_at=timezone.now())
    match.refresh_from_db()
    return match


def test_a_pending_match_counts_the_pending_matches_queued_before_it(user):
    first, second, third = MatchFactory(), MatchFactory(), MatchFactory()
    assert match_queue_place(match=first)["ahead"] == 0
    assert match_queue_place(match=third)["ahead"] == 2
    busy = _running(first)
    place = match_queue_place(match=third)
    assert place["ahead"] == 1 and place["queue"] == "games" and place["running"] == 1
    assert place["busy"][0]["match"] == busy.pk and place["busy"][0]["game"] == "tictactoe"
    assert place["text"].startswith("Queued: 1 match ahead of this one in the games queue; ")
    assert f"the games workers are busy with match #{busy.pk} (tictactoe, " in place["text"]
    assert match_queue_place(match=second)["text"].startswith("Queued: next in the games queue; ")
    assert match_queue_place(match=busy) is None  # started: no place in the queue


def test_a_persons_game_is_not_counted_as_a_worker_busy(user):
    human_game_create(user=user, game="tictactoe", opponent="bot:random", seed=1)  # runs in the web process
    place = match_queue_place(match=MatchFactory())
    assert place["running"] == 0 and place["ahead"] == 0
    assert "no games worker has taken it yet" in place["text"]


def test_a_tournament_waits_behind_older_matches_not_its_own(user):
    older = MatchFactory()
    tournament = tournament_create(
        user=user,
        game="tictactoe",
        format="round_robin",
        participants=["bot:random", "bot:minimax"],
        start=False,
    )
    assert tournament.status == Tournament.PENDING
    assert tournament_queue_place(tournament=tournament)["ahead"] == 1
    tournament_start(user=user, tournament_id=tournament.pk, dispatch=False)
    tournament.refresh_from_db()
    MatchFactory()  # queued after the tournament's games: not ahead of them
    place = tournament_queue_place(tournament=tournament)
    assert place["ahead"] == 1 and place["own_waiting"] == 2
    assert place["text"].startswith(
        "Queued: 1 match ahead of this tournament's 2 queued games in the games queue"
    )
    Match.objects.filter(pk=older.pk).update(status=Match.FINISHED)
    assert tournament_queue_place(tournament=tournament)["ahead"] == 0
    Match.objects.filter(tournament_match__round__tournament=tournament).update(status=Match.RUNNING)
    assert tournament_queue_place(tournament=tournament) is None  # none of its games waits


def test_the_match_page_and_the_api_say_the_place(client, user):
    ahead, match = MatchFactory(), MatchFactory()
    page = client.get(reverse("match_detail", args=[match.pk])).content.decode()
    assert "data-queue-place" in page and "1 match ahead of this one" in page
    data = client.get(f"/api/matches/{match.pk}").json()
    assert data["queue"]["ahead"] == 1 and data["queue"]["text"].startswith("Queued: 1 match ahead")
    _running(ahead)
    assert client.get(f"/api/matches/{ahead.pk}").json()["queue"] is None
    assert "data-queue-place" not in client.get(reverse("match_detail", args=[ahead.pk])).content.decode()


def test_the_tournament_page_says_the_place(client, user):
    MatchFactory()
    tournament = tournament_create(
        user=user,
        game="tictactoe",
        format="round_robin",
        participants=["bot:random", "bot:minimax"],
        start=False,
    )
    page = client.get(reverse("tournament_detail", args=[tournament.pk])).content.decode()
    assert "1 match ahead of this tournament" in page
