"""Ratings: one pool per game, one rating model, one scale.

The rating is the pool's maximum-likelihood Elo fit over all its rated games (`marl.elo_fit`: draws
and a seat advantage, intervals from the information in the games), with the reference bots pinned
at their measured values (random = 0). `rating_fit_get` serves the stored fit (`RatingFit`) and
refits when rated games arrived since; each refit stores a history point per player that played.

A poker pool's games are matches of many hands (`poker_matches`): calibration, league evaluations and
the anchors play them too, and a person's one hand at the table, rated provisionally, stays out of the
fit, so every game of the pool is on the one per-match scale.

`ratings_record` keeps the online OpenSkill numbers, shown only as "provisional": it rates one game
or many (a live match, a tournament batch, a league evaluation) in one transaction, anchors fixed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from arena.dispatch import task_send_on_commit
from arena.models import (
    LeagueResult,
    Match,
    MatchSeat,
    Player,
    Rating,
    RatingEvent,
    RatingFit,
    RatingFitPoint,
)
from arena.services.anchors import PRIOR_DRAWS, anchor_elo
from arena.services.poker_matches import poker_game_is
from marl.elo_fit import elo_fit
from marl.errors import MarlError
from marl.ratings import Rating as Skill
from marl.ratings import default_rating, rate_match


@dataclass
class RatedGame:
    """One game to rate: `score` is what `first` scored (1 win, 0.5 draw, 0 loss)."""

    first: Player
    second: Player
    score: float
    match: Match | None = None


def score_of(first: float | None, second: float | None) -> float:
    """The first seat's score from the two seats' returns: the one score rule."""
    first, second = first or 0.0, second or 0.0
    return 1.0 if first > second else 0.0 if first < second else 0.5


def rated_game(match: Match, seats: Mapping[str, MatchSeat]) -> RatedGame | None:
    """What a finished match adds to its pool (None when it is unrated): its first two seats in the
    game's order, scored by the seats' stored scores."""
    if not match.rated or match.status != Match.FINISHED:
        return None
    first, second = (seats[name] for name in match.game.seats[:2])
    return RatedGame(first.player, second.player, score_of(first.score, second.score), match)


def rating_get(*, player: Player, pool: str) -> Rating:
    initial = default_rating()
    rating, _ = Rating.objects.get_or_create(
        player=player, pool=pool, defaults={"mu": initial.mu, "sigma": initial.sigma}
    )
    return rating


def ratings_record_match(*, match_id: int) -> list[Rating]:
    """Rate one stored match (if finished and rated). Idempotent: a rated match is never rated twice."""
    match = Match.objects.select_related("game").get(pk=match_id)
    game = rated_game(match, {s.seat: s for s in match.seats.select_related("player")})
    return list(ratings_record(pool=match.game.name, games=[game]).values()) if game else []


def ratings_record(*, pool: str, games: Sequence[RatedGame]) -> dict[int, Rating]:
    """Rate `games` in order; one history event per match, or one per player when games carry none.

    Returns the new ratings by player id. Games of a player against itself, and matches rated
    before, are skipped.
    """
    games = [g for g in games if g.first.pk != g.second.pk]  # self-play says nothing about strength
    if not games:
        return {}
    with transaction.atomic():
        rows = _locked_ratings(pool, {p.pk: p for g in games for p in (g.first, g.second)})
        games = _not_rated_before(games)  # read under the rating locks: a second recorder waits, then skips
        if not games:
            return {}
        events = _rate_in_memory(rows, games)
        Rating.objects.bulk_update(list(rows.values()), ["mu", "sigma", "games", "updated_at"])
        if not events:
            events = [RatingEvent(rating=row, mu=row.mu, sigma=row.sigma) for row in rows.values()]
        RatingEvent.objects.bulk_create(events)
    return rows


def _locked_ratings(pool: str, players: dict[int, Player]) -> dict[int, Rating]:
    """Each player's rating in `pool` (created at the default if new), row-locked, by player id.

    Rows are created and locked in player-id order: two batches of one tournament rating the same new
    players at once would otherwise each wait on the other's uncommitted insert (a PostgreSQL
    deadlock on the unique (player, pool) index)."""
    ids = [rating_get(player=players[pk], pool=pool).pk for pk in sorted(players)]
    locked = Rating.objects.select_for_update().filter(pk__in=ids).order_by("player_id")
    return {row.player_id: row for row in locked}


def _not_rated_before(games: list[RatedGame]) -> list[RatedGame]:
    match_ids = [g.match.pk for g in games if g.match is not None]
    rated = set(RatingEvent.objects.filter(match_id__in=match_ids).values_list("match_id", flat=True))
    return [g for g in games if g.match is None or g.match.pk not in rated]


def _rate_in_memory(rows: dict[int, Rating], games: list[RatedGame]) -> list[RatingEvent]:
    """Apply the games to `rows` one after another; the history events of games that carry a match."""
    skills = {pk: Skill(row.mu, row.sigma) for pk, row in rows.items()}
    counts = dict.fromkeys(rows, 0)
    events: list[RatingEvent] = []
    for g in games:
        a, b = g.first.pk, g.second.pk
        skills[a], skills[b] = rate_match(
            skills[a], skills[b], g.score, fixed_a=g.first.is_anchor, fixed_b=g.second.is_anchor
        )
        counts[a] += 1
        counts[b] += 1
        if g.match is not None:
            events += [
                RatingEvent(rating=rows[pk], match=g.match, mu=skills[pk].mu, sigma=skills[pk].sigma)
                for pk in (a, b)
            ]
    now = timezone.now()
    for pk, row in rows.items():
        row.mu, row.sigma, row.games = skills[pk].mu, skills[pk].sigma, row.games + counts[pk]
        row.updated_at = now  # bulk_update does not touch auto_now fields
    return events


# ------------------------------------------------------------------------------------- the Elo fit

# Pools with up to this many rated games are refitted on read (well under a second); larger ones by
# the `rating_fit_refresh` task, which a read that finds the fit stale queues.
INLINE_REFIT_GAMES = 2000
REFRESH_TASK = "arena.tasks.rating_fit_refresh"
REFRESH_RETRY_SECONDS = 600

FitGame = tuple[str, str, float]  # (first seat's player id, second's, first's score)


def pool_games(pool: str) -> list[FitGame]:
    """Every rated game of the pool: finished rated matches, then league evaluation games."""
    return _match_games(pool) + _league_games(pool)


def pool_games_count(pool: str) -> int:
    """How many rated games the pool has (two cheap counts): a fit that saw another number is stale."""
    matches = Match.objects.filter(_fitted_matches(pool)).count()
    league = LeagueResult.objects.filter(tick__league__game__name=pool).aggregate(
        n=Sum("wins") + Sum("draws") + Sum("losses")
    )["n"]
    return matches + (league or 0)


def _fitted_matches(pool: str, prefix: str = "") -> Q:
    """The pool's matches in its fit (`prefix` "match__" from a related row): finished rated ones, and
    in poker only the matches of many hands."""
    wanted = Q(**{f"{prefix}game__name": pool, f"{prefix}rated": True, f"{prefix}status": Match.FINISHED})
    return wanted & Q(**{f"{prefix}hands__gt": 1}) if poker_game_is(pool) else wanted


def _match_games(pool: str) -> list[FitGame]:
    rows = MatchSeat.objects.filter(_fitted_matches(pool, "match__")).values_list(
        "match_id", "seat", "player_id", "score", "match__game__seats"
    )
    seated: dict[int, dict[str, tuple[int, float | None]]] = defaultdict(dict)
    order: dict[int, list[str]] = {}
    for match_id, seat, player_id, score, seats in rows:
        seated[match_id][seat] = (player_id, score)
        order[match_id] = seats
    games = []
    for match_id in sorted(seated):
        first_seat, second_seat = order[match_id][:2]
        (a, sa), (b, sb) = seated[match_id][first_seat], seated[match_id][second_seat]
        games.append((str(a), str(b), score_of(sa, sb)))
    return games


def _league_games(pool: str) -> list[FitGame]:
    """League evaluations are stored summed per opponent and seat; unrolled back into games."""
    results = LeagueResult.objects.filter(tick__league__game__name=pool).select_related("tick__league__game")
    games: list[FitGame] = []
    for r in results.order_by("id"):
        me, other = str(r.player_id), str(r.opponent_id)
        first = r.seat == r.tick.league.game.seats[0]
        pair = (me, other) if first else (other, me)
        for outcome, count in ((1.0, r.wins), (0.5, r.draws), (0.0, r.losses)):
            games += [(*pair, outcome if first else 1.0 - outcome)] * count
    return games


def _anchored_component(
    games: list[FitGame], anchors: dict[str, float]
) -> tuple[list[FitGame], dict[str, float]]:
    """The games of the players connected to the random bot (the scale's zero), and the anchors among
    them: a group that never met an anchor has no place on the scale."""
    group: dict[str, str] = {}

    def root(p: str) -> str:
        group.setdefault(p, p)
        while group[p] != p:
            group[p] = group[group[p]]
            p = group[p]
        return p

    for first, second, _ in games:
        group[root(first)] = root(second)
    zero = next((p for p, elo in anchors.items() if elo == 0.0 and p in group), None)
    if zero is None:
        return [], {}
    home = root(zero)
    kept = [g for g in games if g[0] != g[1] and root(g[0]) == home]
    return kept, {p: elo for p, elo in anchors.items() if p in group and root(p) == home}


def _pool_anchors(pool: str) -> dict[str, float]:
    """Anchor player ids (strings) to their pinned Elo."""
    pins = anchor_elo(pool)
    bots = Player.objects.filter(game__name=pool, kind=Player.BOT, bot__in=list(pins))
    return {str(p.pk): pins[p.bot] for p in bots}


def rating_fit_refresh(*, pool: str) -> RatingFit:
    """Fit the pool's rated games and store the fit, with a history point per player whose games grew."""
    count = pool_games_count(pool)
    games, anchors = _anchored_component(pool_games(pool), _pool_anchors(pool))
    fit_row, _ = RatingFit.objects.get_or_create(pool=pool)
    previous = _games_per_player(fit_row)
    fit_row.games, fit_row.error, fit_row.refresh_requested_at = count, "", None
    fit_row.ratings, fit_row.seat_advantage, fit_row.draw_elo = {}, [], []
    if not games:
        fit_row.error = "no rated game against the reference bots yet"
    else:
        try:
            fit = elo_fit(games, anchors=anchors, prior_draws=PRIOR_DRAWS)
        except MarlError as exc:
            fit_row.error = str(exc)[:500]
        else:
            played = Counter(p for first, second, _ in games for p in (first, second))
            fit_row.ratings = {p: [*v, played[p]] for p, v in fit.ratings.items()}
            fit_row.seat_advantage, fit_row.draw_elo = list(fit.seat_advantage), list(fit.draw_elo)
    with transaction.atomic():
        fit_row.save()
        RatingFitPoint.objects.bulk_create(_history_points(fit_row, previous, set(anchors)))
    return fit_row


def _games_per_player(fit_row: RatingFit) -> dict[str, int]:
    return {p: int(v[3]) for p, v in (fit_row.ratings or {}).items() if len(v) > 3}


def _history_points(fit_row: RatingFit, previous: dict[str, int], anchors: set[str]) -> list[RatingFitPoint]:
    return [
        RatingFitPoint(fit=fit_row, player_id=int(p), games=int(v[3]), elo=v[0], low=v[1], high=v[2])
        for p, v in fit_row.ratings.items()
        if p not in anchors and int(v[3]) != previous.get(p)
    ]


def rating_fit_get(*, pool: str) -> RatingFit:
    """The pool's stored fit. When rated games arrived since, a small pool is refitted here; a large
    one is refitted by a worker task while the last fit is served (a fit of many players takes
    seconds)."""
    fit_row = RatingFit.objects.filter(pool=pool).first()
    count = pool_games_count(pool)
    if fit_row is not None and fit_row.games == count:
        return fit_row
    if count <= INLINE_REFIT_GAMES:
        return rating_fit_refresh(pool=pool)
    if fit_row is None:
        fit_row, _ = RatingFit.objects.get_or_create(
            pool=pool, defaults={"error": "the first fit is being computed"}
        )
    _request_refresh(fit_row)
    return fit_row


def _request_refresh(fit_row: RatingFit) -> None:
    """Queue one refit at a time: a request stands until the refit clears it, or for a while."""
    now = timezone.now()
    lapsed = now - timedelta(seconds=REFRESH_RETRY_SECONDS)
    asked = (
        RatingFit.objects.filter(pk=fit_row.pk)
        .filter(Q(refresh_requested_at__isnull=True) | Q(refresh_requested_at__lt=lapsed))
        .update(refresh_requested_at=now)
    )
    if asked:
        fit_row.refresh_requested_at = now
        task_send_on_commit(REFRESH_TASK, fit_row.pool)
