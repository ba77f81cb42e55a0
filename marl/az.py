"""Expert iteration, AlphaZero-style (``algorithm: "az"``): strength from self-play alone.

Each iteration plays self-play games with PUCT search guided by the current network
(``marl.selfplay``), then trains the policy head on the search's visit shares and the value head on
the game outcomes, over a sliding window of recent positions (mirrored too). One network serves
every seat: its checkpoint is the policy (the inference weights, played greedily like PPO's actor)
plus the value network in the training state under ``critic.net.*``, where ``marl.search`` finds a
critic for ``<checkpoint> + mcts:N``. The sidecar lists the seats it serves; env steps count
self-play moves. The replay window rides in the training state (``window``), so a run resumed from a
checkpoint (a league's next tick) learns from the same recent positions instead of an empty window.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from marl.agents import RandomAgent
from marl.checkpoints import Checkpoint, load_checkpoint, read_meta, save_checkpoint
from marl.errors import CheckpointError, ConfigError
from marl.games import get_game
from marl.nets import TwoHeads, build_critic, build_network, select_device
from marl.selfplay import POSITION_FIELDS, CachedNetworkEvaluator, Positions, SelfPlay
from marl.train_config import TrainConfig, TrainResult
from marl.train_eval import evaluate_seat
from marl.train_watch import GameSampler

CRITIC_PREFIX = "critic.net."  # where marl.search looks for a value network in the training state
WEIGHT_DECAY = 1e-4
EVAL_OPPONENT = "random"  # evaluation only: no bot plays in training


class AzLearner:
    """The policy and value networks of one self-play run and their optimizer.

    A shared network spec (``"shared": true``) makes them one ``TwoHeads`` network: ``value`` is None,
    and the value is its second head, trained on the same body.
    """

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        spec = get_game(cfg.game)
        self.policy = build_network(cfg.network, spec.obs_shape, spec.n_actions).to(device)
        self.value: torch.nn.Module | None = None
        params = list(self.policy.parameters())
        if not isinstance(self.policy, TwoHeads):
            self.value = build_critic(cfg.network, spec.obs_shape).to(device)
            params += self.value.parameters()
        self.optim = torch.optim.Adam(params, lr=cfg.lr, weight_decay=WEIGHT_DECAY)
        self.device = device

    def _value_net(self) -> torch.nn.Module:
        return self.policy if self.value is None else self.value

    def state(self) -> dict[str, Any]:
        """The training state: value network weights (``critic.net.*``; a shared network's whole
        weights again, where ``marl.checkpoints`` finds its critic) and the optimizer."""
        critic = {CRITIC_PREFIX + k: v for k, v in self._value_net().state_dict().items()}
        return {**critic, "optim": self.optim.state_dict()}

    def load(self, ckpt: Checkpoint) -> None:
        """Continue from a checkpoint: policy weights, value weights and optimizer moments."""
        state = ckpt.state or {}
        critic = {k[len(CRITIC_PREFIX) :]: v for k, v in state.items() if k.startswith(CRITIC_PREFIX)}
        if not critic or "optim" not in state:
            raise CheckpointError(f"{ckpt.path.name} lacks the value network or optimizer state of an az run")
        self.policy.load_state_dict(ckpt.weights)
        if self.value is not None:
            self.value.load_state_dict(critic)
        self.optim.load_state_dict(state["optim"])

    def evaluator(self) -> CachedNetworkEvaluator:
        """Frozen CPU copies for self-play: one position per forward is faster on CPU than on a GPU."""
        value = copy.deepcopy(self.value).cpu() if self.value is not None else None
        return CachedNetworkEvaluator(copy.deepcopy(self.policy).cpu(), value)

    def update(
        self, window: Positions, steps: int, batch_size: int, rng: np.random.Generator
    ) -> dict[str, float]:
        """``steps`` gradient steps on minibatches drawn from ``window``; the mean losses."""
        self.policy.train()
        self._value_net().train()
        sums = {"policy_loss": 0.0, "value_loss": 0.0}
        for _ in range(steps):
            idx = rng.integers(0, len(window), size=min(batch_size, len(window)))
            policy_loss, value_loss = self._losses(window, idx)
            self.optim.zero_grad()
            (policy_loss + value_loss).backward()
            self.optim.step()
            sums["policy_loss"] += float(policy_loss.detach())
            sums["value_loss"] += float(value_loss.detach())
        self.policy.eval()
        self._value_net().eval()
        return {k: v / max(steps, 1) for k, v in sums.items()}

    def _losses(self, window: Positions, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        def tensor(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a[idx], device=self.device)

        obs = tensor(window.obs).float()
        if self.value is None:
            logits, values = self.policy.heads(obs)
        else:
            logits, values = self.policy(obs), self.value(obs)
        # A large negative, not -inf: 0 * -inf would be NaN where the target is zero.
        logits = logits.masked_fill(~tensor(window.masks), -1e9)
        policy_loss = -(tensor(window.policy) * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
        value_loss = torch.nn.functional.mse_loss(values[:, 0], tensor(window.outcome))
        return policy_loss, value_loss


def resume_shared(cfg: TrainConfig, resume_from: Mapping[str, str | Path] | None) -> Checkpoint | None:
    """The checkpoint a self-play run of one policy (az, mccfr) continues from: every seat's entry
    names the same file, of the same algorithm and network as this run."""
    paths = {str(p) for p in (resume_from or {}).values()}
    if not paths:
        return None
    if len(paths) != 1:
        raise ConfigError(
            f"an {cfg.algorithm} run has one policy for every seat; got {len(paths)} checkpoints to resume"
        )
    ckpt = load_checkpoint(paths.pop(), game=cfg.game)
    if ckpt.meta["algorithm"] != cfg.algorithm or ckpt.meta["network"] != cfg.network:
        raise ConfigError(
            f"{ckpt.path.name} is {ckpt.meta['algorithm']} {ckpt.meta['network']}; "
            f"this run is {cfg.algorithm} {cfg.network}"
        )
    return ckpt


def start_shared(
    cfg: TrainConfig, out_dir: str | Path, resume_from: Mapping[str, str | Path] | None
) -> tuple[Path, Checkpoint | None, TrainResult]:
    """A one-policy self-play run's output folder (made), the checkpoint it resumes (or None) and its
    result so far, which starts at the resumed checkpoint's env steps."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = resume_shared(cfg, resume_from)
    start = ckpt.meta["env_steps"] if ckpt is not None else 0
    return out, ckpt, TrainResult(config=cfg, env_steps=start, epochs=0, stopped=False)


def window_from(ckpt: Checkpoint, buffer_size: int) -> Positions | None:
    """The replay window a checkpoint's training state carries (None for one written without it)."""
    stored = (ckpt.state or {}).get("window")
    if not stored:
        return None
    spec = get_game(ckpt.meta["game"])
    try:
        window = Positions(*(stored[f].numpy() for f in POSITION_FIELDS))
    except (KeyError, TypeError, AttributeError):
        raise CheckpointError(f"{ckpt.path.name}: the stored replay window is malformed") from None
    n = len(window)
    shapes = [window.obs.shape, window.masks.shape, window.policy.shape]
    if shapes != [(n, *spec.obs_shape), (n, spec.n_actions), (n, spec.n_actions)]:
        raise CheckpointError(f"{ckpt.path.name}: the stored replay window does not fit {spec.name}")
    return window.tail(buffer_size)


class _Run:
    """One az run's learner, replay window, checkpoint lineage and per-iteration bookkeeping."""

    def __init__(
        self, cfg: TrainConfig, out: Path, ckpt: Checkpoint | None, sampler: GameSampler | None = None
    ) -> None:
        self.cfg, self.out, self.sampler = cfg, out, sampler
        self.spec = get_game(cfg.game)
        self.learner = AzLearner(cfg, select_device(cfg.device))
        self.parent: tuple[str, str] | None = None
        if ckpt is not None:
            self.learner.load(ckpt)
            self.parent = (ckpt.name, ckpt.meta["sha256"])
        self.window: Positions | None = window_from(ckpt, cfg.buffer_size) if ckpt is not None else None
        self.games = 0

    def iterate(
        self, moves: int, rng: np.random.Generator, env_steps: int = 0
    ) -> tuple[int, dict[str, float]]:
        """Self-play at least ``moves`` moves, then learn from the window; moves played and losses."""
        cfg, sampler = self.cfg, self.sampler
        players = {seat: "this run (self-play with search)" for seat in self.spec.seats}

        def on_game(played: list[int]) -> None:  # a watcher sees one of the games training plays
            if sampler is not None and sampler.due():
                sampler.guarded(lambda: sampler.replay(played, players=players, env_steps=env_steps))

        fresh, games = SelfPlay(cfg, self.learner.evaluator(), rng, on_game).games(moves)
        self.games += games
        parts = [fresh, fresh.mirrored(cfg.game)]
        if self.window is not None:
            parts.insert(0, self.window)
        self.window = Positions.concat(parts).tail(cfg.buffer_size)
        steps = max(1, math.ceil(2 * len(fresh) * cfg.repeat_per_collect / cfg.batch_size))
        return len(fresh), self.learner.update(self.window, steps, cfg.batch_size, rng)

    def evaluate(self, seed: int) -> dict[str, dict[str, Any]]:
        """The greedy policy against random in each seat (evaluation only, never training)."""
        opponent = [RandomAgent(seed)] if self.cfg.eval_games else []
        return {
            seat: evaluate_seat(
                self.spec, seat, self.learner.policy, "logits", opponent, self.cfg.eval_games, seed
            )
            for seat in self.spec.seats
        }

    def save(self, env_steps: int, metrics: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
        """Write the shared network's checkpoint; its path and stored sidecar."""
        spec, parent = self.spec, self.parent
        meta = {
            "game": spec.name,
            "env_id": spec.env_id,
            "algorithm": "az",
            "network": self.cfg.network,
            "agent_id": spec.seats[0],  # the first seat it serves; "seats" lists them all
            "seats": list(spec.seats),
            "env_steps": env_steps,
            "parent": parent[0] if parent else None,
            "parent_sha256": parent[1] if parent else None,
            "metrics": {**metrics, "eval_opponent": [EVAL_OPPONENT], "self_play_games": self.games},
            "train_config": self.cfg.to_dict(),
        }
        name = f"selfplay-{env_steps:09d}"
        state = self.learner.state()
        if self.window is not None:
            state["window"] = {
                f: torch.from_numpy(np.ascontiguousarray(getattr(self.window, f))) for f in POSITION_FIELDS
            }
        path = save_checkpoint(
            self.out, name, weights=self.learner.policy.state_dict(), state=state, meta=meta
        )
        meta = read_meta(path)
        self.parent = (name, meta["sha256"])
        return path, meta


def train_az(
    cfg: TrainConfig,
    *,
    out_dir: str | Path,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_checkpoint: Callable[[str, Path, dict[str, Any]], None] | None = None,
    resume_from: Mapping[str, str | Path] | None = None,
    sampler: GameSampler | None = None,
) -> TrainResult:
    """Expert iteration by self-play; one checkpoint per iteration, reported once per seat it serves."""
    t_start = time.perf_counter()
    out, ckpt, result = start_shared(cfg, out_dir, resume_from)
    start = result.env_steps
    if start >= cfg.env_steps:
        return result
    seed = cfg.seed + start  # a resumed run does not replay the random stream of its parent
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    run = _Run(cfg, out, ckpt, sampler)
    epochs = math.ceil((cfg.env_steps - start) / cfg.steps_per_epoch)
    for epoch in range(1, epochs + 1):
        t_epoch = time.perf_counter()
        moves, losses = run.iterate(
            min(cfg.steps_per_epoch, cfg.env_steps - result.env_steps), rng, result.env_steps
        )
        env_steps = result.env_steps + moves
        per_seat = run.evaluate(cfg.seed * 1_000_003 + epoch * 10_007)
        path, meta = run.save(env_steps, {"losses": losses, "seats": per_seat})
        for seat in run.spec.seats:
            per_seat[seat]["losses"] = {f"{seat}/{k}": v for k, v in losses.items()}
        progress = result.shared_epoch(
            path,
            meta,
            on_checkpoint,
            epoch=epoch,
            epochs=epochs,
            env_steps=env_steps,
            episodes=run.games,
            losses={k: v for m in per_seat.values() for k, v in m["losses"].items()},
            seats=per_seat,
            moves=moves,
            elapsed=time.perf_counter() - t_epoch,
        )
        if result.epoch_end(progress, on_progress, should_stop):
            break
    result.wall_time_s = time.perf_counter() - t_start
    return result
