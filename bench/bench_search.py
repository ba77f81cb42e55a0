"""Search speed and strength, side by side with references.

    python bench/bench_search.py --steps 20000 --games 20

(a) game steps per second: random legal games in the fast cores (``marl.fastgames``) against the same
    games in the raw PettingZoo envs; every step reads the legal moves, and one fast row also builds
    PettingZoo's observation planes each step (what a batched match loop needs);
(b) MCTS simulations per second at connect four from the opening, with random playouts and with an
    untrained MLP and CNN as the evaluator;
(c) pure ``mcts:200`` and ``mcts:800`` against ``alphabeta:2`` and against ``random`` at connect
    four, half the games with the seats swapped.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from marl.bots import make_bot  # noqa: E402
from marl.fastgames import fast_game  # noqa: E402
from marl.games import get_game  # noqa: E402
from marl.match import play_matches  # noqa: E402
from marl.nets import build_network  # noqa: E402
from marl.search import NetworkEvaluator, SearchAgent, rollout_agent  # noqa: E402


def pettingzoo_steps(game: str, steps: int, seed: int) -> float:
    """Steps per second of random legal games in the raw PettingZoo env (mask read every step)."""
    rng = random.Random(seed)
    raw = get_game(game).make_env().unwrapped
    raw.reset(seed=seed)
    start, done = time.perf_counter(), 0
    while done < steps:
        mask = raw.observe(raw.agent_selection)["action_mask"]
        raw.step(rng.choice([a for a in range(len(mask)) if mask[a]]))
        done += 1
        if any(raw.terminations.values()):
            raw.reset()
    return done / (time.perf_counter() - start)


def fast_steps(game: str, steps: int, seed: int, observe: bool) -> float:
    """Steps per second of random legal games in the fast core (optionally building the planes and the
    mask, as PettingZoo's ``observe`` does)."""
    rng = random.Random(seed)
    core = fast_game(game)
    state = core()
    start, done = time.perf_counter(), 0
    while done < steps:
        if observe:
            state.observation(), state.legal_mask()
        state.play(rng.choice(state.legal_actions()))
        done += 1
        if state.terminal:
            state = core()
    return done / (time.perf_counter() - start)


def simulations_per_second(agent: SearchAgent, seconds: float = 3.0) -> float:
    """Simulations per second searching the connect four opening for about ``seconds``."""
    state = fast_game("connect_four")()
    obs, mask = state.observation(), state.legal_mask()
    start, searches = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        agent.search(obs, mask)
        searches += 1
    return searches * agent.mcts.simulations / (time.perf_counter() - start)


def score(name: str, opponent: str, games: int) -> tuple[float, list[int]]:
    """Score of bot ``name`` against ``opponent`` at connect four and its wins, draws, losses."""
    spec = get_game("connect_four")
    first, second = spec.seats
    agent, other = make_bot(spec.name, name, seed=0), make_bot(spec.name, opponent, seed=1)
    tally = [0, 0, 0]
    for seats, seeds in (((first, second), range(games // 2)), ((second, first), range(games // 2, games))):
        for result in play_matches(spec, {seats[0]: agent, seats[1]: other}, list(seeds)):
            tally[1 if result.winner is None else 0 if result.winner == seats[0] else 2] += 1
    return (tally[0] + 0.5 * tally[1]) / games, tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--games", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)

    print(f"(a) random legal games, {args.steps} steps each, steps/s")
    print(f"{'game':<14} {'pettingzoo':>12} {'fast':>12} {'fast+obs':>12} {'speedup':>9}")
    for game in ("tictactoe", "connect_four"):
        pz = pettingzoo_steps(game, args.steps, args.seed)
        fast = fast_steps(game, args.steps, args.seed, observe=False)
        fast_obs = fast_steps(game, args.steps, args.seed, observe=True)
        print(f"{game:<14} {pz:>12,.0f} {fast:>12,.0f} {fast_obs:>12,.0f} {fast / pz:>8.1f}x")

    print("\n(b) MCTS at the connect four opening, 200 simulations a move, simulations/s")
    torch.manual_seed(0)
    searches = {
        "random playouts (mcts:200)": rollout_agent("connect_four", 200, seed=0),
        "untrained mlp [128, 128]": SearchAgent(
            "connect_four",
            NetworkEvaluator(build_network({"kind": "mlp", "hidden": [128, 128]}, (6, 7, 2), 7), "q"),
            200,
        ),
        "untrained cnn [32, 32] [128]": SearchAgent(
            "connect_four", NetworkEvaluator(build_network({"kind": "cnn"}, (6, 7, 2), 7), "q"), 200
        ),
    }
    for label, agent in searches.items():
        print(f"{label:<30} {simulations_per_second(agent):>10,.0f}")

    print(f"\n(c) connect four, {args.games} games, half with seats swapped")
    for name, opponent in (
        ("mcts:200", "alphabeta:2"),
        ("mcts:800", "alphabeta:2"),
        ("mcts:200", "random"),
        ("alphabeta:2", "random"),
    ):
        start = time.perf_counter()
        points, (wins, draws, losses) = score(name, opponent, args.games)
        seconds = time.perf_counter() - start
        print(
            f"{name} vs {opponent:<12} score {points:.3f}  (W {wins} D {draws} L {losses})  {seconds:.1f} s"
        )


if __name__ == "__main__":
    main()
