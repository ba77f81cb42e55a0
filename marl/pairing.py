"""Pairings: round robin, Swiss, knockout, gauntlet, and PFSP opponent sampling for leagues.

Pure functions over opaque string ids. A pairing ``(a, b)`` is ordered: ``a`` takes the first seat.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from numbers import Real

import numpy as np

from marl.errors import MarlError

Pair = tuple[str, str]


def _check_participants(participants: Iterable[str], minimum: int = 2) -> list[str]:
    players = list(participants)
    for p in players:
        if not isinstance(p, str) or not p:
            raise MarlError(f"participants must be non-empty strings, got {p!r}")
    dupes = sorted(p for p, c in Counter(players).items() if c > 1)
    if dupes:
        raise MarlError(f"participants must be unique, repeated: {dupes}")
    if len(players) < minimum:
        raise MarlError(f"need at least {minimum} participants, got {len(players)}")
    return players


def _check_count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MarlError(f"{name} must be a positive integer, got {value!r}")
    return value


# ------------------------------------------------------------------------------------- Round robin


def round_robin(participants: Sequence[str], *, games_per_pair: int = 2) -> list[list[Pair]]:
    """Rounds of a round robin by the circle method (Berger tables); each player plays once a round.

    One cycle is ``n - 1`` rounds (``n`` with an odd count: each round one player sits out, a bye),
    and each player takes the first seat in half its games, give or take one. The cycle repeats
    ``games_per_pair`` times with seats swapped every other cycle, so with an even ``games_per_pair``
    every pair plays each seat equally often.
    """
    players = _check_participants(participants)
    _check_count("games_per_pair", games_per_pair)
    slots: list[str | None] = [*players, None] if len(players) % 2 else list(players)
    n = len(slots)
    m = n - 1  # slot m stays put while the others rotate around it
    cycle: list[list[Pair]] = []
    for r in range(m):
        raw = [(r, m) if r % 2 == 0 else (m, r)]
        for i in range(1, n // 2):
            a, b = (r + i) % m, (r - i) % m
            # Alternating by table is what keeps every player's seats balanced within one.
            raw.append((a, b) if i % 2 == 1 else (b, a))
        games = [(slots[a], slots[b]) for a, b in raw]
        cycle.append([(a, b) for a, b in games if a is not None and b is not None])
    rounds: list[list[Pair]] = []
    for c in range(games_per_pair):
        rounds.extend(cycle if c % 2 == 0 else [[(b, a) for a, b in rd] for rd in cycle])
    return rounds


# ------------------------------------------------------------------------------------------- Swiss


# A prime below 2**31, so a product of two residues fits in int64.
_PRIME = 2_147_483_647


def _rank_mod_prime(matrix: np.ndarray) -> int:
    """Rank over the integers mod ``_PRIME`` by Gaussian elimination."""
    m = matrix.copy()
    rank = 0
    for col in range(m.shape[1]):
        nonzero = np.flatnonzero(m[rank:, col]) + rank
        if nonzero.size == 0:
            continue
        m[[rank, nonzero[0]]] = m[[nonzero[0], rank]]
        m[rank] = m[rank] * pow(int(m[rank, col]), _PRIME - 2, _PRIME) % _PRIME
        below = m[rank + 1 :, col].copy()
        m[rank + 1 :] = (m[rank + 1 :] - below[:, None] * m[rank] % _PRIME) % _PRIME
        rank += 1
        if rank == m.shape[0]:
            break
    return rank


class _FreshMatcher:
    """Largest number of new (never played) pairs among any subset of the players.

    By Lovasz's theorem that number is half the rank of the graph's Tutte matrix with random values
    (mod a prime), a polynomial test where a search over pairings can take exponential time once
    rematches are unavoidable. A bad draw can only underestimate, with chance below n / 2**31 per
    test; the values are drawn from a fixed seed so the result is deterministic.
    """

    def __init__(self, fresh: np.ndarray) -> None:
        values = np.random.default_rng(20240611).integers(1, _PRIME, size=fresh.shape)
        upper = np.triu(np.where(fresh, values, 0), 1)
        self.tutte = (upper - upper.T) % _PRIME

    def __call__(self, players: list[int]) -> int:
        return _rank_mod_prime(self.tutte[np.ix_(players, players)]) // 2 if len(players) > 1 else 0


def _pair_ranked(players: list[int], fresh: np.ndarray, matcher: _FreshMatcher) -> list[tuple[int, int]]:
    """Pair ``players`` (indices, best first) with the fewest rematches.

    The top unpaired player meets the best-ranked opponent that still allows the fewest rematches
    overall (Monrad order, so score groups pair within themselves first). A pairing has
    ``len / 2 - (new pairs)`` rematches, and any set of new pairs extends to a full pairing, so
    "fewest rematches" is "most new pairs".
    """
    pairs = []
    rest = list(players)
    target = len(rest) // 2 - matcher(rest)  # rematches still to come
    while rest:
        top, candidates = rest[0], rest[1:]
        best: tuple[int, int] | None = None
        for j in candidates:
            left = [x for x in candidates if x != j]
            cost = int(not fresh[top, j]) + len(left) // 2 - matcher(left)
            if best is None or cost < best[0]:
                best = (cost, j)
            if cost <= target:
                break
        assert best is not None
        target, partner = best
        target -= int(not fresh[top, partner])
        pairs.append((top, partner))
        rest = [x for x in candidates if x != partner]
    return pairs


def swiss_pairings(
    participants: Sequence[str],
    standings_points: Mapping[str, float],
    played: Iterable[Collection[str]],
    *,
    seed: int = 0,
    byes: Iterable[str] = (),
) -> tuple[list[Pair], str | None]:
    """One Swiss round: ``(pairs, bye)``; ``bye`` is None when the count is even.

    Players are ranked by points (ties in an order drawn from ``seed``) and paired within score
    groups, best first. ``played`` lists earlier games as frozensets or ``(first, second)`` tuples;
    no pair meets again while any pairing avoids it (otherwise the fewest rematches). The bye goes to
    the lowest-ranked player with the fewest earlier ``byes`` among those whose absence leaves the
    fewest rematches. Tuples in ``played`` also balance seats: the one with fewer first seats goes first.
    """
    players = _check_participants(participants, minimum=1)
    points = {p: float(standings_points.get(p, 0.0)) for p in players}
    met: Counter[frozenset[str]] = Counter()
    first_seats: Counter[str] = Counter()
    for game in played:
        members = list(game)
        if len(members) != 2 or members[0] == members[1]:
            raise MarlError(f"each played game must name two different players, got {game!r}")
        met[frozenset(members)] += 1
        if isinstance(game, tuple | list):
            first_seats[members[0]] += 1
    bye_count = Counter(byes)
    tiebreak = np.random.default_rng(seed).permutation(len(players))
    order = sorted(range(len(players)), key=lambda i: (-points[players[i]], tiebreak[i]))
    ranked = [players[i] for i in order]

    fresh = np.array([[a != b and met[frozenset((a, b))] == 0 for b in ranked] for a in ranked])
    matcher = _FreshMatcher(fresh)
    everyone = list(range(len(ranked)))
    bye: str | None = None
    if len(ranked) % 2:
        # Avoiding a rematch comes before avoiding a second bye: the bye goes to the first candidate
        # (fewest byes, then lowest rank) among those whose absence leaves the fewest rematches.
        candidates = sorted(everyone, key=lambda i: (bye_count[ranked[i]], -i))
        most_fresh = [matcher([x for x in everyone if x != c]) for c in candidates]
        bye_index = candidates[most_fresh.index(max(most_fresh))]
        bye = ranked[bye_index]
        everyone.remove(bye_index)
    pairs = [(ranked[i], ranked[j]) for i, j in _pair_ranked(everyone, fresh, matcher)]

    seated = []
    for board, (hi, lo) in enumerate(pairs):
        # Fewer first seats so far goes first; on a tie alternate by board so neither end is favoured.
        balanced = first_seats[hi] == first_seats[lo]
        hi_first = board % 2 == 0 if balanced else first_seats[hi] < first_seats[lo]
        seated.append((hi, lo) if hi_first else (lo, hi))
    return seated, bye


# ---------------------------------------------------------------------------------------- Knockout


def knockout_bracket(n: int) -> list[tuple[int, int | None]]:
    """First-round matches of an ``n``-player bracket as 1-based seeds, in bracket order.

    The bracket is padded to a power of two; padding seeds are byes (None), so the top seeds get them.
    Seeds 1 and 2 can meet only in the final: ``knockout_bracket(8)`` is
    ``[(1, 8), (4, 5), (2, 7), (3, 6)]``.
    """
    _check_count("n", n)
    if n < 2:
        raise MarlError("a knockout needs at least 2 players")
    order = [1]
    while len(order) < n:
        size = 2 * len(order)
        # Each seed s meets its mirror size+1-s; that keeps seed sums constant per round.
        order = [x for s in order for x in (s, size + 1 - s)]
    return [(order[i], order[i + 1] if order[i + 1] <= n else None) for i in range(0, len(order), 2)]


def knockout_slots(participants_in_seed_order: Sequence[str]) -> list[tuple[str, str | None]]:
    """The first round in bracket order: ``(a, b)`` a match, ``(a, None)`` a bye for ``a``."""
    players = _check_participants(participants_in_seed_order)
    return [
        (players[a - 1], None if b is None else players[b - 1]) for a, b in knockout_bracket(len(players))
    ]


def knockout_round(participants_in_seed_order: Sequence[str]) -> tuple[list[Pair], list[str]]:
    """First-round ``(pairs, byes)``, both in bracket order; the better seed takes the first seat."""
    slots = knockout_slots(participants_in_seed_order)
    pairs = [(a, b) for a, b in slots if b is not None]
    byes = [a for a, b in slots if b is None]
    return pairs, byes


def knockout_next_round(slots: Sequence[tuple[str, str | None]], winners: Collection[str]) -> list[Pair]:
    """The next round from this round's ``slots`` (bracket order) and the set of match ``winners``.

    Slot k's advancer meets slot k+1's (k even), keeping the bracket; feed the result back in as the
    next ``slots``. An empty list means ``slots`` was the final.
    """
    if len(slots) & (len(slots) - 1) or not slots:
        raise MarlError(f"a bracket round has a power-of-two number of slots, got {len(slots)}")
    advancers = []
    for a, b in slots:
        if b is None:
            advancers.append(a)
            continue
        won = [p for p in (a, b) if p in winners]
        if len(won) != 1:
            raise MarlError(f"exactly one of {a!r} and {b!r} must be among the winners")
        advancers.append(won[0])
    return [(advancers[i], advancers[i + 1]) for i in range(0, len(advancers) - 1, 2)]


# ---------------------------------------------------------------------------------------- Gauntlet


def gauntlet(challenger: str, field: Sequence[str], *, games_per_opponent: int = 2) -> list[Pair]:
    """The challenger's games against each of ``field``, seats alternating (challenger first, then not)."""
    _check_participants([challenger], minimum=1)
    opponents = _check_participants(field, minimum=1)
    _check_count("games_per_opponent", games_per_opponent)
    if challenger in opponents:
        raise MarlError(f"the challenger {challenger!r} cannot also be in the field")
    return [
        (challenger, opp) if g % 2 == 0 else (opp, challenger)
        for opp in opponents
        for g in range(games_per_opponent)
    ]


# -------------------------------------------------------------------------------------------- PFSP


def pfsp_weights(win_rates: Mapping[str, float], *, mode: str = "hard", p: float = 2.0) -> dict[str, float]:
    """Prioritized fictitious self-play: how often to pick each opponent, summing to 1.

    ``win_rates[o]`` is the learner's win rate against ``o``. As in AlphaStar: ``"hard"`` weighs
    ``(1 - x) ** p`` (focus on opponents that still beat the learner), ``"even"`` ``x * (1 - x)``
    (opponents near 50%), ``"linear"`` ``1 - x``. If every weight is zero (the learner beats all, or
    every match is one-sided in "even"), the choice falls back to uniform so training goes on.
    """
    if not win_rates:
        raise MarlError("pfsp needs at least one opponent")
    for name, x in win_rates.items():
        if isinstance(x, bool) or not isinstance(x, Real) or not 0.0 <= x <= 1.0:
            raise MarlError(f"win rate against {name!r} must be in [0, 1], got {x!r}")
    if isinstance(p, bool) or not isinstance(p, Real) or not 0.0 < p < float("inf"):
        raise MarlError(f"p must be a positive number, got {p!r}")
    functions = {
        "hard": lambda x: (1.0 - x) ** p,
        "even": lambda x: x * (1.0 - x),
        "linear": lambda x: 1.0 - x,
    }
    if mode not in functions:
        raise MarlError(f"mode must be one of {sorted(functions)}, got {mode!r}")
    raw = {name: functions[mode](float(x)) for name, x in win_rates.items()}
    total = sum(raw.values())
    if total <= 0.0:
        return {name: 1.0 / len(raw) for name in raw}
    return {name: w / total for name, w in raw.items()}


def pfsp_sample(
    win_rates: Mapping[str, float],
    rng: np.random.Generator | int,
    *,
    k: int = 1,
    mode: str = "hard",
    p: float = 2.0,
) -> list[str]:
    """``k`` opponents drawn with replacement by ``pfsp_weights``; ``rng`` a numpy Generator or a seed."""
    _check_count("k", k)
    weights = pfsp_weights(win_rates, mode=mode, p=p)
    if not isinstance(rng, np.random.Generator):
        if isinstance(rng, bool) or not isinstance(rng, int):
            raise MarlError(f"rng must be a numpy Generator or an integer seed, got {rng!r}")
        rng = np.random.default_rng(rng)
    # Sorted names: the draw depends on the win rates, not on the mapping's insertion order.
    names = sorted(weights)
    probs = np.array([weights[n] for n in names])
    picks = rng.choice(len(names), size=k, p=probs / probs.sum())
    return [names[i] for i in picks]
