"""Training with real PettingZoo envs and real Tianshou, at tiny step counts (a few seconds each)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from marl.bots import make_bot
from marl.checkpoints import load_agent, load_checkpoint, read_meta
from marl.errors import ConfigError
from marl.games import get_game
from marl.match import play_match, play_matches
from marl.train import TrainConfig, train

PROGRESS_KEYS = {
    "epoch",
    "epochs",
    "env_steps",
    "total_env_steps",
    "episodes",
    "win_rate",
    "draw_rate",
    "loss_rate",
    "mean_return",
    "losses",
    "steps_per_second",
}


def tiny(**over: object) -> dict:
    """A config that trains for a couple of seconds."""
    cfg = {
        "game": "tictactoe",
        "network": {"kind": "mlp", "hidden": [32]},
        "env_steps": 256,
        "steps_per_epoch": 128,
        "num_envs": 4,
        "step_per_collect": 32,
        "batch_size": 32,
        "buffer_size": 2000,
        "episode_per_collect": 8,
        "eval_games": 10,
        "seed": 1,
        "device": "cpu",
    }
    cfg.update(over)
    return cfg


@pytest.fixture(scope="module")
def dqn_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dqn")
    progress, checkpoints = [], []

    def on_checkpoint(agent_id, path, meta):
        assert Path(path).exists() and Path(path).with_suffix(".json").exists()
        checkpoints.append((agent_id, Path(path), meta))

    result = train(tiny(), out_dir=out, on_progress=progress.append, on_checkpoint=on_checkpoint)
    return result, progress, checkpoints, out


def test_a_tiny_dqn_run_writes_a_checkpoint_per_epoch_for_the_learning_seat(dqn_run):
    result, progress, checkpoints, out = dqn_run
    assert result.epochs == 2 and not result.stopped and result.env_steps >= 256
    assert [c[0] for c in checkpoints] == ["player_1", "player_1"]
    assert sorted(p.name for p in out.glob("*.json")) == [f"{c[1].stem}.json" for c in checkpoints]
    first, second = (c[2] for c in checkpoints)
    assert first["parent"] is None and second["parent"] == checkpoints[0][1].stem
    assert second["algorithm"] == "dqn" and second["env_steps"] == result.env_steps
    assert result.checkpoints == {"player_1": checkpoints[-1][1]}
    assert load_checkpoint(result.checkpoints["player_1"], game="tictactoe").state is not None


def test_progress_reports_the_contract_keys_and_per_agent_losses(dqn_run):
    _, progress, _, _ = dqn_run
    assert len(progress) == 2
    for p in progress:
        assert set(p) >= PROGRESS_KEYS
        assert p["epochs"] == 2 and p["total_env_steps"] == 256
        assert "player_1/loss" in p["losses"] and math.isfinite(p["losses"]["player_1/loss"])
        assert math.isclose(p["win_rate"] + p["draw_rate"] + p["loss_rate"], 1.0)
        assert p["steps_per_second"] > 0 and p["episodes"] > 0
    assert progress[0]["env_steps"] < progress[1]["env_steps"]
    assert json.loads(json.dumps(progress)) == progress  # plain JSON values, ready for the web app


def test_a_tiny_ppo_run_trains_and_its_agent_never_plays_an_illegal_move(tmp_path):
    progress = []
    result = train(tiny(algorithm="ppo"), out_dir=tmp_path, on_progress=progress.append)
    assert result.epochs >= 2 and "player_1/loss" in progress[-1]["losses"]
    assert read_meta(result.checkpoints["player_1"])["algorithm"] == "ppo"
    agent = load_agent(result.checkpoints["player_1"], device="cpu")
    assert agent.kind == "logits"
    results = play_matches("tictactoe", {"player_1": agent, "player_2": load_agent_random()}, list(range(30)))
    assert all(r.reason != "illegal_move" for r in results)


def load_agent_random():

    return make_bot("tictactoe", "random", seed=0)


def test_the_ppo_actor_samples_only_legal_moves_while_training():
    from marl import _tianshou as ts
    from marl.games import get_game
    from marl.nets import build_critic, build_network

    spec = get_game("tictactoe")
    env = ts.make_env(spec)
    cfg = TrainConfig.from_dict(tiny(algorithm="ppo"))
    ppo = ts.build_ppo(
        build_network(cfg.network, spec.obs_shape, 9), build_critic(cfg.network, spec.obs_shape), env, cfg
    )
    rng = np.random.default_rng(0)
    masks = rng.random((256, 9)) < 0.3
    masks[np.arange(256), rng.integers(0, 9, 256)] = True
    obs = ts.Batch(
        obs=ts.Batch(
            agent_id=np.array(["player_1"] * 256), obs=rng.integers(0, 2, (256, 3, 3, 2)), mask=masks
        ),
        info={},
    )
    ppo.policy.is_within_training_step = True  # sampling, not argmax
    for _ in range(5):
        act = ppo.policy(obs).act
        assert masks[np.arange(256), np.asarray(act)].all()


def test_should_stop_stops_the_run_at_the_first_epoch_boundary(tmp_path):
    written = []
    result = train(
        tiny(env_steps=512),
        out_dir=tmp_path,
        should_stop=lambda: True,
        on_checkpoint=lambda a, p, m: written.append(p),
    )
    assert result.stopped and result.epochs == 1 and len(written) == 1
    assert result.env_steps < 512 and written[0].exists()


def test_resume_continues_from_the_checkpoint_env_steps_and_records_its_parent(dqn_run, tmp_path):
    first, _, _, _ = dqn_run
    parent = first.checkpoints["player_1"]
    parent_meta = read_meta(parent)
    parent_adam_steps = load_checkpoint(parent).state["_optimizers"][0]["state"][0]["step"].item()
    progress = []
    result = train(
        tiny(env_steps=parent_meta["env_steps"] + 128),
        out_dir=tmp_path,
        resume_from={"player_1": parent},
        on_progress=progress.append,
    )
    assert result.epochs == 1 and progress[0]["env_steps"] > parent_meta["env_steps"]
    child = load_checkpoint(result.checkpoints["player_1"])
    assert child.meta["parent"] == parent.stem and child.meta["parent_sha256"] == parent_meta["sha256"]
    assert child.meta["env_steps"] == result.env_steps >= parent_meta["env_steps"] + 128
    # The optimizer state came along: Adam keeps counting from the parent's step.
    assert child.state["_optimizers"][0]["state"][0]["step"].item() > parent_adam_steps


def test_a_finished_run_resumed_with_no_steps_left_does_nothing(dqn_run, tmp_path):
    first, _, _, _ = dqn_run
    result = train(tiny(), out_dir=tmp_path, resume_from={"player_1": first.checkpoints["player_1"]})
    assert result.epochs == 0 and result.checkpoints == {} and list(tmp_path.iterdir()) == []


def test_both_seats_learning_writes_checkpoints_for_both(tmp_path):
    progress = []
    result = train(tiny(learn_seats="both", env_steps=128), out_dir=tmp_path, on_progress=progress.append)
    assert set(result.checkpoints) == {"player_1", "player_2"}
    assert {"player_1/loss", "player_2/loss"} <= set(progress[-1]["losses"])
    assert set(progress[-1]["seats"]) == {"player_1", "player_2"}


def test_a_pool_opponent_from_a_saved_checkpoint_works(dqn_run, tmp_path):
    first, _, _, _ = dqn_run
    pool = [str(first.checkpoints["player_1"]), "random"]
    cfg = tiny(learn_seats=["player_2"], opponent="pool", pool=pool, pool_weights=[0.7, 0.3], env_steps=128)
    progress = []
    result = train(cfg, out_dir=tmp_path, on_progress=progress.append)
    assert set(result.checkpoints) == {"player_2"}
    assert progress[-1]["seats"]["player_2"]["games"] == 10  # split over both pool members
    assert "player_2/loss" in progress[-1]["losses"]


def test_a_config_round_trips_through_to_dict():
    cfg = TrainConfig.from_dict(tiny(learn_seats="both"))
    assert cfg.learn_seats == ["player_1", "player_2"]
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"colour": "red"}, "unknown training config keys"),
        ({"game": "chess960"}, "unknown game"),
        ({"algorithm": "sac"}, "algorithm must be one of"),
        ({"lr": float("nan")}, "lr must be finite"),
        ({"gamma": float("inf")}, "gamma must be finite"),
        ({"env_steps": -5}, "env_steps must be in"),
        ({"num_envs": 100_000}, "num_envs must be in"),
        ({"batch_size": 1.5}, "batch_size must be an integer"),
        ({"eval_games": True}, "eval_games must be an integer"),
        ({"n_step": 3}, "n_step must be a multiple of 2"),
        ({"update_per_step": 0.001}, "rounds to 0"),
        ({"learn_seats": ["player_9"]}, "not seats of tictactoe"),
        ({"opponent": "deep_blue"}, "neither 'pool' nor a bot"),
        ({"opponent": "pool"}, "non-empty pool"),
        ({"opponent": "pool", "pool": ["/nonexistent/ckpt.safetensors"]}, "nor an existing checkpoint"),
        ({"learn_seats": "both", "opponent": "pool", "pool": ["random"]}, "does not learn"),
        ({"network": {"kind": "transformer"}}, "network kind"),
        ({"network": {"kind": "mlp", "hidden": [0]}}, "widths"),
        ({"algorithm": "ppo", "episode_per_collect": 2}, "episode_per_collect"),
        ({"device": "tpu"}, "device must be"),
    ],
)
def test_bad_configs_raise_config_error(override, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict(tiny(**override))


def test_resuming_with_a_different_network_raises_config_error(dqn_run, tmp_path):
    first, _, _, _ = dqn_run
    cfg = tiny(network={"kind": "mlp", "hidden": [64]}, env_steps=1000)
    with pytest.raises(ConfigError, match="this run is dqn"):
        train(cfg, out_dir=tmp_path, resume_from={"player_1": first.checkpoints["player_1"]})


def test_torch_is_seeded_from_the_config(tmp_path):
    train(tiny(env_steps=32, steps_per_epoch=32, eval_games=0, seed=5), out_dir=tmp_path)
    a = torch.rand(1)
    train(tiny(env_steps=32, steps_per_epoch=32, eval_games=0, seed=5), out_dir=tmp_path / "b")
    assert torch.equal(a, torch.rand(1))


@pytest.mark.slow
@pytest.mark.parametrize("game", ["go9", "chess"])
@pytest.mark.parametrize("algorithm", ["dqn", "ppo"])
def test_big_boards_train_and_their_checkpoint_plays_a_whole_game_one_move_at_a_time(
    tmp_path, game: str, algorithm: str
):
    # Chess observations arrive as flipped views (negative strides): acting on one must still work.
    over = {"game": game, "algorithm": algorithm, "env_steps": 128, "steps_per_epoch": 128}
    result = train(tiny(**over, buffer_size=500, eval_games=2), out_dir=tmp_path)
    (path, *_) = result.checkpoints.values()
    assert read_meta(path)["game"] == game and read_meta(path)["algorithm"] == algorithm
    first, second = get_game(game).seats
    agent, opponent = load_agent(path, device="cpu"), make_bot(game, "random", seed=0)
    for seats in ({first: agent, second: opponent}, {first: opponent, second: agent}):
        outcome = play_match(game, seats, seed=3)
        assert outcome.reason != "illegal_move" and len(outcome.moves) > 10


def test_a_bot_that_reads_the_move_history_is_refused_as_a_training_opponent_but_may_evaluate() -> None:
    for config in ({"opponent": "cfr"}, {"opponent": "pool", "pool": ["random", "cfr"]}):
        with pytest.raises(ConfigError, match="bot 'cfr' reads the move history"):
            TrainConfig.from_dict({"game": "leduc_holdem", **config})
    assert TrainConfig.from_dict({"game": "leduc_holdem", "opponent": "cfr", "learn_seats": "both"})
    assert TrainConfig.is_training_bot("leduc_holdem", "call")
    assert not TrainConfig.is_training_bot("leduc_holdem", "cfr")
