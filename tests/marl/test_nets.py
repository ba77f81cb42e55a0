"""Network specs: the CNN option builds, trains with DQN and PPO, and round-trips through a checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from marl.checkpoints import load_agent, load_checkpoint, read_meta
from marl.errors import CheckpointError, ConfigError
from marl.fastgames import ConnectFour, TicTacToe
from marl.match import play_matches
from marl.nets import CNN, TwoHeads, build_critic, build_network, network_parameters, validate_network_spec
from marl.search import SearchAgent, network_evaluator
from marl.train import train

CNN_SPEC = {"kind": "cnn", "channels": [8, 8], "hidden": [32]}


def test_a_cnn_spec_is_normalized_with_its_defaults() -> None:
    assert validate_network_spec({"kind": "cnn"}) == {"kind": "cnn", "channels": [32, 32], "hidden": [128]}
    assert validate_network_spec({**CNN_SPEC, "activation": "tanh"})["activation"] == "tanh"


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "cnn", "channels": []},
        {"kind": "cnn", "channels": [8, True]},
        {"kind": "cnn", "channels": [1000]},
        {"kind": "cnn", "channels": "8"},
        {"kind": "mlp", "channels": [8]},
        {"kind": "cnn", "filters": [8]},
        {"kind": "transformer"},
    ],
)
def test_a_bad_network_spec_is_rejected(spec: dict) -> None:
    with pytest.raises(ConfigError):
        validate_network_spec(spec)


def test_a_cnn_needs_board_shaped_observations() -> None:
    with pytest.raises(ConfigError, match="rows, cols, planes"):
        build_network(CNN_SPEC, (18,), 9)


def test_the_cnn_reads_channels_last_boards_and_scores_every_action() -> None:
    torch.manual_seed(0)
    net = build_network(CNN_SPEC, (6, 7, 2), 7)
    assert isinstance(net, CNN)
    boards = torch.as_tensor(np.stack([ConnectFour().observation()] * 5))  # int8, as PettingZoo sends them
    assert net(boards).shape == (5, 7) and build_critic(CNN_SPEC, (6, 7, 2))(boards).shape == (5, 1)
    # A piece in the corner changes the output: the board is read cell by cell, not ignored.
    moved = boards.clone()
    moved[0, 5, 0, 0] = 1
    assert not torch.allclose(net(boards)[0], net(moved)[0])


def _tiny(algorithm: str) -> dict:
    return {
        "game": "tictactoe",
        "algorithm": algorithm,
        "network": CNN_SPEC,
        "env_steps": 128,
        "steps_per_epoch": 128,
        "num_envs": 4,
        "step_per_collect": 32,
        "batch_size": 32,
        "buffer_size": 1000,
        "episode_per_collect": 8,
        "eval_games": 4,
        "seed": 2,
        "device": "cpu",
    }


@pytest.mark.parametrize("algorithm", ["dqn", "ppo"])
def test_a_cnn_trains_and_round_trips_through_a_checkpoint(algorithm: str, tmp_path) -> None:
    progress: list[dict] = []
    result = train(_tiny(algorithm), out_dir=tmp_path, on_progress=progress.append)
    path = result.checkpoints["player_1"]
    assert np.isfinite(progress[-1]["losses"]["player_1/loss"])
    assert read_meta(path)["network"] == CNN_SPEC
    ckpt = load_checkpoint(path, game="tictactoe")
    assert any(key.startswith("convs.") for key in ckpt.weights)
    agent = load_agent(path, device="cpu")
    assert isinstance(agent.network, CNN)
    opponent = load_agent(path, device="cpu")
    results = play_matches("tictactoe", {"player_1": agent, "player_2": opponent}, [0, 1])
    assert all(r.reason != "illegal_move" for r in results)
    evaluator = network_evaluator(path)
    assert (evaluator.critic is not None) == (algorithm == "ppo")  # PPO's critic comes from the state
    searched = SearchAgent("tictactoe", evaluator, 30).search(
        TicTacToe().observation(), TicTacToe().legal_mask()
    )
    assert searched.visits.sum() == 30 and -1.0 <= searched.root_value <= 1.0


def test_a_checkpoint_whose_spec_does_not_fit_its_weights_is_rejected(tmp_path) -> None:
    result = train(_tiny("dqn"), out_dir=tmp_path)
    sidecar = result.checkpoints["player_1"].with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    meta["network"] = {**CNN_SPEC, "channels": [16, 8]}
    sidecar.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="convs.0.weight"):
        load_checkpoint(sidecar)


SHARED_CNN = {**CNN_SPEC, "shared": True}


def test_a_shared_spec_keeps_shared_and_drops_it_when_false() -> None:
    assert validate_network_spec(SHARED_CNN)["shared"] is True
    assert "shared" not in validate_network_spec({**CNN_SPEC, "shared": False})
    with pytest.raises(ConfigError, match="shared"):
        validate_network_spec({**CNN_SPEC, "shared": "yes"})


@pytest.mark.parametrize("spec", [SHARED_CNN, {"kind": "mlp", "hidden": [16, 8], "shared": True}])
def test_a_shared_network_is_one_body_whose_critic_is_its_value_head(spec: dict) -> None:
    torch.manual_seed(0)
    net = build_network(spec, (6, 7, 2), 7)
    assert isinstance(net, TwoHeads)
    assert network_parameters(spec, (6, 7, 2), 7) == sum(p.numel() for p in net.parameters())
    critic = build_critic(spec, (6, 7, 2), 7)
    critic.load_state_dict(net.state_dict())  # the policy's weights, under the same names
    boards = torch.as_tensor(np.stack([ConnectFour().observation()] * 3))
    logits, values = net.heads(boards)
    assert torch.allclose(net(boards), logits) and torch.allclose(critic(boards), values)
    assert values.shape == (3, 1)
    with pytest.raises(ConfigError, match="number of actions"):
        build_critic(spec, (6, 7, 2))
