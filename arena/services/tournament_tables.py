"""Tournament tables: the finished games, standings, head to head, and each entrant's Elo on the one
scale (the game pool's fit, random = 0) with its 95% interval, plus the seat advantage measured in this
tournament's own games."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from arena.models import Match, MatchSeat, Tournament
from arena.services.anchors import PRIOR_DRAWS
from arena.services.ratings import rating_fit_get, score_of
from marl.elo_fit import elo_fit
from marl.errors import MarlError
from marl.ratings import head_to_head, standings


def tournament_results(*, tournament: Tournament) -> list[tuple[str, str, float]]:
    """Finished games as `(first_player_id, second_player_id, first's score)`, oldest first."""
    seats = list(tournament.game.seats)
    by_match: dict[int, dict[str, tuple[int, float | None]]] = defaultdict(dict)
    rows = (
        MatchSeat.objects.filter(
            match__tournament_match__round__tournament=tournament, match__status=Match.FINISHED
        )
        .values_list("match_id", "seat", "player_id", "score")
        .order_by("match_id")
    )
    for match_id, seat, player_id, score in rows:
        by_match[match_id][seat] = (player_id, score)
    results = []
    for seated in by_match.values():
        (a, sa), (b, sb) = seated[seats[0]], seated[seats[1]]
        if a != b:
            results.append((str(a), str(b), score_of(sa, sb)))
    return results


def tournament_table(*, tournament: Tournament) -> dict[str, Any]:
    """Standings, the head-to-head matrix, each entrant's Elo with its 95% interval from the pool's
    fit (the same number as the leaderboard's), and the first seat's advantage in these games."""
    entries = list(tournament.entries.select_related("player__checkpoint__agent").order_by("seed"))
    ids = [str(e.player_id) for e in entries]
    labels = {str(e.player_id): e.player.label for e in entries}
    results = tournament_results(tournament=tournament)
    byes = _byes(tournament)
    table = standings(results, participants=ids)
    fit = rating_fit_get(pool=tournament.game.name) if results else None
    for row in table:
        row["label"] = labels.get(row["player"], row["player"])
        row["byes"] = byes.get(row["player"], 0)
        value = fit.ratings.get(row["player"]) if fit else None
        if value:
            row["elo"], row["elo_lo"], row["elo_hi"] = value[:3]
    return {
        "standings": table,
        "head_to_head": head_to_head(results) if results else {},
        "labels": labels,
        "order": [row["player"] for row in table],
        "games": len(results),
        "seat_advantage": _seat_advantage(results),
    }


def tournament_table_now(*, tournament: Tournament) -> dict[str, Any]:
    """The table as it stands: a finished tournament's stored one, else a fresh one from its games."""
    return tournament.table or tournament_table(tournament=tournament)


def _seat_advantage(results: list[tuple[str, str, float]]) -> list[float] | None:
    """The first seat's advantage in Elo with its 95% interval, from this tournament's games alone."""
    if not results:
        return None
    try:
        return list(elo_fit(results, prior_draws=PRIOR_DRAWS).seat_advantage)
    except MarlError:  # players who never met (a knockout's first round): no joint fit
        return None


def _byes(tournament: Tournament) -> dict[str, int]:
    byes: dict[str, int] = defaultdict(int)
    for data in tournament.round_set.values_list("data", flat=True):
        for bye in data.get("byes", []):
            byes[bye] += 1
    return byes
