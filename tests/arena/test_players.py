"""Seat specs are checked when they are entered, so a bad one never reaches a worker."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from arena.models import Match, Player
from arena.services.matches import match_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "bot", ["random:5", "alphabeta:x", "minimax", "alphabeta:-1", "teleport", "x" * 5000]
)
def test_a_bad_bot_spec_is_refused_when_entered(bot):
    with pytest.raises(ValidationError, match="bot"):
        match_create(
            user=None,
            game="connect_four",
            seats={"player_0": f"bot:{bot}", "player_1": "bot:random"},
            seed=1,
            dispatch=False,
        )
    assert not Match.objects.exists()


def test_bot_specs_are_stored_in_one_spelling():
    for spec in ("bot:AlphaBeta:2", "bot: alphabeta:2 "):
        match_create(
            user=None,
            game="connect_four",
            seats={"player_0": spec, "player_1": "bot:random"},
            seed=1,
            dispatch=False,
        )
    assert list(Player.objects.filter(kind=Player.BOT).values_list("bot", flat=True).order_by("bot")) == [
        "alphabeta:2",
        "random",
    ]
