"""Expert iteration (``algorithm: "az"``) at tiny sizes: checkpoints that load, play and resume."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from marl.agents import RandomAgent
from marl.az import window_from
from marl.checkpoints import load_agent, load_checkpoint, seats_served
from marl.errors import CheckpointError, ConfigError
from marl.games import get_game
from marl.match import play_matches
from marl.search import checkpoint_search_agent, network_evaluator
from marl.train import train


def tiny_az(**over: object) -> dict:
    """An az config that trains for a second or two."""
    cfg = {
        "game": "tictactoe",
        "algorithm": "az",
        "opponent": "self",
        "network": {"kind": "mlp", "hidden": [16]},
        "simulations": 8,
        "env_steps": 80,
        "steps_per_epoch": 40,
        "batch_size": 16,
        "eval_games": 4,
        "seed": 3,
        "device": "cpu",
    }
    cfg.update(over)
    return cfg


@pytest.fixture(scope="module")
def az_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("az")
    progress, checkpoints = [], []
    result = train(
        tiny_az(),
        out_dir=out,
        on_progress=progress.append,
        on_checkpoint=lambda seat, path, meta: checkpoints.append((seat, Path(path), meta)),
    )
    return result, progress, checkpoints


def test_a_tiny_az_run_writes_one_checkpoint_per_iteration(az_run):
    result, progress, checkpoints = az_run
    assert result.epochs == 2 and len(progress) == 2
    paths = sorted({path for _, path, _ in checkpoints})
    assert len(paths) == 2
    meta = load_checkpoint(paths[-1]).meta
    assert meta["algorithm"] == "az"
    assert meta["game"] == "tictactoe" and meta["env_id"] == get_game("tictactoe").env_id
    assert meta["network"] == {"kind": "mlp", "hidden": [16]}
    assert meta["env_steps"] == result.env_steps >= 80  # whole games: at least the steps asked for
    assert meta["parent"] == paths[0].name.removesuffix(".safetensors")


def test_az_progress_reports_the_contract_keys_and_per_seat_losses(az_run):
    _, progress, _ = az_run
    last = progress[-1]
    for key in ("epoch", "epochs", "env_steps", "episodes", "win_rate", "losses", "steps_per_second"):
        assert key in last
    assert {"player_1/policy_loss", "player_2/value_loss"} <= set(last["losses"])
    assert all(np.isfinite(v) for v in last["losses"].values())


def test_the_az_checkpoint_plays_greedily_without_an_illegal_move(az_run):
    result, _, _ = az_run
    agent = load_agent(result.checkpoints["player_1"], device="cpu")
    spec = get_game("tictactoe")
    for seat in spec.seats:
        agents = {s: (agent if s == seat else RandomAgent(0)) for s in spec.seats}
        for match in play_matches(spec, agents, list(range(10))):
            assert match.reason != "illegal_move"


def test_the_az_checkpoint_plays_with_search_using_its_value_network(az_run):
    result, _, _ = az_run
    path = result.checkpoints["player_1"]
    assert network_evaluator(path).critic is not None
    searcher = checkpoint_search_agent("tictactoe", path, 16)
    spec = get_game("tictactoe")
    results = play_matches(spec, {"player_1": searcher, "player_2": RandomAgent(1)}, [0, 1])
    assert all(r.reason != "illegal_move" for r in results)
    assert searcher.last_search is not None and searcher.last_search.visits.sum() == 16


def test_an_az_run_resumes_from_its_checkpoint(az_run, tmp_path):
    result, _, _ = az_run
    parent = result.checkpoints["player_1"]
    resumed = train(
        tiny_az(env_steps=result.env_steps + 40), out_dir=tmp_path, resume_from={"player_1": parent}
    )
    assert resumed.epochs == 1 and resumed.env_steps > result.env_steps
    meta = load_checkpoint(resumed.checkpoints["player_1"]).meta
    assert meta["parent"] == parent.name.removesuffix(".safetensors")


def test_resuming_az_with_a_different_network_raises_config_error(az_run, tmp_path):
    result, _, _ = az_run
    with pytest.raises(ConfigError, match="this run is az"):
        train(
            tiny_az(env_steps=500, network={"kind": "mlp", "hidden": [8]}),
            out_dir=tmp_path,
            resume_from={"player_1": result.checkpoints["player_1"]},
        )


def test_az_trains_a_cnn_on_connect_four(tmp_path):
    cnn = {"kind": "cnn", "channels": [4], "hidden": [16]}
    result = train(
        tiny_az(game="connect_four", network=cnn, simulations=4, env_steps=30, steps_per_epoch=30),
        out_dir=tmp_path,
    )
    meta = load_checkpoint(result.checkpoints["player_0"]).meta
    assert meta["game"] == "connect_four" and seats_served(meta) == ["player_0", "player_1"]


def test_an_az_checkpoint_carries_its_replay_window_and_a_resumed_run_learns_from_it(az_run, tmp_path):
    result, *_ = az_run
    parent = load_checkpoint(result.checkpoints["player_1"])
    window = parent.state["window"]
    n = len(window["outcome"])
    # Mirrored positions too, newest last; every stored row a legal position with a policy over it.
    assert n > 0 and tuple(window["obs"].shape) == (n, *get_game("tictactoe").obs_shape)
    assert bool(window["policy"][~window["masks"]].abs().max() == 0)
    resumed = train(
        tiny_az(env_steps=result.env_steps + 40, buffer_size=n + 10_000),
        out_dir=tmp_path,
        resume_from={"player_1": result.checkpoints["player_1"]},
    )
    carried = load_checkpoint(resumed.checkpoints["player_1"]).state["window"]
    # The resumed window starts with the parent's positions, then the new games' positions.
    assert len(carried["outcome"]) > n
    assert bool((carried["obs"][:n] == window["obs"]).all())


def test_a_stored_window_that_does_not_fit_the_game_is_refused(az_run):
    result, *_ = az_run
    parent = load_checkpoint(result.checkpoints["player_1"])
    window = parent.state["window"]
    wrong = {**window, "masks": torch.zeros((len(window["outcome"]), 7), dtype=torch.bool)}  # 7 columns
    stand_in = SimpleNamespace(state={**parent.state, "window": wrong}, meta=parent.meta, path=parent.path)
    with pytest.raises(CheckpointError, match="does not fit tictactoe"):
        window_from(stand_in, buffer_size=100)


def test_az_trains_one_shared_network_whose_value_head_guides_search_and_resumes(tmp_path):
    shared = {"kind": "cnn", "channels": [4], "hidden": [16], "shared": True}
    cfg = tiny_az(game="connect_four", network=shared, simulations=4, env_steps=30, steps_per_epoch=30)
    result = train(cfg, out_dir=tmp_path / "a")
    path = result.checkpoints["player_0"]
    ckpt = load_checkpoint(path)
    assert ckpt.meta["network"] == shared
    # The value head is the critic search finds: the same weights as the policy, answering with values.
    evaluator = network_evaluator(path)
    assert evaluator.critic is not None
    assert all(torch.equal(v, ckpt.state["critic.net." + k]) for k, v in ckpt.weights.items())
    results = play_matches(
        get_game("connect_four"),
        {"player_0": checkpoint_search_agent("connect_four", path, 8), "player_1": RandomAgent(0)},
        [0, 1],
    )
    assert len(results) == 2
    resumed = train({**cfg, "env_steps": 60}, out_dir=tmp_path / "b", resume_from={"player_0": path})
    assert resumed.env_steps >= 60 and load_checkpoint(resumed.checkpoints["player_0"]).meta["parent"]
