"""Tournament tables: the finished games, standings, head to head and Bradley-Terry with intervals."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from arena.models import Match, MatchSeat, Player, Tournament, TournamentEntry
from arena.services.ratings import score_of
from marl.ratings import bradley_terry_intervals, head_to_head, standings


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


def tournament_table(*, tournament: Tournament, n_boot: int = 200) -> dict[str, Any]:
    """Standings, the head-to-head matrix and Bradley-Terry scores with 95% bootstrap intervals (Elo
    points; the random bot is 0 when it plays, else the field's mean)."""
    entries = list(tournament.entries.select_related("player__checkpoint__agent").order_by("seed"))
    ids = [str(e.player_id) for e in entries]
    labels = {str(e.player_id): e.player.label for e in entries}
    results = tournament_results(tournament=tournament)
    byes = _byes(tournament)
    table = standings(results, participants=ids)
    bt = _bradley_terry(entries, results, seed=tournament.seed, n_boot=n_boot) if results else {}
    for row in table:
        row["label"] = labels.get(row["player"], row["player"])
        row["byes"] = byes.get(row["player"], 0)
        if row["player"] in bt:
            row["bt"], row["bt_lo"], row["bt_hi"] = bt[row["player"]]
    return {
        "standings": table,
        "head_to_head": head_to_head(results) if results else {},
        "labels": labels,
        "order": [row["player"] for row in table],
        "games": len(results),
    }


def _byes(tournament: Tournament) -> dict[str, int]:
    byes: dict[str, int] = defaultdict(int)
    for data in tournament.round_set.values_list("data", flat=True):
        for bye in data.get("byes", []):
            byes[bye] += 1
    return byes


def _bradley_terry(
    entries: list[TournamentEntry], results: list[tuple[str, str, float]], *, seed: int, n_boot: int
) -> dict[str, tuple[float, float, float]]:
    """Scores with bootstrap intervals, anchored on the random bot when it played."""
    played = {p for a, b, _ in results for p in (a, b)}
    anchor = next(
        (
            str(e.player_id)
            for e in entries
            if e.player.kind == Player.BOT and e.player.bot == "random" and str(e.player_id) in played
        ),
        None,
    )
    return bradley_terry_intervals(results, n_boot=n_boot, seed=seed, anchor=anchor)
