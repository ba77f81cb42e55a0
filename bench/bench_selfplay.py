"""Strength from self-play alone: expert iteration (``algorithm: "az"``) with no bot in training.

    python bench/bench_selfplay.py                      # tic-tac-toe 10 min, connect four 30 min
    python bench/bench_selfplay.py --minutes 10 --quick # connect four shorter, fewer games

(a) tic-tac-toe, pure self-play through a league for ``--ttt-minutes``: one az member in a league with
    the defaults (bots out of the training pool, self-play on), on a throwaway Arena (its own SQLite
    file and media folder). Ticks take the scheduled path (``league_tick`` unforced, as the beat's task
    calls it: each waits for the schedule's spacing), in this process. After every tick the member's
    newest checkpoint (the league's champion: it is the only member) is measured against perfect play
    (exact loss probability against a perfect player that breaks ties at random, ``marl.solved``) and
    against random (``--random-games`` per seat). Target: no loss to perfect play and >= 90% wins
    against random in each seat. Prints the training minute at which it first held and whether the
    final checkpoint (not a best-of-run pick) still holds, and checks that no run saw a bot.
(b) connect four, pure self-play for ``--minutes``: the final network alone (greedy) against
    ``alphabeta:2`` per seat (target >= 50% wins), and network + ``mcts:200`` as the first player
    against pure ``mcts:400`` (target >= 50% wins).

Training time excludes the measurements, which run between iterations (between ticks in (a), whose
training time includes each tick's own evaluation and rating). Torch uses one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _arena_env  # noqa: E402
from _clock import Clock  # noqa: E402

from marl.agents import RandomAgent  # noqa: E402
from marl.bots import make_bot  # noqa: E402
from marl.checkpoints import load_agent, read_meta  # noqa: E402
from marl.fastgames import FastGame, fast_game  # noqa: E402
from marl.games import get_game  # noqa: E402
from marl.match import play_matches  # noqa: E402
from marl.search import checkpoint_search_agent, rollout_agent  # noqa: E402
from marl.solved import tictactoe_against_perfect_play  # noqa: E402
from marl.train import train  # noqa: E402

TTT_CONFIG: dict[str, Any] = {
    "game": "tictactoe",
    "algorithm": "az",
    "opponent": "self",
    "network": {"kind": "mlp", "hidden": [64, 64]},
    "simulations": 40,
    # Every move sampled from the visit shares: the value head learns what wins against a fallible
    # opponent too, so the greedy policy also punishes mistakes (a win-maximizing line among the safe ones).
    "temperature_moves": 9,
    # A random move at 30% of self-play moves (exploration, no bot): the second seat's exact win rate
    # against random at the end of 10 minutes was 0.899 (0.887 at 15%, 0.844 without; the ceiling for a
    # second player that never loses to perfect play is 0.916), with 0 losses to perfect play in each seat.
    "random_move_frac": 0.3,
    "steps_per_epoch": 1000,
    "batch_size": 128,
    "buffer_size": 20_000,
    "lr": 1e-3,
    "eval_games": 0,
    "device": "cpu",
}
C4_CONFIG: dict[str, Any] = {
    **TTT_CONFIG,
    "game": "connect_four",
    # One convolutional body with a policy and a value head: one numpy pass per searched position, about
    # the self-play speed of the former MLP 256x256 policy and value pair (190 vs 230 moves/s, untrained).
    "network": {"kind": "cnn", "channels": [32, 32], "hidden": [128], "shared": True},
    "simulations": 50,
    # 16 passes over each iteration's positions instead of 4: after 8,000 self-play moves (1.5 CPU-minutes)
    # the greedy network took the immediate win in 96 of 275 random positions; with 4 passes, 42 after
    # 6,000 moves and 79 after 50,000 (5 minutes); 48 passes were no better per CPU-second.
    "repeat_per_collect": 16,
    "temperature_moves": 8,
    "random_move_frac": 0.0,  # not measured on connect four
    "steps_per_epoch": 2000,
    "buffer_size": 60_000,
}
C4_NETWORKS: dict[str, dict[str, Any]] = {
    "mlp": {"kind": "mlp", "hidden": [256, 256]},
    "cnn": {"kind": "cnn", "channels": [32, 32], "hidden": [128]},
    "cnn-shared": {"kind": "cnn", "channels": [32, 32], "hidden": [128], "shared": True},
}

CLOCK = ["wall"]  # which clock counts training minutes (--clock)


def win_rate(spec_name: str, seat: str, me: Any, opponent: Any, games: int, seed: int = 0) -> float:
    """The share of ``games`` that ``me`` wins in ``seat`` against ``opponent``."""
    spec = get_game(spec_name)
    if seat not in spec.seats:  # tic-tac-toe's seats are player_1/2, connect four's player_0/1
        raise ValueError(f"{spec_name} has seats {spec.seats}, not {seat!r}")
    agents = {s: (me if s == seat else opponent) for s in spec.seats}
    results = play_matches(spec, agents, list(range(seed, seed + games)))
    return sum(r.winner == seat for r in results) / games


def exact_win_against_random(agent: Any, first: bool) -> float:
    """The exact probability that a greedy tic-tac-toe ``agent`` beats a uniformly random player."""
    choice: dict[tuple[int, int], int] = {}

    def value(game: FastGame, ours: bool) -> float:
        if game.terminal:
            return 1.0 if game.winner is not None and not ours else 0.0  # the last mover won
        if ours:
            key = (game.bits[0], game.bits[1])
            if key not in choice:
                choice[key] = agent.act(game.observation(), game.legal_mask())
            actions = [choice[key]]
        else:
            actions = game.legal_actions()
        total = 0.0
        for action in actions:
            after = game.clone()
            after.play(action)
            total += value(after, not ours)
        return total / len(actions)

    return value(fast_game("tictactoe")(), first)


def ttt_check(path: Path, random_games: int) -> dict[str, Any]:
    """Exact loss probability against perfect play and wins against random (exact and in games), per seat."""
    agent = load_agent(path, device="cpu")
    out: dict[str, Any] = {}
    for first, seat in zip((True, False), get_game("tictactoe").seats, strict=True):
        report = tictactoe_against_perfect_play(agent, seat)
        out[seat] = {
            "perfect_loss": report.loss,
            "random_win": win_rate("tictactoe", seat, agent, RandomAgent(1), random_games),
            "random_win_exact": exact_win_against_random(agent, first),
        }
    seats = ("player_1", "player_2")
    # The target as the issue states it (games against random); the exact figure is printed beside it.
    out["holds"] = all(out[s]["perfect_loss"] == 0 and out[s]["random_win"] >= 0.9 for s in seats)
    out["holds_exactly"] = all(
        out[s]["perfect_loss"] == 0 and out[s]["random_win_exact"] >= 0.9 for s in seats
    )
    return out


# What the league's runs take on top of its defaults (the league decides game, algorithm, network,
# opponent and steps): the settings of a plain az run.
LEAGUE_OVERRIDES = {
    k: v for k, v in TTT_CONFIG.items() if k not in ("game", "algorithm", "network", "opponent", "env_steps")
}


def _league(steps_per_tick: int) -> tuple[Any, Any]:
    """A throwaway Arena with one az member in a league with the default settings; (league, agent)."""
    os.environ["ARENA_LEAGUE_MIN_INTERVAL"] = "1"  # ticks back to back, still through the schedule rule
    _arena_env.setup("selfplay", redis_db=12)
    from django.contrib.auth import get_user_model

    from arena.services.agents import agent_create
    from arena.services.leagues import league_create

    user = get_user_model().objects.create_user(username="bench")
    agent = agent_create(
        owner=user, game="tictactoe", name="az", algorithm="az", network=TTT_CONFIG["network"]
    )
    league = league_create(
        user=user,
        game="tictactoe",
        name="selfplay",
        members=[agent.pk],
        interval_seconds=1,
        env_steps_per_tick=steps_per_tick,
        train_overrides=LEAGUE_OVERRIDES,
    )
    assert not league.pool_bots and league.self_play, "the league defaults: bots out of training, self-play"
    return league, agent


def _report_line(clock: Clock, tick: int, env_steps: int, last: dict[str, Any]) -> str:
    p1, p2 = last["player_1"], last["player_2"]
    return (
        f"  {clock.minutes():5.2f} min tick {tick:>3} {env_steps:>8} moves  loss vs perfect P1 "
        f"{p1['perfect_loss']:.3f} P2 {p2['perfect_loss']:.3f}  win vs random P1 {p1['random_win']:.2f} "
        f"P2 {p2['random_win']:.2f} (exact {p1['random_win_exact']:.3f} {p2['random_win_exact']:.3f})"
        f"  {'holds' if last['holds'] else ''}"
    )


def run_tictactoe(minutes: float, random_games: int, steps_per_tick: int) -> None:
    print(
        f"(a) tic-tac-toe, pure self-play (az) in a league of scheduled ticks, {minutes:g} training "
        f"minutes, {steps_per_tick} self-play moves a tick, random moves {TTT_CONFIG['random_move_frac']:g}, "
        f"2-core shared machine, {Clock(0, CLOCK[0]).describe()} minutes"
    )
    league, agent = _league(steps_per_tick)
    from arena.models import LeagueTick, TrainingRun
    from arena.services.leagues import league_tick

    clock, first_held, last, checkpoint = Clock(minutes, CLOCK[0]), None, {}, None
    while not clock.over():
        number = league_tick(league_id=league.pk, worker="bench")  # unforced: the scheduled path
        if number is None:  # not due yet (half an interval since the last tick)
            time.sleep(0.1)
            continue
        tick = LeagueTick.objects.get(league=league, number=number)
        if tick.status != LeagueTick.DONE:
            print(f"  tick {number} failed: {tick.error}")
            return
        checkpoint = agent.checkpoints.filter(seat="player_1").order_by("-version").first()
        with clock.measuring():
            last = ttt_check(checkpoint.absolute_path(), random_games)
            if last["holds"] and first_held is None:
                first_held = clock.minutes()
            print(_report_line(clock, number, checkpoint.env_steps, last), flush=True)
    runs = TrainingRun.objects.filter(agent=agent)
    no_bot = all(r.config["opponent"] == "self" and not r.config["pool"] for r in runs)
    print(
        f"  trained {clock.minutes():.2f} min, {league.ticks.count()} ticks, {runs.count()} runs, "
        f"{checkpoint.env_steps if checkpoint else 0} self-play moves; no bot in training: "
        f"{'yes (every run opponent self, empty pool)' if no_bot else 'NO'}"
    )
    if not last:
        print("  no tick finished in time")
        return
    _final(last, random_games, first_held, checkpoint.label)
    _with_search(checkpoint.absolute_path())


def _with_search(path: Path, simulations: tuple[int, ...] = (25, 100)) -> None:
    """The final checkpoint with search on top (``+ mcts:N``), exactly: loss vs perfect, win vs random."""
    for n in simulations:
        searcher = checkpoint_search_agent("tictactoe", path, n)
        parts = []
        for first, seat in zip((True, False), get_game("tictactoe").seats, strict=True):
            loss = tictactoe_against_perfect_play(searcher, seat).loss
            parts.append(
                f"{seat} loss vs perfect {loss:.4f}, win vs random exactly {exact_win_against_random(searcher, first):.3f}"
            )
        print(f"  final checkpoint + mcts:{n}: " + "; ".join(parts), flush=True)


def _final(last: dict[str, Any], random_games: int, first_held: float | None, label: str) -> None:
    print(f"  final checkpoint: {label}")
    for seat in ("player_1", "player_2"):
        m = last[seat]
        print(
            f"  {seat}: loss vs perfect play {m['perfect_loss']:.4f} (target 0), win vs random "
            f"{m['random_win']:.3f} in {random_games} games, exactly {m['random_win_exact']:.3f} (target >= 0.90)"
        )
    held = "never" if first_held is None else f"at {first_held:.2f} min"
    print(f"  target first held {held}; final checkpoint {'holds' if last['holds'] else 'does NOT hold'}")
    exact = "holds" if last["holds_exactly"] else "does NOT hold"
    print(
        f"  with the exact win probability against random instead of {random_games} games, the final "
        f"checkpoint {exact} (a second player that never loses to perfect play wins at most 0.916)"
    )
    if not last["holds_exactly"]:
        print(
            "  to close it: the second seat must also punish random mistakes, which self-play shows it rarely; "
            "more exploration in self-play (root noise, sampled moves) or a longer run"
        )


def run_connect_four(minutes: float, quick: bool, out: Path) -> None:
    print(
        f"\n(b) connect four, pure self-play (az, {json.dumps(C4_CONFIG['network'])}, {C4_CONFIG['simulations']} "
        f"simulations a move, {C4_CONFIG['repeat_per_collect']} passes, random moves "
        f"{C4_CONFIG['random_move_frac']:g}), {minutes:g} training minutes, "
        f"2-core shared machine, {Clock(0, CLOCK[0]).describe()} minutes"
    )
    clock = Clock(minutes, CLOCK[0])
    first = get_game("connect_four").seats[0]

    def on_progress(p: dict[str, Any]) -> None:
        losses = p["losses"]
        print(
            f"  {clock.minutes():5.2f} min {p['env_steps']:>8} moves {p['episodes']:>6} games  "
            f"policy loss {losses[first + '/policy_loss']:.3f} value loss {losses[first + '/value_loss']:.3f}",
            flush=True,
        )

    result = train(
        {**C4_CONFIG, "env_steps": 10**9}, out_dir=out / "c4", on_progress=on_progress, should_stop=clock.over
    )
    games = read_meta(result.checkpoints[first])["metrics"]["self_play_games"]
    print(
        f"  trained {clock.minutes():.2f} min, {result.env_steps} self-play moves, {games} games, "
        f"{result.epochs} iterations; settings {json.dumps(C4_CONFIG)}"
    )
    print(f"  final checkpoint {result.checkpoints[first]}", flush=True)
    connect_four_evaluate(result.checkpoints[first], quick)


def connect_four_evaluate(path: Path, quick: bool) -> None:
    """The targets on a connect four checkpoint: greedy vs alphabeta:2 per seat, + mcts:200 vs mcts:400."""
    first, second = get_game("connect_four").seats
    games = 20 if quick else 100
    agent = load_agent(path, device="cpu")
    for seat, said in ((first, "first"), (second, "second")):
        rate = win_rate("connect_four", seat, agent, make_bot("connect_four", "alphabeta:2", seed=3), games)
        # From the empty board the greedy network and alpha-beta play nearly the same game every time:
        # a seat is won or lost almost whole, and which one flips from one iteration to the next.
        hint = "more self-play per CPU-second (batched leaf evaluation), longer self-play, a steadier final network"
        miss = "" if rate >= 0.5 else f"  (missed: {hint})"
        print(
            f"  greedy network as {seat} ({said} player) vs alphabeta:2: win {rate:.2f} over {games} games "
            f"(target >= 0.50){miss}",
            flush=True,
        )
    games = 10 if quick else 200
    searcher = checkpoint_search_agent("connect_four", path, 200)
    t0 = time.perf_counter()
    rate = win_rate("connect_four", first, searcher, rollout_agent("connect_four", 400, seed=5), games)
    miss = "" if rate >= 0.5 else "  (missed: a stronger value head from longer self-play)"
    print(
        f"  network + mcts:200 as {first} (first player) vs mcts:400: win {rate:.2f} over {games} games "
        f"(target >= 0.50, {time.perf_counter() - t0:.0f} s){miss}",
        flush=True,
    )


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ttt-minutes", type=float, default=10.0)
    parser.add_argument("--minutes", type=float, default=30.0, help="connect four training minutes")
    parser.add_argument("--random-games", type=int, default=200, help="tic-tac-toe games per seat vs random")
    parser.add_argument(
        "--steps-per-tick", type=int, default=5000, help="tic-tac-toe self-play moves per league tick"
    )
    parser.add_argument("--quick", action="store_true", help="fewer connect four evaluation games")
    parser.add_argument("--skip", choices=["tictactoe", "connect_four"], default=None)
    parser.add_argument(
        "--random-move-frac",
        type=float,
        default=TTT_CONFIG["random_move_frac"],
        help="self-play's chance of a uniformly random move each move (exploration, no bot)",
    )
    parser.add_argument(
        "--clock", choices=["wall", "cpu"], default="wall", help="how training minutes are counted"
    )
    parser.add_argument(
        "--c4-simulations", type=int, default=C4_CONFIG["simulations"], help="connect four search per move"
    )
    parser.add_argument(
        "--c4-network", choices=sorted(C4_NETWORKS), default=None, help="connect four network"
    )
    parser.add_argument(
        "--c4-set",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="override one connect four training setting, e.g. buffer_size=100000 (repeatable)",
    )
    parser.add_argument(
        "--c4-random-move-frac", type=float, default=None, help="connect four's random-move share"
    )
    parser.add_argument(
        "--c4-out", type=Path, default=None, help="keep connect four's checkpoints in this folder"
    )
    parser.add_argument(
        "--c4-checkpoint",
        type=Path,
        default=None,
        help="evaluate this connect four checkpoint instead of training",
    )
    return parser.parse_args()


def main() -> None:
    args = _args()
    CLOCK[0] = args.clock
    C4_CONFIG["simulations"] = args.c4_simulations
    if args.c4_network is not None:
        C4_CONFIG["network"] = C4_NETWORKS[args.c4_network]
    for item in args.c4_set:
        key, _, value = item.partition("=")
        C4_CONFIG[key] = json.loads(value)
    TTT_CONFIG["random_move_frac"] = LEAGUE_OVERRIDES["random_move_frac"] = args.random_move_frac
    if args.c4_random_move_frac is not None:
        C4_CONFIG["random_move_frac"] = args.c4_random_move_frac
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        if args.skip != "tictactoe":
            run_tictactoe(args.ttt_minutes, args.random_games, args.steps_per_tick)
        if args.c4_checkpoint is not None:
            print(f"\n(b) connect four: the checkpoint {args.c4_checkpoint.name}")
            connect_four_evaluate(args.c4_checkpoint, args.quick)
        elif args.skip != "connect_four":
            run_connect_four(args.minutes, args.quick, args.c4_out or Path(tmp))


if __name__ == "__main__":
    main()
