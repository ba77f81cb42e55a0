"""Poker from pure self-play: Leduc's exact exploitability over training time, limit hold'em in mbb/hand.

    python bench/bench_poker.py                              # Leduc 30 min, limit hold'em 10 min
    python bench/bench_poker.py --minutes 2 --holdem-minutes 1 --deals 300   # a short check

(a) Leduc hold'em, pure self-play (``opponent: "self"``: both seats learn, no bot in training) for
    ``--minutes`` of training, by ``--algo``: ``mccfr`` (default: Monte Carlo CFR, ``marl.regret``, whose
    average policy tends to equilibrium) or ``ppo``/``dqn``; ``--compare ppo`` then runs PPO for the same
    minutes, side by side. After every epoch the two seats' new checkpoints are measured exactly
    (``marl.exploitability``: each seat's policy tabulated over every information state, PPO with its
    policy's probabilities, DQN greedily, then a best response over the whole tree), beside the
    uniform random policy's exploitability and the CFR+ anchor's. Target: below one tenth of the
    uniform policy's within 30 minutes on 2 CPU cores.
(b) Limit Texas hold'em, pure self-play for ``--holdem-minutes``; the final checkpoints (greedy, as
    the arena plays them) then play ``--deals`` duplicate deals (each dealt twice, seats swapped)
    against random and against the hand-strength rule bot: mbb/hand with a 95% interval, beside
    what the rule bot itself wins against random.

Training time excludes the measurements, which run between epochs. Torch uses one thread.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _clock import Clock  # noqa: E402

from marl import leduc  # noqa: E402
from marl.agents import RandomAgent  # noqa: E402
from marl.bots import make_bot  # noqa: E402
from marl.checkpoints import load_agent  # noqa: E402
from marl.exploitability import CFR_PLUS, SEATS, UNIFORM, agents_exploitability, table_exploitability  # noqa: E402
from marl.poker_match import PokerMatch, play_poker_match  # noqa: E402
from marl.train import train  # noqa: E402

# PPO: a policy with probabilities can approach a mixed equilibrium; a greedy DQN policy cannot.
LEDUC_CONFIG: dict[str, Any] = {
    "game": "leduc_holdem",
    "algorithm": "ppo",
    "opponent": "self",
    "network": {"kind": "mlp", "hidden": [64, 64]},
    "lr": 1e-3,
    "gamma": 1.0,  # one hand is one episode: chips at the end are all that count
    "steps_per_epoch": 4000,
    "num_envs": 8,
    "episode_per_collect": 64,
    "repeat_per_collect": 4,
    "batch_size": 128,
    "ent_coef": 0.05,  # keeps both seats mixed: at 0.01 self-play settled near 1.0 bb/hand in 1.5 min
    "eval_games": 0,
    "device": "cpu",
}
# MCCFR: an epoch is 300,000 moves of the traversals (about 10 s); the loop's own exploitability and
# evaluation each epoch count as training time here.
MCCFR_CONFIG: dict[str, Any] = {
    "game": "leduc_holdem",
    "algorithm": "mccfr",
    "opponent": "self",
    "steps_per_epoch": 300_000,
    "eval_games": 0,
}
HOLDEM_CONFIG: dict[str, Any] = {
    **LEDUC_CONFIG,
    "game": "texas_holdem",
    "network": {"kind": "mlp", "hidden": [128, 128]},
}


def observation_floor(iterations: int = 50) -> tuple[int, int, float]:
    """What a policy of PettingZoo's observation alone can reach, roughly: (observations, information
    states, the least exploitability seen) of CFR+ whose regrets are shared by every information state
    that shows the same observation and mask (an imperfect-recall abstraction: no guarantee it
    converges, so this is an estimate of the floor, not a bound)."""
    classes: dict[bytes, int] = {}
    keys: dict[str, tuple[int, list[int]]] = {}

    def build(state: Any) -> Any:
        if state.is_terminal():
            return ("T", state.returns())
        if state.is_chance_node():
            return ("C", [(p, build(state.child(o))) for o, p in state.chance_outcomes()])
        player = state.current_player()
        obs, mask = leduc.observation_of(state, player)
        index = classes.setdefault(obs.tobytes() + mask.tobytes(), len(classes))
        legal = state.legal_actions()
        keys[state.information_state_string()] = (index, legal)
        return ("D", player, index, legal, [build(state.child(a)) for a in legal])

    root = build(leduc.game().new_initial_state())
    regrets, totals = np.zeros((len(classes), 4)), np.zeros((len(classes), 4))

    def strategy(index: int, legal: list[int]) -> np.ndarray:
        positive = np.maximum(regrets[index, legal], 0)
        return positive / positive.sum() if positive.sum() > 0 else np.full(len(legal), 1 / len(legal))

    def walk(node: Any, me: int, reach: tuple[float, float, float]) -> float:
        if node[0] == "T":
            return node[1][me]
        if node[0] == "C":
            return sum(p * walk(child, me, (reach[0], reach[1], reach[2] * p)) for p, child in node[1])
        _, player, index, legal, children = node
        probs = strategy(index, legal)
        values = np.array(
            [
                walk(child, me, tuple(r * (probs[i] if s == player else 1) for s, r in enumerate(reach)))
                for i, child in enumerate(children)
            ]
        )
        value = float(probs @ values)
        if player == me:
            regrets[index, legal] = np.maximum(
                regrets[index, legal] + reach[1 - me] * reach[2] * (values - value), 0
            )
            totals[index, legal] += reach[me] * probs
        return value

    def table() -> dict[str, list[float]]:
        out = {}
        for key, (index, legal) in keys.items():
            weights = totals[index, legal]
            probs = np.zeros(4)
            probs[legal] = weights / weights.sum() if weights.sum() > 0 else 1 / len(legal)
            out[key] = probs.tolist()
        return out

    best = float("inf")
    for iteration in range(1, iterations + 1):
        for me in (0, 1):
            walk(root, me, (1.0, 1.0, 1.0))
        if iteration % 10 == 0:
            best = min(best, table_exploitability(dict.fromkeys(SEATS, table()))[0])
    return len(classes), len(keys), best


CLOCK = ["wall"]  # which clock counts training minutes (--clock)


def run_leduc(minutes: float, algorithm: str, out: Path) -> tuple[float, float] | None:
    target = UNIFORM / 10
    print(
        f"(a) Leduc hold'em, pure self-play ({algorithm}), {minutes:g} training minutes, 2-core shared machine\n"
        f"  references: uniform random {UNIFORM:.4f} bb/hand, CFR+ anchor {CFR_PLUS:.4f}; target < {target:.4f}"
    )
    clock = Clock(minutes, CLOCK[0])
    history: list[tuple[float, int, float]] = []

    def on_progress(p: dict[str, Any]) -> None:
        with clock.measuring():
            _measure(p, clock, history)

    base = MCCFR_CONFIG if algorithm == "mccfr" else {**LEDUC_CONFIG, "algorithm": algorithm}
    config = {**base, "env_steps": 10**10}
    train(config, out_dir=out / f"leduc-{algorithm}", on_progress=on_progress, should_stop=clock.over)
    return _leduc_summary(minutes, clock, history, target)


def _measure(p: dict[str, Any], clock: Clock, history: list[tuple[float, int, float]]) -> None:
    t0 = time.perf_counter()
    agents = {seat: load_agent(path, device="cpu") for seat, path in p["checkpoints"].items()}
    report = agents_exploitability(agents)
    history.append((clock.minutes(), p["env_steps"], report.value))
    print(
        f"  {clock.minutes():5.2f} min {p['env_steps']:>8} steps  exploitability {report.value:.4f} bb/hand "
        f"({report.value / UNIFORM:.1%} of random, {report.value / CFR_PLUS:.0f}x CFR+)  "
        f"best response vs player_0 {report.best_response['player_0']:.3f} "
        f"vs player_1 {report.best_response['player_1']:.3f}  ({time.perf_counter() - t0:.1f} s to measure)",
        flush=True,
    )


def _leduc_summary(
    minutes: float, clock: Clock, history: list[tuple[float, int, float]], target: float
) -> tuple[float, float] | None:
    """Print the run's figures; (final, best) exploitability."""
    if not history:
        print("  no epoch finished in time")
        return None
    first = next((m for m, _, v in history if v < target), None)
    best = min(history, key=lambda h: h[2])
    final = history[-1]
    print(
        f"  trained {clock.minutes():.2f} min, {final[1]} self-play steps, {len(history)} epochs\n"
        f"  final exploitability {final[2]:.4f} bb/hand = {final[2] / UNIFORM:.1%} of uniform random's "
        f"{UNIFORM:.4f}, {final[2] / CFR_PLUS:.0f}x the CFR+ anchor's {CFR_PLUS:.4f}; best {best[2]:.4f} "
        f"at {best[0]:.2f} min\n"
        f"  target (< {target:.4f}, a tenth of random's) "
        + (f"first met at {first:.2f} min" if first is not None else f"not met in {minutes:g} minutes")
    )
    classes, states, floor = observation_floor()
    print(
        f"  PettingZoo's Leduc observation shows the cards and both players' chips, not the betting order: "
        f"{states} information states\n  look like {classes} observations, so a policy of the observation "
        f"cannot reach 0; CFR+ over those {classes} observations\n  (regrets shared, 50 iterations) "
        f"reaches {floor:.4f} at best, {floor / UNIFORM:.1%} of random's (an estimate of the floor for a policy "
        "of the observation; a policy that reads the betting, as mccfr's table does, is not bound by it)"
    )
    return final[2], best[2]


def _match_line(name: str, match: PokerMatch) -> str:
    low, high = match.interval
    return (
        f"  {name:<34} {match.mbb_per_hand:+8.1f} mbb/hand  95% [{low:+8.1f}, {high:+8.1f}]  "
        f"{len(match.hands)} hands"
    )


def run_holdem(minutes: float, deals: int, out: Path) -> None:
    print(
        f"\n(b) limit Texas hold'em, pure self-play ({HOLDEM_CONFIG['algorithm']}), {minutes:g} training "
        f"minutes; {deals} duplicate deals per opponent (each dealt twice, seats swapped)"
    )
    clock = Clock(minutes, CLOCK[0])
    result = train({**HOLDEM_CONFIG, "env_steps": 10**9}, out_dir=out / "holdem", should_stop=clock.over)
    print(f"  trained {clock.minutes():.2f} min, {result.env_steps} self-play steps, {result.epochs} epochs")
    # The first seat's network (greedy, as the arena plays a checkpoint) plays both seats of each deal.
    agent = load_agent(result.checkpoints["player_0"], device="cpu")
    game = "texas_holdem"
    print(_match_line("agent vs random", play_poker_match(game, agent, RandomAgent(1), deals=deals, seed=1)))
    rule = make_bot(game, "rule", seed=2)
    print(
        _match_line("agent vs rule (hand strength)", play_poker_match(game, agent, rule, deals=deals, seed=2))
    )
    reference = play_poker_match(game, make_bot(game, "rule", seed=3), RandomAgent(4), deals=deals, seed=1)
    print(_match_line("reference: rule vs random", reference))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="Leduc training minutes")
    parser.add_argument("--holdem-minutes", type=float, default=10.0, help="limit hold'em training minutes")
    parser.add_argument("--deals", type=int, default=2000, help="duplicate deals per hold'em opponent")
    parser.add_argument(
        "--algo", choices=["mccfr", "ppo", "dqn"], default="mccfr", help="Leduc's learning algorithm"
    )
    parser.add_argument(
        "--compare", choices=["ppo", "dqn"], default=None, help="also train Leduc with this, side by side"
    )
    parser.add_argument("--skip", choices=["leduc", "holdem"], default=None)
    parser.add_argument(
        "--clock", choices=["wall", "cpu"], default="wall", help="how training minutes are counted"
    )
    args = parser.parse_args()
    CLOCK[0] = args.clock
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        if args.skip != "leduc":
            runs = {args.algo: run_leduc(args.minutes, args.algo, Path(tmp))}
            if args.compare:
                print()
                runs[args.compare] = run_leduc(args.minutes, args.compare, Path(tmp))
                print("\n  side by side, exploitability in bb/hand (final, best):")
                for name, figures in runs.items():
                    shown = (
                        "no epoch" if figures is None else f"final {figures[0]:.4f}, best {figures[1]:.4f}"
                    )
                    print(f"    {name:<6} {shown}  ({args.minutes:g} min each)")
        if args.skip != "holdem":
            run_holdem(args.holdem_minutes, args.deals, Path(tmp))


if __name__ == "__main__":
    main()
