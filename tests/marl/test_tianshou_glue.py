"""The Tianshou 2.0.1 defect workarounds in marl._tianshou, each checked on real collected games."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from marl import _tianshou as ts
from marl.bots import make_bot
from marl.games import get_game
from marl.nets import build_network
from marl.train import TrainConfig

SPEC = get_game("tictactoe")


def _random_vs_random(n_episodes: int = 24):
    env = ts.make_env(SPEC)
    policies = [
        ts.FrozenAgentPolicy(env.action_space, [make_bot("tictactoe", "random", seed=i)]) for i in range(2)
    ]
    algo = ts.MarlOnPolicy(algorithms=[ts.FrozenOnPolicy(p) for p in policies], env=env)
    buffer = ts.NoNanCheckBuffer(n_episodes * 9 * 4, 4)
    collector = ts.Collector(algo, ts.make_vector_env(SPEC, 4, seed=0), buffer)
    collector.reset()
    collector.collect(n_episode=n_episodes)
    return buffer, dict(env.agent_idx)


def _episodes(buffer):
    """Row indices of each stored episode, in order."""
    episodes, current = [], []
    for sub in range(buffer.buffer_num):
        start = buffer._offset[sub]
        for i in range(start, start + len(buffer.buffers[sub])):
            current.append(i)
            if buffer.done[i]:
                episodes.append(current)
                current = []
    return episodes


def test_fold_turns_gives_the_loser_its_minus_one_and_its_own_next_observation():
    buffer, agent_idx = _random_vs_random()
    before = [(list(ep), buffer.rew[ep].copy()) for ep in _episodes(buffer)]
    ts.fold_turns(buffer, agent_idx)
    losers_seen = 0
    for rows, rew in before:
        final = rew[-1]
        for i in rows[:-1]:
            mover = buffer.obs.agent_id[i]
            col = agent_idx[mover]
            nxt = i + 1
            # Each row now carries its own reward plus the reply that followed it.
            assert buffer.rew[i, col] == rew[rows.index(i), col] + rew[rows.index(nxt), col]
            if nxt == rows[-1]:
                assert buffer.terminated[i]  # the turn before the end is now terminal too
                if final[col] == -1:
                    losers_seen += 1
                    assert buffer.rew[i, col] == -1
            else:
                assert not buffer.done[i]
                assert buffer.obs_next.agent_id[i] == mover  # bootstraps from its own view
    assert losers_seen > 0


def test_the_training_flag_reaches_every_sub_policy():
    env = ts.make_env(SPEC)
    cfg = TrainConfig.from_dict({"network": {"kind": "mlp", "hidden": [8]}})
    dqn = ts.build_dqn(build_network(cfg.network, SPEC.obs_shape, 9), env, cfg)
    frozen = ts.FrozenOffPolicy(ts.FrozenAgentPolicy(env.action_space, [make_bot("tictactoe", "random")]))
    algo = ts.MarlOffPolicy(algorithms=[dqn, frozen], env=env)
    algo.policy.is_within_training_step = True
    assert dqn.policy.is_within_training_step and frozen.policy.is_within_training_step
    algo.policy.is_within_training_step = False
    assert not dqn.policy.is_within_training_step


def test_the_buffer_skips_the_per_step_deep_copy_nan_check():
    buffer = ts.NoNanCheckBuffer(100, 2)
    assert buffer.hasnull() is False


def test_one_agents_state_loads_into_a_fresh_algorithm():
    env = ts.make_env(SPEC)
    cfg = TrainConfig.from_dict({"network": {"kind": "mlp", "hidden": [8]}})

    def build():
        dqn = ts.build_dqn(build_network(cfg.network, SPEC.obs_shape, 9), env, cfg)
        frozen = ts.FrozenOffPolicy(ts.FrozenAgentPolicy(env.action_space, [make_bot("tictactoe", "random")]))
        return ts.MarlOffPolicy(algorithms=[dqn, frozen], env=env)

    a, b = build(), build()
    state = ts.agent_state(a, "player_1")
    ts.load_agent_state(b, "player_1", state)
    for (k, v), (_, w) in zip(
        a.get_algorithm("player_1").policy.state_dict().items(),
        b.get_algorithm("player_1").policy.state_dict().items(),
        strict=True,
    ):
        assert np.array_equal(v.numpy(), w.numpy()), k


def test_the_flat_train_mode_switch_leaves_every_module_as_the_recursive_walk_does():
    env = ts.make_env(SPEC)
    cfg = TrainConfig.from_dict({"network": {"kind": "mlp", "hidden": [8]}})
    dqn = ts.build_dqn(build_network(cfg.network, SPEC.obs_shape, 9), env, cfg)
    frozen = ts.FrozenOffPolicy(ts.FrozenAgentPolicy(env.action_space, [make_bot("tictactoe", "random")]))
    algo = ts.MarlOffPolicy(algorithms=[dqn, frozen], env=env)
    modules = list(algo.modules())
    walked = {}
    for mode in (True, False):
        nn.Module.train(algo, mode)  # the recursive walk, overrides included
        walked[mode] = [m.training for m in modules]
    assert False in walked[True]  # the target network stays in eval mode while training
    for mode in (False, True, True, False, True):
        algo.train(mode)
        assert [m.training for m in modules] == walked[mode]


def test_the_network_adapters_follow_their_network_to_another_device():
    for wrap in (ts.QNetAdapter, ts.MaskedActor, ts.ObsCritic):
        adapter = wrap(build_network({"kind": "mlp", "hidden": [8]}, SPEC.obs_shape, 9))
        assert adapter._device == torch.device("cpu")
        adapter.to("meta")  # parameters change device without memory, as a move to a GPU would
        assert adapter._device == torch.device("meta")
