"""Go 9x9 against GNU Go through the play service: points, a pass, and illegal moves refused."""

from __future__ import annotations

import re

import pytest

from arena.models import Match
from arena.services.play import human_game_create, human_move
from arena.services.play_events import PlayError
from marl.engines import find_engine

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(find_engine("gnugo") is None, reason="GNU Go is not installed (make install-engines)"),
]


def test_a_person_plays_points_and_a_pass_and_gnugo_answers_each(user):
    match = human_game_create(user=user, game="go9", opponent="bot:gnugo:1", seat="black_0", seed=1)
    events = human_move(match_id=match.pk, user=user, ply=0, move={"row": 4, "col": 4})
    assert [e["seat"] for e in events] == ["black_0", "white_0"]
    reply = events[1]["state"]
    assert reply["board"][4][4] == 1 and reply["last_move"]["gtp"] != "E5"
    events = human_move(match_id=match.pk, user=user, ply=2, move={"pass": True})
    assert events[0]["state"]["passes"] == 1 and events[0]["action"] == 81
    match.refresh_from_db()
    assert match.moves[:1] == [40] and match.moves[2] == 81 and match.status == Match.RUNNING


@pytest.mark.parametrize(
    ("move", "message"),
    [
        ({"row": 4, "col": 4}, "E5 (action 40) is not a legal move here"),
        ({"row": 9, "col": 0}, "'row' must be in 0..8"),
        ({"pass": "yes"}, '"pass": true'),
        (82, "out of range 0..81"),
    ],
)
def test_an_illegal_go_move_is_refused_with_a_clear_error_and_changes_nothing(user, move, message):
    match = human_game_create(user=user, game="go9", opponent="bot:gnugo:1", seat="black_0", seed=2)
    human_move(match_id=match.pk, user=user, ply=0, move=40)
    match.refresh_from_db()
    before = (list(match.moves), match.seq)
    with pytest.raises(PlayError, match=re.escape(message)) as refused:
        human_move(match_id=match.pk, user=user, ply=2, move=move)
    assert refused.value.code == "illegal_move"
    match.refresh_from_db()
    assert (list(match.moves), match.seq) == before
