"""The lean training paths (marl._tianshou_speed) against Tianshou's own, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tianshou.algorithm.multiagent.marl import MultiAgentOffPolicyAlgorithm, MultiAgentPolicy
from tianshou.data import Batch, VectorReplayBuffer
from tianshou.trainer import OffPolicyTrainer
from tianshou.utils.torch_utils import policy_within_training_step

from marl import _tianshou as ts
from marl.bots import make_bot
from marl.checkpoints import load_checkpoint
from marl.games import get_game
from marl.nets import build_network
from marl.train import TrainConfig, train


def _algorithm(game: str, learning: list[str], cfg: TrainConfig) -> ts.MarlOffPolicy:
    spec = get_game(game)
    env = ts.make_env(spec, fast=True)
    torch.manual_seed(0)  # both algorithms of a comparison start from the same weights
    algorithms = []
    for i, seat in enumerate(env.agents):
        if seat in learning:
            net = build_network(cfg.network, spec.obs_shape, spec.n_actions)
            algorithms.append(ts.build_dqn(net, env, cfg))
        else:
            policy = ts.FrozenAgentPolicy(env.action_space, [make_bot(game, "random", seed=i)])
            algorithms.append(ts.FrozenOffPolicy(policy))
    return ts.MarlOffPolicy(algorithms=algorithms, env=env)


def _filled_buffer(algorithm: ts.MarlOffPolicy, game: str) -> ts.NoNanCheckBuffer:
    """600 epsilon-greedy steps in 4 envs of 100 rows each: the buffer wraps, and the last episodes of
    each env are unfinished."""
    np.random.seed(3)
    buffer = ts.NoNanCheckBuffer(400, 4, seed=5)
    venv = ts.make_vector_env(get_game(game), 4, seed=1, fast=True)
    collector = ts.Collector(algorithm, venv, buffer, exploration_noise=True)
    collector.reset()
    with policy_within_training_step(algorithm.policy):
        collector.collect(n_step=600)
    return buffer


def _tensors(algorithm: ts.MarlOffPolicy, seat: str) -> dict[str, torch.Tensor]:
    """Everything an update changes for a seat: online and target weights, gradients, Adam moments."""
    sub = algorithm.get_algorithm(seat)
    out = {name: t for name, t in sub.state_dict().items() if isinstance(t, torch.Tensor)}
    out.update({f"grad:{n}": p.grad for n, p in sub.policy.named_parameters()})
    for i, p in enumerate(sub.optim._optim.param_groups[0]["params"]):
        out.update({f"adam{i}:{k}": v for k, v in sub.optim._optim.state[p].items()})
    return out


@pytest.mark.parametrize(
    "game, learning",
    [("tictactoe", ["player_1"]), ("tictactoe", ["player_2"]), ("connect_four", ["player_0", "player_1"])],
)
def test_the_lean_step_computes_tianshous_losses_gradients_and_weights_bit_for_bit(game, learning):
    # A target sync every 3 steps, so that steps on both sides of a sync are compared.
    cfg = TrainConfig.from_dict(
        {"game": game, "network": {"kind": "mlp", "hidden": [32, 32]}, "target_update_freq": 3, "gamma": 0.9}
    )
    lean, ref = _algorithm(game, learning, cfg), _algorithm(game, learning, cfg)
    assert lean._lean
    buffer = _filled_buffer(lean, game)
    assert len(buffer.unfinished_index()) > 0 and all(len(b) == b.maxsize for b in buffer.buffers)
    rngs = [buffer._random_state, *(b._random_state for b in buffer.buffers)]
    for _ in range(8):
        drawn = [r.get_state() for r in rngs]
        with policy_within_training_step(ref.policy):
            want = MultiAgentOffPolicyAlgorithm.update(ref, buffer, 64)  # Tianshou's own update
        after = [r.get_state() for r in rngs]
        for r, state in zip(rngs, drawn, strict=True):
            r.set_state(state)
        with policy_within_training_step(lean.policy):
            got = lean.update(buffer, 64)
        for r, state in zip(rngs, after, strict=True):  # the same draws from the buffer's RNGs
            assert all(np.array_equal(a, b) for a, b in zip(r.get_state(), state, strict=True))
        assert got.get_loss_stats_dict() == want.get_loss_stats_dict()
        assert sorted(got.get_loss_stats_dict()) == sorted(f"{seat}/loss" for seat in learning)
        for seat in learning:
            mine, theirs = _tensors(lean, seat), _tensors(ref, seat)
            assert mine.keys() == theirs.keys()
            for name, tensor in mine.items():
                assert torch.equal(tensor, theirs[name]), (seat, name)


def _rows(n: int) -> Batch:
    zeros = np.zeros(n)
    return Batch(
        obs=zeros, act=zeros.astype(int), rew=zeros, terminated=zeros > 0, truncated=zeros > 0, obs_next=zeros
    )


def test_minibatch_indices_are_tianshous_from_the_same_draws():
    wrapped = _filled_buffer(_algorithm("tictactoe", ["player_1"], TrainConfig()), "tictactoe")
    sparse = ts.NoNanCheckBuffer(60, 6, seed=9)  # rows in two of its six sub-buffers, 5 and 12
    for _ in range(5):
        sparse.add(_rows(2), buffer_ids=[1, 4])
    for _ in range(7):
        sparse.add(_rows(1), buffer_ids=[4])
    for buffer in (wrapped, sparse):
        rngs = [buffer._random_state, *(b._random_state for b in buffer.buffers)]
        for n in (1, 7, 64, 200):
            drawn = [r.get_state() for r in rngs]
            want = VectorReplayBuffer.sample_indices(buffer, n)
            after = [r.get_state() for r in rngs]
            for r, state in zip(rngs, drawn, strict=True):
                r.set_state(state)
            got = buffer.sample_indices(n)
            assert got.dtype == want.dtype and np.array_equal(got, want)
            for r, state in zip(rngs, after, strict=True):
                assert all(np.array_equal(a, b) for a, b in zip(r.get_state(), state, strict=True))
    assert set(sparse.sample_indices(200) // 10) == {1, 4}


def test_a_training_run_takes_the_lean_paths_and_learns_what_tianshou_alone_teaches(tmp_path, monkeypatch):
    cfg = {
        "game": "tictactoe",
        "network": {"kind": "mlp", "hidden": [32]},
        "env_steps": 384,
        "steps_per_epoch": 192,
        "num_envs": 4,
        "step_per_collect": 32,
        "batch_size": 32,
        "buffer_size": 2000,
        "target_update_freq": 10,
        "eval_games": 10,
        "seed": 2,
        "device": "cpu",
        "fast_env": True,
    }
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return lean_update(*args, **kwargs)

    lean_update = ts.lean_update
    monkeypatch.setattr(ts, "lean_update", counted)
    lean = train(cfg, out_dir=tmp_path / "lean")
    assert len(calls) == 384 // 4  # update_per_step 0.25: every gradient step went the lean way
    # Tianshou's own update, dispatch, minibatch sampling and loss logging:
    monkeypatch.setattr(ts.MarlOffPolicy, "update", MultiAgentOffPolicyAlgorithm.update)
    monkeypatch.setattr(ts.TrainingFlagPolicy, "forward", MultiAgentPolicy.forward)
    monkeypatch.setattr(
        ts.TrainingFlagPolicy, "add_exploration_noise", MultiAgentPolicy.add_exploration_noise
    )
    monkeypatch.setattr(ts.NoNanCheckBuffer, "sample_indices", VectorReplayBuffer.sample_indices)
    log = OffPolicyTrainer._update_moving_avg_stats_and_log_update_data
    monkeypatch.setattr(ts.QuietOffPolicyTrainer, "_update_moving_avg_stats_and_log_update_data", log)
    ref = train(cfg, out_dir=tmp_path / "ref")
    assert len(calls) == 384 // 4
    assert [h["losses"] for h in lean.history] == [h["losses"] for h in ref.history]
    assert [h["win_rate"] for h in lean.history] == [h["win_rate"] for h in ref.history]
    mine = load_checkpoint(lean.checkpoints["player_1"], game="tictactoe")
    theirs = load_checkpoint(ref.checkpoints["player_1"], game="tictactoe")
    for name, tensor in mine.weights.items():
        assert torch.equal(tensor, theirs.weights[name]), name


def test_a_resumed_learner_keeps_its_fused_adam_whatever_the_checkpoint_was_saved_with():
    cfg = TrainConfig.from_dict({"network": {"kind": "mlp", "hidden": [8]}})
    algorithm = _algorithm("tictactoe", ["player_1"], cfg)
    state = ts.agent_state(algorithm, "player_1")
    for group in state["_optimizers"][0]["param_groups"]:
        group["fused"] = None  # as an op-by-op Adam saves it
    fresh = _algorithm("tictactoe", ["player_1"], cfg)
    ts.load_agent_state(fresh, "player_1", state)
    assert [g["fused"] for g in fresh.get_algorithm("player_1").optim._optim.param_groups] == [True]


def test_a_ppo_run_collects_through_the_lean_dispatch_what_tianshous_dispatch_collects(tmp_path, monkeypatch):
    cfg = {
        "game": "tictactoe",
        "algorithm": "ppo",
        "network": {"kind": "mlp", "hidden": [16]},
        "env_steps": 256,
        "steps_per_epoch": 128,
        "num_envs": 4,
        "batch_size": 32,
        "episode_per_collect": 8,
        "eval_games": 10,
        "seed": 3,
        "device": "cpu",
        "fast_env": True,
    }
    lean = train(cfg, out_dir=tmp_path / "lean")
    monkeypatch.setattr(ts.TrainingFlagPolicy, "forward", MultiAgentPolicy.forward)
    monkeypatch.setattr(
        ts.TrainingFlagPolicy, "add_exploration_noise", MultiAgentPolicy.add_exploration_noise
    )
    ref = train(cfg, out_dir=tmp_path / "ref")
    assert [h["episodes"] for h in lean.history] == [h["episodes"] for h in ref.history]
    mine = load_checkpoint(lean.checkpoints["player_1"], game="tictactoe")
    theirs = load_checkpoint(ref.checkpoints["player_1"], game="tictactoe")
    for name, tensor in mine.weights.items():
        assert torch.equal(tensor, theirs.weights[name]), name
