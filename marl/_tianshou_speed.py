"""Speed paths under ``marl._tianshou``: the same Tianshou 2.0.1 steps with less bookkeeping around them.

The defect workarounds stay in ``marl._tianshou``; nothing here changes what is learned.

- ``FlatTrainMode``: the train/eval switch around every gradient step without the recursive walk.
- ``UnloggedUpdateStats``: a trainer's per-step loss smoothing without ``asdict`` for a logger that
  writes nothing.
- ``FusedAdamFactory``: DQN's Adam as torch's fused kernel (one kernel per tensor instead of a
  dozen small ops; the same update rule, rounded within a few ulps of the op-by-op one).
- ``LeanSampleIndices``: a vector buffer's minibatch indices, the same draws from the same RNGs.
- ``LeanDispatchPolicy``: ``MultiAgentPolicy``'s per-agent dispatch of a collect step without
  ``Batch.cat`` (which compares Batches through DeepDiff) and without slicing the batch twice.
- ``LeanDQN`` and ``lean_update``: ``MultiAgentOffPolicyAlgorithm.update`` for DQN learners, read
  straight from the replay buffer's arrays. Tianshou samples a minibatch as a ``Batch`` of every
  buffer field (observation dicts, infos, policy entries), slices it per agent, swaps the buffer's
  reward column per agent, builds another ``Batch`` for the n-step target and runs DQN's update on the
  sliced ``Batch``; for tic-tac-toe's ~32-row minibatches that bookkeeping, not the network, was most
  of a training run's CPU time. The lean step keeps every number: the buffer's own
  ``sample_indices`` (same RNG, same distribution), each agent's own rows, Tianshou's n-step kernel
  over the agent's reward column, the masked double-DQN target, the squared TD loss, the target sync
  and the optimizer step, in Tianshou's order and train/eval modes. ``tests/marl/test_lean_dqn.py``
  checks losses, gradients and weights bit for bit against Tianshou's own update.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from tianshou.algorithm import DQN
from tianshou.algorithm.algorithm_base import OffPolicyAlgorithm, TrainingStats, _nstep_return
from tianshou.algorithm.modelfree.reinforce import SimpleLossTrainingStats
from tianshou.algorithm.multiagent.marl import MapTrainingStats, MultiAgentPolicy
from tianshou.algorithm.optim import AdamOptimizerFactory
from tianshou.data import Batch, ReplayBuffer, to_numpy
from tianshou.utils.logger.logger_base import LazyLogger
from tianshou.utils.torch_utils import torch_train_mode
from torch import nn


class FlatTrainMode(nn.Module):
    """Tianshou switches the whole multi-agent algorithm into train mode and back around every
    gradient step (``torch_train_mode``), and ``nn.Module.train`` walks its ~25 modules recursively
    each time: about a tenth of a tic-tac-toe DQN run. Here the walk runs once per mode, records the
    flag it leaves on every module (a target network's wrapper keeps it in eval mode), and later
    switches set those flags from the record: the same modes, without the walk."""

    def train(self, mode: bool = True) -> FlatTrainMode:
        records = self.__dict__.setdefault("_train_mode_flags", {})
        flags = records.get(mode)
        if flags is None:
            super().train(mode)
            records[mode] = [(module, module.training) for module in self.modules()]
            return self
        for module, flag in flags:
            object.__setattr__(module, "training", flag)  # nn.Module.__setattr__'s checks cost more
        return self


class FusedAdamFactory(AdamOptimizerFactory):
    """Tianshou's Adam factory with ``fused=True``. At 128x128 the op-by-op Adam step was a tenth of
    a tic-tac-toe run; fused, it takes half as long."""

    def _create_optimizer_for_params(self, params: Any) -> torch.optim.Optimizer:
        return torch.optim.Adam(
            params, lr=self.lr, betas=self.betas, eps=self.eps, weight_decay=self.weight_decay, fused=True
        )


class LeanSampleIndices:
    """Mixin for ``VectorReplayBuffer``: ``sample_indices(n > 0)`` returns Tianshou's indices from the
    same draws of the same RNGs. Tianshou's manager picks each sub-buffer's share with
    ``choice(buffer_num, n, p=lengths / total)`` and each sub-buffer its rows with
    ``choice(size, share)``; here those are the draws ``choice`` makes (``random_sample`` against the
    cumulative weights, ``randint``) without its argument checks and a method call per sub-buffer."""

    def sample_indices(self, batch_size: int | None) -> np.ndarray:
        lengths: np.ndarray = self._lengths
        total = lengths.sum()
        if batch_size is None or batch_size <= 0 or self.stack_num > 1 or total == 0:
            return super().sample_indices(batch_size)
        cdf = (lengths / total).cumsum()
        cdf /= cdf[-1]
        picks = cdf.searchsorted(self._random_state.random_sample(batch_size), side="right")
        shares = np.bincount(picks, minlength=self.buffer_num)
        return np.concatenate(
            [
                buf._random_state.randint(0, buf._size, size=share) + offset
                for offset, buf, share in zip(self._offset, self.buffers, shares, strict=False)
                if share > 0
            ]
        )


class UnloggedUpdateStats:
    """Trainer mixin: after every gradient step Tianshou smooths the losses (kept: the epoch's losses
    come from there) and hands ``asdict(stats)``, a deep copy, to its logger, which for a run without
    one (``LazyLogger``) writes nothing; the copy is skipped then."""

    def _update_moving_avg_stats_and_log_update_data(self, update_stat: TrainingStats) -> None:
        losses = update_stat.get_loss_stats_dict()
        update_stat.smoothed_loss = self._update_moving_avg_stats_and_get_averaged_data(losses)
        if not isinstance(self._logger, LazyLogger):
            self._logger.log_update_data(asdict(update_stat), self._current_update_step)


class LeanDispatchPolicy(MultiAgentPolicy):
    """``MultiAgentPolicy.forward`` and ``add_exploration_noise`` with the same calls and results:
    each agent's policy gets its own rows (``batch[index]``, in agent order), the actions are
    concatenated and put back in row order, ``out`` and ``state`` hold each agent's output and state.
    The slices made in ``forward`` are reused for the exploration noise of the same batch (the
    collector passes the one batch to both). Batches with rewards or without masks go to Tianshou's."""

    def forward(self, batch: Batch, state: dict | Batch | None = None, **kwargs: Any) -> Batch:
        if "rew" in batch.get_keys() or not hasattr(batch.obs, "mask"):
            return super().forward(batch, state, **kwargs)
        agent_ids = batch.obs.agent_id
        slices, outs, states, acts = {}, {}, {}, []
        for agent_id, policy in self.policies.items():
            index = np.nonzero(agent_ids == agent_id)[0]
            if len(index) == 0:
                outs[agent_id], states[agent_id] = Batch(), Batch()
                continue
            slices[agent_id] = rows = batch[index]
            out = policy(batch=rows, state=None if state is None else state[agent_id], **kwargs)
            outs[agent_id] = out
            states[agent_id] = out.state if (hasattr(out, "state") and out.state is not None) else Batch()
            acts.append((index, to_numpy(out.act)))  # PPO samples tensors; the collector wants numpy
        act = np.concatenate([a for _, a in acts])
        for index, a in acts:
            act[index] = a
        self.__dict__["_slices"] = (batch, slices)
        return Batch(act=act, out=outs, state=states)

    def add_exploration_noise(self, act: Any, batch: Batch) -> Any:
        cached, slices = self.__dict__.get("_slices", (None, None))
        if batch is not cached:
            return super().add_exploration_noise(act, batch)
        agent_ids = batch.obs.agent_id
        for agent_id, policy in self.policies.items():
            index = np.nonzero(agent_ids == agent_id)[0]
            if len(index):
                act[index] = policy.add_exploration_noise(act[index], slices[agent_id])
        return act


class LeanDQN(DQN):
    """Tianshou's DQN (target, loss, optimizer, state dict) plus a per-agent step over buffer rows:
    ``n_step_returns`` is ``compute_nstep_return`` with ``_target_q`` and ``lean_step`` is
    ``_update_with_batch``, each reading only the arrays it uses. Tianshou's ``Batch`` path is
    inherited unchanged (the equality test runs it)."""

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("huber_loss_delta") is not None:
            raise ValueError("the lean DQN step computes the squared TD loss only")
        super().__init__(**kwargs)

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> Any:
        # A checkpoint's optimizer groups carry the Adam kind they were saved with; keep this one's.
        kinds = [(g.get("fused"), g.get("foreach")) for g in self.optim._optim.param_groups]
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        for group, (fused, foreach) in zip(self.optim._optim.param_groups, kinds, strict=True):
            group.update(fused=fused, foreach=foreach)
        return result

    def n_step_returns(
        self, buffer: ReplayBuffer, rows: np.ndarray, rew: np.ndarray, end_flag: np.ndarray
    ) -> torch.Tensor:
        """The targets of ``rows``; ``rew`` is this agent's reward column and ``end_flag`` the done
        flags with every unfinished episode's last row set, as Tianshou passes them to its kernel."""
        stacked = [rows]
        for _ in range(self.n_step - 1):
            stacked.append(buffer.next(stacked[-1]))
        stacked_ni = np.stack(stacked)
        after = stacked_ni[-1]
        obs_next = buffer._meta.obs_next
        obs, mask = obs_next.obs[after], obs_next.mask[after]
        with torch.no_grad():
            logits, _ = self.policy.model(obs)
            act = self.policy.compute_q_value(logits, mask).argmax(dim=1)
            # The target copy itself: its wrapper only re-walks it into eval mode, where it always is.
            target = self.model_old.module(obs)[0] if self.use_target_network else logits
            target_q = target[torch.arange(len(after)), act] if self.is_double else target.max(dim=1)[0]
        target_q_ia = target_q.reshape(len(after), -1).cpu().numpy()
        target_q_ia *= ~buffer._meta.terminated[after].reshape(-1, 1)  # Algorithm.value_mask
        returns = _nstep_return(rew, end_flag, target_q_ia, stacked_ni, self.gamma, self.n_step)
        return torch.from_numpy(returns).type(target_q.dtype).to(target_q.device)

    def lean_step(
        self, buffer: ReplayBuffer, rows: np.ndarray, returns: torch.Tensor
    ) -> SimpleLossTrainingStats:
        """One gradient step on ``rows`` towards ``returns``; the target net syncs first, as in DQN."""
        self._periodically_update_lagged_network_weights()
        logits, _ = self.policy.model(buffer._meta.obs.obs[rows])
        q = logits[np.arange(len(rows)), buffer._meta.act[rows]]
        loss = (returns.flatten() - q).pow(2).mean()  # DQN's (td ** 2 * weight).mean(), weight 1.0
        self.optim.step(loss)
        return SimpleLossTrainingStats(loss=loss.item())


def lean_update(
    algorithm: OffPolicyAlgorithm,
    algorithms: Mapping[str, OffPolicyAlgorithm],
    agent_idx: Mapping[str, int],
    buffer: ReplayBuffer,
    sample_size: int | None,
) -> MapTrainingStats:
    """``MultiAgentOffPolicyAlgorithm.update`` for ``LeanDQN`` learners beside seats whose update does
    nothing (frozen opponents): every learner's targets first, then its step in train mode, as
    Tianshou's preprocess-then-update runs them."""
    if not algorithm.policy.is_within_training_step:
        raise RuntimeError("update() was called outside of a training step")
    start = time.time()
    indices = buffer.sample_indices(sample_size)
    meta = buffer._meta
    movers = meta.obs.agent_id[indices]
    end_flag = meta.done.copy()
    end_flag[buffer.unfinished_index()] = True
    work: dict[str | int, tuple[LeanDQN | None, np.ndarray, torch.Tensor | None]] = {}
    for agent_id, sub in algorithms.items():
        rows = indices[np.nonzero(movers == agent_id)[0]]
        if len(rows) == 0:
            continue  # Tianshou hands such an agent an empty batch and skips it
        if isinstance(sub, LeanDQN):
            rew = meta.rew[:, agent_idx[agent_id]]
            work[agent_id] = (sub, rows, sub.n_step_returns(buffer, rows, rew, end_flag))
        else:
            work[agent_id] = (None, rows, None)
    stats: dict[str | int, TrainingStats] = {}
    with torch_train_mode(algorithm):
        for agent_id, (sub, rows, returns) in work.items():
            stats[agent_id] = TrainingStats() if sub is None else sub.lean_step(buffer, rows, returns)
    for scheduler in algorithm.lr_schedulers:
        scheduler.step()
    result = MapTrainingStats(stats)
    result.train_time = time.time() - start
    return result
