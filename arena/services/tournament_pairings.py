"""Tournament pairings: who meets whom in the round after the last, by format (round robin, gauntlet,
Swiss on points without rematches, knockout with the better seed advancing on level points)."""

from __future__ import annotations

from collections import defaultdict

from arena.models import Tournament, TournamentRound
from arena.services.tournament_tables import tournament_results
from marl.pairing import (
    gauntlet,
    knockout_next_round,
    knockout_round,
    knockout_slots,
    round_robin,
    swiss_pairings,
)


def _entries(tournament: Tournament) -> list[str]:
    """Player ids (strings, as `marl.pairing` wants them) in seed order."""
    return [str(pk) for pk in tournament.entries.order_by("seed").values_list("player_id", flat=True)]


def _pair_points(tournament: Tournament) -> dict[tuple[str, str], float]:
    """Points each player scored against each opponent, over all recorded games so far."""
    points: dict[tuple[str, str], float] = defaultdict(float)
    for a, b, score in tournament_results(tournament=tournament):
        points[(a, b)] += score
        points[(b, a)] += 1.0 - score
    return points


def tournament_next_pairs(
    tournament: Tournament, previous: TournamentRound | None
) -> tuple[list[tuple[str, str]], dict] | None:
    """The pairings of the round after `previous` (None: the first), or None when the tournament is over."""
    ids = _entries(tournament)
    number = 1 if previous is None else previous.number + 1
    fmt = tournament.format
    if fmt == Tournament.ROUND_ROBIN:
        schedule = round_robin(ids, games_per_pair=1)  # each pairing plays games_per_pair games in its round
        return (schedule[number - 1], {}) if number <= len(schedule) else None
    if fmt == Tournament.GAUNTLET:
        return (gauntlet(ids[0], ids[1:], games_per_opponent=1), {}) if number == 1 else None
    if fmt == Tournament.SWISS:
        return _swiss_pairs(tournament, ids, number) if number <= (tournament.rounds or 0) else None
    return _knockout_pairs(tournament, ids, previous)


def _swiss_pairs(tournament: Tournament, ids: list[str], number: int) -> tuple[list[tuple[str, str]], dict]:
    """Swiss: players on equal points meet, no rematches, a bye for the odd one out."""
    rounds = list(tournament.round_set.order_by("number"))
    played = [tuple(p) for rd in rounds for p in rd.data.get("pairs", [])]
    byes = [b for rd in rounds for b in rd.data.get("byes", [])]
    points = defaultdict(float)
    for (a, _), score in _pair_points(tournament).items():
        points[a] += score
    for bye in byes:  # a bye scores as a won pairing
        points[bye] += tournament.games_per_pair
    pairs, bye = swiss_pairings(ids, points, played, seed=tournament.seed + number, byes=byes)
    return pairs, {"byes": [bye] if bye else []}


def _knockout_pairs(
    tournament: Tournament, ids: list[str], previous: TournamentRound | None
) -> tuple[list[tuple[str, str]], dict] | None:
    """Knockout: the better seed advances when a pairing's points are level."""
    if previous is None:
        pairs, byes = knockout_round(ids)
        return pairs, {"slots": [list(s) for s in knockout_slots(ids)], "byes": byes}
    rank = {pid: i for i, pid in enumerate(ids)}
    points = _pair_points(tournament)
    winners = set()
    for a, b in (tuple(p) for p in previous.data.get("pairs", [])):
        a_pts, b_pts = points.get((a, b), 0.0), points.get((b, a), 0.0)
        winners.add(a if (a_pts, -rank[a]) > (b_pts, -rank[b]) else b)
    pairs = knockout_next_round([tuple(s) for s in previous.data["slots"]], winners)
    return (pairs, {"slots": [list(p) for p in pairs]}) if pairs else None
