"""Pinned ratings of the reference bots: the fixed points of every game's one Elo scale.

The random bot is 0 in every game. Each other anchor's value is measured from game pairs between the
anchors (`manage.py anchors measure`: one opening, seats swapped; in poker one duplicate match, the
pools' game), fitted with random fixed at 0 by
the same model as the pools (`marl.elo_fit`, same draw prior). The values measured when this file was
written ship below (`MEASURED`, with the games behind them); a stored measurement (`AnchorPin`)
replaces them. Anchors never move, so an agent's number means the same over weeks and on every page.
"""

from __future__ import annotations

from dataclasses import dataclass

from arena.models import AnchorPin, Game, Player, Rating
from arena.services.players import entrants_play, player_for_bot
from marl.bots import make_bot
from marl.elo_fit import elo_fit
from marl.games import get_game
from marl.ratings import ELO_PER_MU, default_rating

# BayesElo's prior: two virtual draws between every two players who met. It keeps a player that won
# (or lost) every game finite; the pool fit and the anchor measurement use the same value.
PRIOR_DRAWS = 2.0


@dataclass(frozen=True)
class Pin:
    """An anchor's Elo (random = 0), its 95% interval and the games it was measured from."""

    elo: float
    low: float
    high: float
    games: int


# Measured with `manage.py anchors measure` (seed 0): tic-tac-toe from 200 game pairs per two bots
# (random, minimax and the mcts:8 ladder bot), connect four
# from 100 pairs per two anchors, each pair one random opening with seats swapped.
MEASURED: dict[str, dict[str, Pin]] = {
    "tictactoe": {"random": Pin(0.0, 0.0, 0.0, 800), "minimax": Pin(563.9, 515.0, 612.9, 800)},
    # alpha-beta wins every game against random: the shallower searches in between are what lets
    # the fit place it (a record of only wins says "stronger", never by how much).
    "connect_four": {
        "random": Pin(0.0, 0.0, 0.0, 600),
        "alphabeta:1": Pin(721.0, 598.0, 843.9, 600),
        "alphabeta:2": Pin(883.1, 757.4, 1008.8, 600),
        "alphabeta": Pin(917.1, 791.0, 1043.2, 600),
    },
    # Few games: 20 pairs per two bots (seed 0) among random, stockfish:0 and the one-node ladder bot
    # stockfish:0:1. Stockfish's weakest setting beats random nearly every game, so the interval is
    # wide and the value leans on the draw prior: it says "far above random", roughly; more pairs
    # and a ladder of weaker bots in between would tighten it.
    "chess": {"random": Pin(0.0, 0.0, 0.0, 80), "stockfish:0": Pin(566.1, 397.5, 734.8, 80)},
    # Go 9x9: 100 pairs per two bots (seed 0) among random, gnugo:1 and the ladder bot eyes (random
    # moves that never fill its own single-point eyes). eyes scored 179 of 200 against random (about
    # 367 Elo); GNU Go won all 400 of its games, so, as for chess, its value leans on the draw prior:
    # "far above random and eyes", roughly, with a wide interval.
    "go9": {"random": Pin(0.0, 0.0, 0.0, 400), "gnugo:1": Pin(1093.1, 905.7, 1280.6, 400)},
    # Leduc, on the pools' per-match scale: 300 matches per two bots (seed 0) among random, the CFR+
    # equilibrium policy (cfr) and the ladder bots call, cfr:30 and cfr:60; a match is 200 hands, 100
    # deals each played twice with seats swapped (duplicate), scored 1 when its mbb/hand 95% interval
    # lies above 0, 0 below, else 1/2 (`PokerMatch.match_result`). 7 minutes of CPU. CFR+ is within
    # 0.0035 big blinds a hand of an equilibrium (`marl.exploitability`): the game's fixed point of skill.
    "leduc_holdem": {"random": Pin(0.0, 0.0, 0.0, 1200), "cfr": Pin(1809.5, 1696.1, 1922.8, 1200)},
    # Hold'em: random alone pins the scale (0) until the other bots are measured; a pool's players are
    # placed by their duplicate matches against it and each other.
    "texas_holdem": {"random": Pin(0.0, 0.0, 0.0, 0)},
    "texas_holdem_no_limit": {"random": Pin(0.0, 0.0, 0.0, 0)},
}
ANCHOR_SIGMA = 1.0
# Bots measured beside the anchors but not pinned: with two players who never trade wins, the draw
# parameter is free and the fit runs off; a middling third player pins it down.
# Leduc: a 200-hand match between random and CFR+ (or always-call) is never a draw, so the mixtures
# cfr:30 and cfr:60 (the CFR+ policy 30% and 60% of the time) sit in between and draw with both sides.
LADDER: dict[str, list[str]] = {
    "tictactoe": ["mcts:8"],
    "chess": ["stockfish:0:1"],
    "go9": ["eyes"],
    "leduc_holdem": ["call", "cfr:30", "cfr:60"],
}


def anchor_pins(game: str) -> dict[str, Pin]:
    """The game's anchors by bot name: stored measurements over the shipped ones; random is always 0."""
    pins = dict(MEASURED.get(game, {}))
    for row in AnchorPin.objects.filter(game=game, bot__in=list(pins)):
        pins[row.bot] = Pin(row.elo, row.low, row.high, row.games)
    if pins:
        pins["random"] = Pin(0.0, 0.0, 0.0, pins["random"].games)
    return pins


def anchor_elo(game: str) -> dict[str, float]:
    """Each anchor's pinned Elo by bot name."""
    return {bot: pin.elo for bot, pin in anchor_pins(game).items()}


def anchor_mu(elo: float) -> float:
    """The OpenSkill mu that stands for `elo` (the provisional ratings use the same anchors)."""
    return default_rating().mu + elo / ELO_PER_MU


def display_elo(mu: float) -> float:
    """A provisional (OpenSkill) rating's mu on the game's scale (random bot = 0)."""
    return (mu - default_rating().mu) * ELO_PER_MU


def display_sigma(sigma: float) -> float:
    return sigma * ELO_PER_MU


def anchors_pin(*, game: Game) -> list[Player]:
    """Create the game's reference-bot players with their pinned ratings (and reset drifted ones)."""
    players = []
    for bot, elo in anchor_elo(game.name).items():
        player = player_for_bot(game=game, bot=bot)
        Rating.objects.update_or_create(
            player=player, pool=game.name, defaults={"mu": anchor_mu(elo), "sigma": ANCHOR_SIGMA}
        )
        players.append(player)
    return players


def anchor_bots(game: str) -> list[str]:
    """The reference bots of a game, weakest first."""
    pins = anchor_elo(game)
    return sorted(pins, key=lambda bot: pins[bot])


def anchors_measure(*, game: str, pairs: int, seed: int = 0) -> dict[str, Pin]:
    """Play `pairs` game pairs between every two of `game`'s anchors (and ladder bots), fit them with
    random at 0, and store the anchors' pins. Returns them by bot name. In poker a pair is one poker
    match of the game's `hands_per_match` hands, duplicate, one game of the pool (`entrants_play`)."""
    anchors = list(MEASURED.get(game, {}))
    bots = anchors + LADDER.get(game, [])
    seats = get_game(game).seats
    records = []
    for i, a in enumerate(bots):
        for j, b in enumerate(bots[i + 1 :], start=i + 1):
            seeds = [seed * 1_000_003 + (i * 31 + j) * 100_003 + k for k in range(pairs)]
            mine = dict.fromkeys(seats, make_bot(game, a, seed=seed))
            theirs = dict.fromkeys(seats, make_bot(game, b, seed=seed + 1))
            for g in entrants_play(game, mine, theirs, seeds):
                first = g.a_seat == seats[0]
                records.append((a, b, g.score) if first else (b, a, 1.0 - g.score))
    fit = elo_fit(records, anchors={"random": 0.0}, prior_draws=PRIOR_DRAWS)
    pins = {}
    for bot in anchors:
        elo, low, high = fit.ratings[bot]
        games = sum(bot in (first, second) for first, second, _ in records)
        pins[bot] = Pin(elo, low, high, games)
        AnchorPin.objects.update_or_create(
            game=game, bot=bot, defaults={"elo": elo, "low": low, "high": high, "games": games}
        )
    return pins
