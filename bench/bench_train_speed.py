"""Arena's ``train()`` vs a plain Tianshou MARL DQN script with the same settings: env steps/s and ratio.

Arena runs twice per rep: with its fast env (``fast_env``: the game's fast core behind Tianshou's
``PettingZooEnv`` interface, tic-tac-toe and connect four) and with the PettingZoo env, side by side.
The plain script is what a Tianshou user writes from the tic-tac-toe example: ``Net``, ``DQN``,
``MARLRandomDiscreteMaskedOffPolicyAlgorithm``, ``MultiAgentOffPolicyAlgorithm``, ``run_training``.
Arena's run also evaluates and writes checkpoints every epoch; both pay the same imports and numba
compilation, done once in a warm-up before timing. Runs alternate (A B A B ...) and the median counts,
since the machine is shared; beside wall-clock steps/s each run reports steps per CPU-second of its own
process (torch on one thread), which other load on the machine disturbs far less. Targets: Arena >= 0.9x; Arena with its fast env >= 2x.

    .venv/bin/python bench/bench_train_speed.py [--steps 20000] [--reps 3] [--game go9 --buffer-size 5000]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from marl.fastgames import FAST_GAMES  # noqa: E402
from marl.games import get_game  # noqa: E402
from marl.train import TrainConfig, train  # noqa: E402

CONFIG = {
    "game": "tictactoe",
    "algorithm": "dqn",
    "network": {"kind": "mlp", "hidden": [128, 128]},
    "lr": 1e-3,
    "gamma": 0.9,
    "n_step": 2,
    "batch_size": 64,
    "buffer_size": 20_000,
    "target_update_freq": 200,
    "num_envs": 8,
    "step_per_collect": 64,
    "update_per_step": 0.25,
    "eps_train": 0.3,
    "eps_train_final": 0.3,
    "steps_per_epoch": 5_000,
    "eval_games": 50,
    "seed": 0,
    "device": "cpu",
}


Rates = tuple[float, float]  # env steps per wall-clock second, per CPU-second of this process


def _rates(steps: int, wall: float, cpu: float) -> Rates:
    return steps / (time.perf_counter() - wall), steps / (time.process_time() - cpu)


def run_arena(steps: int, fast_env: bool = False) -> Rates:
    cfg = TrainConfig.from_dict({**CONFIG, "env_steps": steps, "fast_env": fast_env})
    with tempfile.TemporaryDirectory() as out:
        wall, cpu = time.perf_counter(), time.process_time()
        result = train(cfg, out_dir=out)
        return _rates(result.env_steps, wall, cpu)


def run_plain(steps: int) -> Rates:
    from tianshou.algorithm import DQN, MARLRandomDiscreteMaskedOffPolicyAlgorithm
    from tianshou.algorithm.modelfree.dqn import DiscreteQLearningPolicy
    from tianshou.algorithm.multiagent.marl import MultiAgentOffPolicyAlgorithm
    from tianshou.algorithm.optim import AdamOptimizerFactory
    from tianshou.data import Collector, VectorReplayBuffer
    from tianshou.env import DummyVectorEnv, PettingZooEnv
    from tianshou.trainer import OffPolicyTrainerParams
    from tianshou.utils.net.common import Net

    logging.getLogger("tianshou.data.stats").setLevel(logging.ERROR)
    c = CONFIG
    spec = get_game(c["game"])
    env = PettingZooEnv(spec.make_env())
    net = Net(state_shape=spec.obs_shape, action_shape=spec.n_actions, hidden_sizes=c["network"]["hidden"])
    policy = DiscreteQLearningPolicy(
        model=net,
        action_space=env.action_space,
        observation_space=env.observation_space,
        eps_training=c["eps_train"],
    )
    dqn = DQN(
        policy=policy,
        optim=AdamOptimizerFactory(lr=c["lr"]),
        gamma=c["gamma"],
        n_step_return_horizon=c["n_step"],
        target_update_freq=c["target_update_freq"],
    )
    algo = MultiAgentOffPolicyAlgorithm(
        algorithms=[dqn, MARLRandomDiscreteMaskedOffPolicyAlgorithm(env.action_space)], env=env
    )
    envs = DummyVectorEnv([lambda: PettingZooEnv(spec.make_env()) for _ in range(c["num_envs"])])
    envs.seed(c["seed"])
    collector = Collector(
        algo, envs, VectorReplayBuffer(c["buffer_size"], c["num_envs"]), exploration_noise=True
    )
    params = OffPolicyTrainerParams(
        training_collector=collector,
        max_epochs=-(-steps // c["steps_per_epoch"]),
        epoch_num_steps=min(c["steps_per_epoch"], steps),
        collection_step_num_env_steps=c["step_per_collect"],
        update_step_num_gradient_steps_per_sample=c["update_per_step"],
        batch_size=c["batch_size"],
        multi_agent_return_reduction=lambda r: r[:, 0],
        verbose=False,
        show_progress=False,
    )
    wall, cpu = time.perf_counter(), time.process_time()
    algo.run_training(params)
    return _rates(collector.collect_step, wall, cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads for both (default 1)")
    ap.add_argument("--game", default="tictactoe", help="registry game (go9 and chess: lower --buffer-size)")
    ap.add_argument("--buffer-size", type=int, default=CONFIG["buffer_size"])
    args = ap.parse_args()
    CONFIG.update(game=args.game, buffer_size=args.buffer_size, steps_per_epoch=min(5_000, args.steps))
    if args.game in ("go9", "chess"):  # games of hundreds of moves: a few evaluation games per epoch
        CONFIG["eval_games"] = 4
    torch.set_num_threads(args.threads)
    fast = args.game in FAST_GAMES
    run_arena(500), run_plain(500)  # warm-up: imports, numba kernels, allocator
    runs: dict[str, list[Rates]] = {"arena, fast env": [], "arena, PettingZoo env": [], "plain tianshou": []}
    if not fast:
        del runs["arena, fast env"]
    for rep in range(args.reps):
        if fast:
            runs["arena, fast env"].append(run_arena(args.steps, fast_env=True))
        runs["arena, PettingZoo env"].append(run_arena(args.steps))
        runs["plain tianshou"].append(run_plain(args.steps))
        shown = "   ".join(f"{name} {r[-1][0]:5.0f} ({r[-1][1]:5.0f}/cpu-s)" for name, r in runs.items())
        print(f"rep {rep + 1}: {shown} steps/s", flush=True)
    med = {name: [statistics.median(x[i] for x in r) for i in (0, 1)] for name, r in runs.items()}
    plain_wall, plain_cpu = med["plain tianshou"]
    print(f"\n{'env steps (median)':24}{'per s':>8}{'vs plain':>10}{'per cpu-s':>11}{'vs plain':>10}")
    for name, (wall, cpu) in med.items():
        print(f"{name:24}{wall:8.0f}{wall / plain_wall:9.2f}x{cpu:11.0f}{cpu / plain_cpu:9.2f}x")
    a, p = med["arena, PettingZoo env"][0], plain_wall
    print(
        f"config: {args.game}, {args.steps} env steps, DQN 128x128, 8 envs, 64 steps/collect, 0.25 grad steps/step, batch 64"
    )
    print(f"target arena >= 0.9x plain: {'met' if a / p >= 0.9 else 'NOT met'}")
    if fast:
        (f, fc) = med["arena, fast env"]
        verdict = "met" if f / p >= 2 else "NOT met"
        cpu_verdict = "met" if fc / plain_cpu >= 2 else "NOT met"
        print(f"target arena fast env >= 2x plain: {verdict} (per CPU-second: {cpu_verdict})")


if __name__ == "__main__":
    main()
