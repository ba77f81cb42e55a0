"""Tianshou 2.0.1 glue for ``marl.train``: adapters, frozen opponents and the four defect workarounds.

Each workaround for a Tianshou 2.0.1 multi-agent defect lives here, once, marked ``DEFECT n``
(measured in the project's shared notes on Tianshou's MARL layer):

1. sub-policies never enter training mode        -> ``TrainingFlagPolicy``
2. the loser never receives its -1               -> DQN: ``n_step`` a multiple of the seat count
                                                    (enforced in ``TrainConfig``); PPO: ``fold_turns``
3. the trainer deep-copies the buffer every step -> ``NoNanCheckBuffer``
4. MARL ``state_dict()`` does not load back      -> ``agent_state`` / ``load_agent_state``
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tianshou.algorithm.algorithm_base as _base
import tianshou.data.buffer.manager as _mgr
import torch
import tqdm
from tianshou.algorithm import DQN, PPO
from tianshou.algorithm.algorithm_base import OffPolicyAlgorithm, OnPolicyAlgorithm, Policy, TrainingStats
from tianshou.algorithm.modelfree.dqn import DiscreteQLearningPolicy
from tianshou.algorithm.modelfree.reinforce import ProbabilisticActorPolicy
from tianshou.algorithm.multiagent.marl import (
    MultiAgentOffPolicyAlgorithm,
    MultiAgentOnPolicyAlgorithm,
)
from tianshou.algorithm.optim import AdamOptimizerFactory
from tianshou.data import Batch, Collector, ReplayBuffer, VectorReplayBuffer
from tianshou.env import PettingZooEnv
from tianshou.trainer import OffPolicyTrainer, OffPolicyTrainerParams, OnPolicyTrainerParams
from torch import nn

# The training envs live beside this module; train.py and the tests reach them through it.
from marl._fast_env import FastPettingZooEnv, FastVectorEnv, make_env, make_vector_env  # noqa: F401
from marl._tianshou_speed import (
    FlatTrainMode,
    FusedAdamFactory,
    LeanDispatchPolicy,
    LeanDQN,
    LeanSampleIndices,
    UnloggedUpdateStats,
    lean_update,
)
from marl.agents import Agent


def _cache_numba_kernels() -> None:
    """Tianshou's buffer-index, GAE and n-step kernels are ``@njit`` without ``cache=True``: every
    process recompiled them (10-20 s on this 2-core machine, more than a short training run). Turn on
    numba's on-disk cache before their first call; later processes load them in about a second."""
    for fn in (_mgr._prev_index, _mgr._next_index, _base._gae, _base._nstep_return):
        if hasattr(fn, "enable_caching"):  # absent when NUMBA_DISABLE_JIT=1 made them plain functions
            fn.enable_caching()


_cache_numba_kernels()

# Each MARL collect logs "Sequence has shape (n, 2)..." (returns are per agent); it is noise, not news.
logging.getLogger("tianshou.data.stats").setLevel(logging.ERROR)


def _obs_tensor(obs: Any, device: torch.device) -> torch.Tensor:
    # A copy only for views torch cannot wrap (chess observations come flipped, with negative strides).
    return torch.as_tensor(np.ascontiguousarray(obs), dtype=torch.float32, device=device)


class _NetReader(nn.Module):
    """Wraps a plain network and feeds it observations as float tensors on its device.

    The device is kept, not looked up per call: ``next(net.parameters())`` walks the module tree, and
    at a few thousand calls per thousand env steps it cost ~5% of a DQN run. ``_apply`` (what
    ``.to()``/``.cuda()`` run) refreshes it.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self._device = next(net.parameters()).device

    def _apply(self, fn: Callable[..., Any], recurse: bool = True) -> _NetReader:
        out = super()._apply(fn, recurse)
        self._device = next(self.net.parameters()).device
        return out

    def _tensor(self, obs: Any) -> torch.Tensor:
        return _obs_tensor(obs, self._device)


class QNetAdapter(_NetReader):
    """Gives a plain scoring network the ``(obs, state, info) -> (scores, state)`` call DQN expects.

    DQN's policy unpacks ``obs.obs`` and applies the mask itself, so this sees board arrays only.
    """

    def forward(self, obs: Any, state: Any = None, info: Any = None) -> tuple[torch.Tensor, Any]:
        return self.net(self._tensor(obs)), state


def _masked(logits: torch.Tensor, mask: Any) -> torch.Tensor:
    legal = torch.as_tensor(np.asarray(mask, dtype=bool), device=logits.device)
    return logits.masked_fill(~legal, torch.finfo(logits.dtype).min)


class MaskedActor(_NetReader):
    """PPO actor: reads ``obs.obs`` and applies ``obs.mask`` to the logits (Tianshou's actors do not,
    upstream issues #1047 and #1244), so illegal moves get probability zero and ``agent_id`` strings
    never reach torch."""

    def forward(self, obs: Any, state: Any = None, info: Any = None) -> tuple[torch.Tensor, Any]:
        logits = self.net(self._tensor(obs.obs))
        return _masked(logits, obs.mask), state


class ObsCritic(_NetReader):
    """PPO critic: a state value from ``obs.obs``."""

    def forward(self, obs: Any, **kwargs: Any) -> torch.Tensor:
        return self.net(self._tensor(obs.obs))


def masked_categorical(logits: torch.Tensor) -> torch.distributions.Categorical:
    return torch.distributions.Categorical(logits=logits)


# ------------------------------------------------------------------------------------- frozen opponent
class FrozenAgentPolicy(Policy):
    """A Tianshou policy that delegates to a marl ``Agent`` (random, a bot or a checkpoint).

    ``agents`` is a list to sample from with ``weights`` (PFSP); ``resample()``, called before every
    collect step, picks the one that plays it for all envs (a game spanning two collect steps may meet
    two pool members). Bots and checkpoints all respect the action mask.
    """

    def __init__(
        self,
        action_space: Any,
        agents: Sequence[Agent],
        weights: Sequence[float] | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__(action_space=action_space)
        self.agents = list(agents)
        w = np.ones(len(self.agents)) if weights is None else np.asarray(weights, dtype=float)
        self.weights = w / w.sum()
        self.rng = rng or np.random.default_rng()
        self.current = self.agents[0]

    def resample(self) -> None:
        if len(self.agents) > 1:
            self.current = self.agents[int(self.rng.choice(len(self.agents), p=self.weights))]

    def forward(self, batch: Batch, state: Any = None, **kwargs: Any) -> Batch:
        obs = batch.obs
        act = self.current.act_batch(np.asarray(obs.obs), np.asarray(obs.mask, dtype=bool))
        return Batch(act=np.asarray(act, dtype=np.int64))


class FrozenOffPolicy(OffPolicyAlgorithm):
    """A non-learning seat inside ``MultiAgentOffPolicyAlgorithm``: updates do nothing."""

    def __init__(self, policy: FrozenAgentPolicy) -> None:
        super().__init__(policy=policy)

    def _update_with_batch(self, batch: Any) -> TrainingStats:
        return TrainingStats()


class FrozenOnPolicy(OnPolicyAlgorithm):
    """The on-policy twin (Tianshou's masked random algorithm is off-policy only and fails in PPO)."""

    def __init__(self, policy: FrozenAgentPolicy) -> None:
        super().__init__(policy=policy)

    def _update_with_batch(self, batch: Any, batch_size: int | None, repeat: int) -> TrainingStats:
        return TrainingStats()


# ------------------------------------------------------------------------------------ defect workarounds
class TrainingFlagPolicy(LeanDispatchPolicy):
    """DEFECT 1: the trainer sets ``is_within_training_step`` on the top-level policy only, so DQN
    collected with ``eps_inference`` and PPO with argmax. Setting the flag here sets it on every
    sub-policy too."""

    @property
    def is_within_training_step(self) -> bool:
        return self.__dict__.get("_within_training_step", False)

    @is_within_training_step.setter
    def is_within_training_step(self, value: bool) -> None:
        self.__dict__["_within_training_step"] = value
        for policy in self.__dict__.get("policies", {}).values():
            policy.is_within_training_step = value


def _no_bar(*args: Any, **kwargs: Any) -> tqdm.tqdm:
    return tqdm.tqdm(*args, **{**kwargs, "disable": True})


class QuietOffPolicyTrainer(UnloggedUpdateStats, OffPolicyTrainer):
    """The off-policy trainer shows a gradient-step bar whenever a step has >= 20 gradient steps, even
    with ``show_progress=False`` (its explicit ``disable=`` overrides the setting); progress is ours."""

    @property
    def _pbar(self) -> Callable[..., tqdm.tqdm]:
        return _no_bar


class MarlOffPolicy(FlatTrainMode, MultiAgentOffPolicyAlgorithm):
    """MultiAgentOffPolicyAlgorithm with the training flag delegated (DEFECT 1), a quiet trainer, a
    flat train-mode switch and, for ``LeanDQN`` learners beside frozen seats, the lean update."""

    def __init__(self, *, algorithms: list[OffPolicyAlgorithm], env: PettingZooEnv) -> None:
        super().__init__(algorithms=algorithms, env=env)
        self.policy = TrainingFlagPolicy({aid: a.policy for aid, a in self._dispatcher.algorithms.items()})
        self._lean = all(isinstance(a, LeanDQN | FrozenOffPolicy) for a in algorithms)

    def update(self, buffer: ReplayBuffer, sample_size: int | None) -> TrainingStats:
        if self._lean and buffer.stack_num == 1 and buffer._save_obs_next:
            d = self._dispatcher
            return lean_update(self, d.algorithms, d.agent_idx, buffer, sample_size)
        return super().update(buffer, sample_size)

    def create_trainer(self, params: OffPolicyTrainerParams) -> OffPolicyTrainer:
        return QuietOffPolicyTrainer(self, params)


class MarlOnPolicy(FlatTrainMode, MultiAgentOnPolicyAlgorithm):
    """MultiAgentOnPolicyAlgorithm with the training flag delegated (DEFECT 1), turns folded before
    every update (DEFECT 2, on-policy half) and a flat train-mode switch."""

    def __init__(self, *, algorithms: list[OnPolicyAlgorithm], env: PettingZooEnv) -> None:
        super().__init__(algorithms=algorithms, env=env)
        self.policy = TrainingFlagPolicy({aid: a.policy for aid, a in self._dispatcher.algorithms.items()})
        self._agent_idx = dict(env.agent_idx)

    def update(self, buffer: ReplayBuffer, batch_size: int | None, repeat: int) -> TrainingStats:
        fold_turns(buffer, self._agent_idx)
        return super().update(buffer, batch_size, repeat)


def fold_turns(buffer: ReplayBuffer, agent_idx: dict[str, int]) -> None:
    """DEFECT 2 (on-policy): fold each mover's transition with the opponents' moves that follow it.

    A terminal reward ``[+1, -1]`` lands on the winner's row, and the dispatcher gives each agent only
    its own rows, so the loser never saw its -1 and its ``obs_next`` was the opponent's view. Here,
    in place, each row gets the sum of its mover's reward column up to its next turn (or the end), and
    the done flags and ``obs_next`` of the last folded row. The buffer must hold whole episodes
    (PPO collects by episodes) and is cleared after the update, so rewriting it is safe. GAE reads
    done flags from the buffer itself, which is why the buffer and not the sampled batch is changed.
    """
    idx = buffer.sample_indices(0)
    if len(idx) == 0:
        return
    agent_ids = np.asarray(buffer.obs.agent_id)
    rew = np.array(buffer.rew, dtype=np.float64)  # a copy: rows are read before they are rewritten
    terminated, truncated = buffer.terminated.copy(), buffer.truncated.copy()
    done = terminated | truncated
    mover = agent_ids[idx]
    col = np.array([agent_idx[a] for a in mover])
    acc = rew[idx, col].astype(np.float64)
    last, cur = idx.copy(), idx.copy()
    open_ = ~done[idx]
    for _ in range(len(agent_idx) - 1):
        nxt = buffer.next(cur)
        step = open_ & (nxt != cur) & (agent_ids[nxt] != mover)
        acc[step] += rew[nxt[step], col[step]]
        last[step] = nxt[step]
        open_ = step & ~done[nxt]
        cur = np.where(step, nxt, cur)
    changed = last != idx
    if not changed.any():
        return
    rows, src = idx[changed], last[changed]
    # In place: the per-env child buffers share these arrays with the manager.
    buffer._meta.rew[idx, col] = acc
    buffer._meta.terminated[rows] = terminated[src]
    buffer._meta.truncated[rows] = truncated[src]
    buffer._meta.done[rows] = done[src]
    buffer._meta.obs_next[rows] = buffer._meta.obs_next[src]


class NoNanCheckBuffer(LeanSampleIndices, VectorReplayBuffer):
    """DEFECT 3: the online trainer calls ``buffer.hasnull()`` after every collect, which deep-copies
    the whole buffer (~80% of training time at 18k transitions). Our envs never produce NaN. Its
    minibatch indices are Tianshou's, drawn leaner (``LeanSampleIndices``)."""

    def __init__(self, total_size: int, buffer_num: int, seed: int = 42) -> None:
        super().__init__(total_size, buffer_num)
        self._random_state = np.random.RandomState(seed % 2**32)  # minibatch sampling follows config.seed

    def hasnull(self) -> bool:
        return False


def agent_state(algorithm: MultiAgentOffPolicyAlgorithm | MultiAgentOnPolicyAlgorithm, agent_id: str) -> dict:
    """DEFECT 4: the MARL-level state_dict neither loads back nor is keyed by agent_id; save each
    agent's own algorithm state (modules, target net, ``_optimizers`` moments) instead."""
    return algorithm.get_algorithm(agent_id).state_dict()


def load_agent_state(
    algorithm: MultiAgentOffPolicyAlgorithm | MultiAgentOnPolicyAlgorithm, agent_id: str, state: dict
) -> None:
    """Load one agent's saved state into a freshly built algorithm of the same spec (DEFECT 4)."""
    algorithm.get_algorithm(agent_id).load_state_dict(dict(state), strict=True)


class StatsCollector(Collector):
    """A Collector that also keeps the learning seats' mean return of every finished training episode
    (the trainer's epoch stats drop the collect stats), and collects without autograd (Tianshou's
    collector records a graph for every forward pass, which nothing reads)."""

    def __init__(self, *args: Any, seat_columns: Sequence[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seat_columns = list(seat_columns)
        self.returns: list[float] = []

    def collect(self, *args: Any, **kwargs: Any) -> Any:
        with torch.no_grad():
            stats = super().collect(*args, **kwargs)
        if stats.n_collected_episodes:
            r = np.asarray(stats.returns, dtype=float).reshape(stats.n_collected_episodes, -1)
            self.returns.extend(r[:, self.seat_columns].mean(axis=1).tolist())
        return stats


# ------------------------------------------------------------------------------------------- builders
def build_dqn(net: nn.Module, env: PettingZooEnv, cfg: Any) -> LeanDQN:
    """A masked double DQN learner around the plain Q-network ``net`` (Tianshou's DQN, lean step)."""
    policy = DiscreteQLearningPolicy(
        model=QNetAdapter(net),
        action_space=env.action_space,
        observation_space=env.observation_space,
        eps_training=cfg.eps_train,
        eps_inference=cfg.eps_test,
    )
    return LeanDQN(
        policy=policy,
        optim=FusedAdamFactory(lr=cfg.lr),
        gamma=cfg.gamma,
        # DEFECT 2 (off-policy): n_step is a multiple of the seat count (TrainConfig enforces it), so
        # the return sums the opponents' replies (the loser's -1 included) and bootstraps from the
        # learner's own next observation, never from the opponent's view.
        n_step_return_horizon=cfg.n_step,
        target_update_freq=cfg.target_update_freq,
        is_double=True,
    )


def build_ppo(actor: nn.Module, critic: nn.Module, env: PettingZooEnv, cfg: Any) -> PPO:
    """A PPO learner whose actor masks illegal moves and whose critic reads ``obs.obs``."""
    policy = ProbabilisticActorPolicy(
        actor=MaskedActor(actor),
        dist_fn=masked_categorical,
        deterministic_eval=True,
        action_space=env.action_space,
        observation_space=env.observation_space,
        action_scaling=False,
        action_bound_method=None,
    )
    return PPO(
        policy=policy,
        critic=ObsCritic(critic),
        optim=AdamOptimizerFactory(lr=cfg.lr),
        eps_clip=cfg.eps_clip,
        vf_coef=cfg.vf_coef,
        ent_coef=cfg.ent_coef,
        gae_lambda=cfg.gae_lambda,
        gamma=cfg.gamma,
        max_grad_norm=cfg.max_grad_norm,
        advantage_normalization=True,
    )


def epoch_losses(stats: Any) -> dict[str, float]:
    """An epoch's loss stats as floats, keyed ``agent_id/loss...`` (``MapTrainingStats``)."""
    if stats.training_stat is None:
        return {}
    raw = stats.training_stat.smoothed_loss or stats.training_stat.get_loss_stats_dict()
    return {k: float(v) for k, v in raw.items()}


def set_eps_training(algorithm: DQN, eps: float) -> None:
    algorithm.policy.set_eps_training(eps)


def trainer_params(cfg: Any, collector: Collector, training_fn: Callable[[int, int], None]) -> Any:
    """Trainer parameters without Tianshou's own test step, logger, printing or progress bars."""
    common = dict(
        training_collector=collector,
        max_epochs=1 << 30,  # epochs are driven one by one from marl.train
        epoch_num_steps=cfg.steps_per_epoch,
        training_fn=training_fn,
        test_collector=None,
        logger=None,
        verbose=False,
        show_progress=False,
    )
    if cfg.algorithm == "dqn":
        return OffPolicyTrainerParams(
            **common,
            collection_step_num_env_steps=cfg.step_per_collect,
            update_step_num_gradient_steps_per_sample=cfg.update_per_step,
            batch_size=cfg.batch_size,
        )
    # PPO collects whole episodes so that fold_turns never meets a half-finished turn.
    return OnPolicyTrainerParams(
        **common,
        collection_step_num_env_steps=None,
        collection_step_num_episodes=cfg.episode_per_collect,
        batch_size=cfg.batch_size,
        update_step_num_repetitions=cfg.repeat_per_collect,
    )
