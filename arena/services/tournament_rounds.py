"""Opening tournament rounds in bulk: the rounds' rows, their matches with seeds and openings, the seats,
and the tasks that play them (queued after commit).

Round robin and gauntlet pair players without looking at results, so every round is opened at once
and the workers play all of it without waiting round by round; Swiss and knockout open one round at a
time, each paired from the results before it. Either way a set of rounds costs the same handful of
bulk INSERTs, whatever its size.
"""

from __future__ import annotations

from collections import defaultdict

from arena.dispatch import task_send_on_commit
from arena.models import Match, MatchSeat, Tournament, TournamentMatch, TournamentRound
from arena.services.openings import opening_choose
from arena.services.tournament_pairings import tournament_next_pairs

MAX_GAMES_PER_PAIR = 1000
# Pairings that never depend on results: all rounds are known when the tournament starts.
INDEPENDENT_FORMATS = (Tournament.ROUND_ROBIN, Tournament.GAUNTLET)

Plan = tuple[tuple[str, str], tuple[int, int]]  # player ids in seat order; (pairing, game pair)
RoundPlan = tuple[int, list[tuple[str, str]], dict]  # number, pairings, round data


def tournament_rounds_open(
    *, tournament: Tournament, after: TournamentRound | None, dispatch: bool
) -> list[TournamentRound]:
    """Open the round after `after` (None: the first) or, for a format whose pairings do not depend on
    results, every round still to come. Returns the opened rounds, none when the tournament is over."""
    plans: list[RoundPlan] = []
    number = after.number if after is not None else 0
    following = tournament_next_pairs(tournament, after)
    while following is not None:
        number += 1
        plans.append((number, *following))
        if tournament.format not in INDEPENDENT_FORMATS:
            break
        following = tournament_next_pairs(tournament, _Numbered(number))
    return _open(tournament, plans, dispatch=dispatch) if plans else []


class _Numbered:
    """Stands for a round not yet stored: independent pairings need only its number."""

    def __init__(self, number: int) -> None:
        self.number, self.data = number, {}


def _open(tournament: Tournament, plans: list[RoundPlan], *, dispatch: bool) -> list[TournamentRound]:
    """The rounds with `games_per_pair` matches per pairing (seats alternating), in four bulk INSERTs."""
    rounds = TournamentRound.objects.bulk_create(
        [
            TournamentRound(tournament=tournament, number=n, data={**data, "pairs": [list(p) for p in pairs]})
            for n, pairs, data in plans
        ]
    )
    games = range(tournament.games_per_pair)
    # Game g of a pairing plays opening g // 2: each opening twice, seats swapped (a game pair). A
    # poker match deals every hand both ways itself, so each of its games gets deals of its own:
    # two matches of the same deals would play the same hands twice, one result counted as two.
    per_opening = 1 if tournament.hands > 1 else 2
    planned: list[tuple[TournamentRound, Plan]] = [
        (rnd, ((a, b) if g % 2 == 0 else (b, a), (p, g // per_opening)))
        for rnd, (_, pairs, _) in zip(rounds, plans, strict=True)
        for p, (a, b) in enumerate(pairs)
        for g in games
    ]
    matches = _matches(tournament, planned)
    TournamentMatch.objects.bulk_create(
        [TournamentMatch(round=rnd, match=m) for m, (rnd, _) in zip(matches, planned, strict=True)]
    )
    if dispatch:
        tournament_matches_dispatch(
            tournament=tournament,
            matches=[(m.pk, plan[0]) for m, (_, plan) in zip(matches, planned, strict=True)],
        )
    return rounds


def _seed(tournament: Tournament, number: int, pairing: int, game_pair: int) -> int:
    """Both games of a game pair share a seed, and so an opening."""
    return (tournament.seed * 1_000_003 + number * 10_007 + pairing * MAX_GAMES_PER_PAIR + game_pair) % 2**62


def _matches(tournament: Tournament, planned: list[tuple[TournamentRound, Plan]]) -> list[Match]:
    """One pending match per plan; its opening is stored as its leading moves."""
    seeds = [_seed(tournament, rnd.number, p, k) for rnd, (_, (p, k)) in planned]
    book = tournament.openings or None
    chosen: dict[int, list[int]] = {}
    for seed, (_, (_, (_, k))) in zip(seeds, planned, strict=True):
        if seed not in chosen:
            given = book[k % len(book)] if book else None
            chosen[seed] = opening_choose(
                game=tournament.game, seed=seed, plies=tournament.opening_plies, opening=given
            )
    matches = Match.objects.bulk_create(
        [
            Match(
                game=tournament.game,
                created_by=tournament.created_by,
                seed=seed,
                rated=True,
                moves=chosen[seed],
                opening_plies=len(chosen[seed]),
                temperature=tournament.temperature,
                hands=tournament.hands,
            )
            for seed in seeds
        ]
    )
    MatchSeat.objects.bulk_create(
        [
            MatchSeat(match=m, seat=seat, player_id=int(pid))
            for m, (_, (order, _)) in zip(matches, planned, strict=True)
            for seat, pid in zip(tournament.game.seats, order, strict=True)
        ]
    )
    return matches


def tournament_matches_dispatch(
    *, tournament: Tournament, matches: list[tuple[int, tuple[str, str]]]
) -> None:
    """Queue matches after commit: one live task each, or batches of one pairing-and-seating each."""
    if tournament.batch_size <= 1:
        for match_id, _ in matches:
            task_send_on_commit("arena.tasks.play_match", match_id)
        return
    for batch in _batches(matches, tournament.batch_size):
        task_send_on_commit("arena.tasks.tournament_play_batch", batch)


def _batches(matches: list[tuple[int, tuple[str, str]]], size: int) -> list[list[int]]:
    """Match ids in batches of at most `size`, each of one pairing and seating (one batched loop)."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for match_id, plan in matches:
        groups[plan].append(match_id)
    return [ids[i : i + size] for ids in groups.values() for i in range(0, len(ids), size)]
