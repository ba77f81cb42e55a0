"""Play two agents against each other and print a score table.

    python -m marl.play --game tictactoe --a minimax --b random --games 200 --seed 0

``--a``/``--b`` are bot names (``random``, ``minimax``, ``alphabeta``, ``alphabeta:N``, ``mcts:N``),
checkpoint paths, or a checkpoint with tree search on top (``"path/to/ckpt.json + mcts:200"``).
Half the games are played with the seats swapped.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from marl.agents import Agent
from marl.bots import make_bot
from marl.errors import MarlError
from marl.games import GAMES, get_game
from marl.match import MatchResult, play_matches
from marl.search import checkpoint_search_agent, parse_player


def load_side(game: str, spec: str, seed: int) -> Agent:
    """A bot by name, else a checkpoint file (loaded lazily so bots work without checkpoints), with
    search on top when the spec ends in ``+ mcts:N``."""
    player = parse_player(spec)
    if player.simulations is not None:
        if not Path(player.base).exists():
            raise MarlError(f"search needs a checkpoint path before '+ mcts:N', got {player.base!r}")
        return checkpoint_search_agent(game, player.base, player.simulations)
    try:
        return make_bot(game, spec, seed=seed)
    except MarlError as bot_error:
        if not Path(spec).exists():
            raise MarlError(
                f"{spec!r} is neither a bot nor an existing checkpoint path ({bot_error})"
            ) from None
    from marl.checkpoints import load_agent

    return load_agent(spec)


@dataclass
class Tally:
    """Wins, draws and losses of one side, in total and per seat."""

    total: list[int] = field(default_factory=lambda: [0, 0, 0])
    by_seat: dict[str, list[int]] = field(default_factory=dict)

    def add(self, seat: str, result: MatchResult) -> None:
        column = 1 if result.winner is None else (0 if result.winner == seat else 2)
        self.total[column] += 1
        self.by_seat.setdefault(seat, [0, 0, 0])[column] += 1


def _row(label: str, counts: list[int]) -> str:
    games = sum(counts)
    score = (counts[0] + 0.5 * counts[1]) / games if games else 0.0
    return f"{label:<28} {games:>6} {counts[0]:>6} {counts[1]:>6} {counts[2]:>6} {score:>7.3f}"


def score_table(game: str, names: tuple[str, str], tallies: tuple[Tally, Tally], seconds: float) -> str:
    """The printed table: one block per side, then one row per seat it played."""
    games = sum(tallies[0].total)
    lines = [
        f"{game}: {names[0]} (A) vs {names[1]} (B), {games} games in {seconds:.2f} s "
        f"({games / max(seconds, 1e-9):.1f} games/s)",
        f"{'side':<28} {'games':>6} {'wins':>6} {'draws':>6} {'losses':>6} {'score':>7}",
    ]
    for tag, name, tally in zip(("A", "B"), names, tallies, strict=True):
        lines.append(_row(f"{name} ({tag})", tally.total))
        for seat in sorted(tally.by_seat):
            lines.append(_row(f"  as {seat}", tally.by_seat[seat]))
    return "\n".join(lines)


def run(game: str, a: str, b: str, games: int, seed: int) -> str:
    """Play ``games`` games (half with seats swapped) and return the score table."""
    spec = get_game(game)
    if len(spec.seats) != 2:
        raise MarlError(f"{game} is not a two-player game")
    agent_a, agent_b = load_side(game, a, seed), load_side(game, b, seed + 1)
    first, second = spec.seats
    half = games - games // 2
    seeds = list(range(seed, seed + games))
    tallies = (Tally(), Tally())
    start = time.perf_counter()
    for seats, chunk in (((first, second), seeds[:half]), ((second, first), seeds[half:])):
        if not chunk:
            continue
        for result in play_matches(spec, {seats[0]: agent_a, seats[1]: agent_b}, chunk):
            tallies[0].add(seats[0], result)
            tallies[1].add(seats[1], result)
    seconds = time.perf_counter() - start
    return score_table(game, (a, b), tallies, seconds)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m marl.play", description=__doc__.split("\n")[0])
    parser.add_argument("--game", default="tictactoe", choices=sorted(GAMES))
    parser.add_argument(
        "--a", required=True, help="bot name, checkpoint path, or 'CHECKPOINT + mcts:N' for side A"
    )
    parser.add_argument(
        "--b", required=True, help="bot name, checkpoint path, or 'CHECKPOINT + mcts:N' for side B"
    )
    parser.add_argument("--games", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.games < 1:
        parser.error("--games must be at least 1")
    try:
        print(run(args.game, args.a, args.b, args.games, args.seed))
    except MarlError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
