"""Monte Carlo CFR by self-play (``algorithm: "mccfr"``): the regret tables, the table policy as the
arena plays it, its checkpoints and its training loop, on real Leduc (our tree and PettingZoo's env)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from marl import regret
from marl.checkpoints import load_agent, read_meta, save_checkpoint
from marl.errors import CheckpointError, ConfigError
from marl.exploitability import CFR_PLUS, UNIFORM, agents_exploitability
from marl.match import play_matches
from marl.poker_bots import leduc_cfr_table
from marl.regret import Mccfr, TableAgent, exploitability_of, info_states
from marl.train import train
from marl.train_config import TrainConfig

SEATS = ("player_0", "player_1")


def _config(**overrides) -> dict:
    return {
        "game": "leduc_holdem",
        "algorithm": "mccfr",
        "opponent": "self",
        "env_steps": 4_000,
        "steps_per_epoch": 2_000,
        "eval_games": 4,
        **overrides,
    }


def test_the_table_has_a_row_for_every_information_state_of_leduc():
    keys = info_states()
    assert len(keys) == 288 and len(set(keys)) == 288
    assert set(keys) == set(leduc_cfr_table())  # the CFR+ solver's states, walked independently


def test_a_table_agent_reads_the_information_state_from_the_moves_as_pettingzoo_shows_them():
    # The shipped CFR+ table as rows: played through the table agent, it is exactly as exploitable.
    cfr = leduc_cfr_table()
    probs = np.array([cfr[key] for key in info_states()])
    agent = TableAgent(probs)
    assert agents_exploitability(dict.fromkeys(SEATS, agent)).value == pytest.approx(CFR_PLUS, abs=1e-5)
    results = play_matches(
        "leduc_holdem", {"player_0": agent, "player_1": TableAgent(probs, seed=1)}, range(30)
    )
    assert len(results) == 30  # through the match loop on PettingZoo's env: every move legal


def test_an_unreached_state_plays_uniformly_over_the_legal_actions():
    agent = TableAgent(np.zeros((288, 4)))
    assert exploitability_of(np.zeros((288, 4))) == pytest.approx(UNIFORM, abs=1e-6)
    obs = np.zeros(36, np.float32)
    obs[0] = obs[6 + 1] = obs[21 + 2] = 1  # a jack, 1 chip in (small blind), 2 for the other
    mask = np.array([1, 1, 1, 0], np.int8)
    assert list(agent.action_probabilities(obs, mask, [])) == [1, 1, 1, 0]


def test_mccfr_self_play_cuts_the_exploitability_of_random_by_two_thirds_in_a_few_thousand_hands():
    learner, rng = Mccfr(), np.random.default_rng(0)
    for _ in range(4_000):
        learner.iterate(rng)
    policy = learner.average_policy()
    value = exploitability_of(policy)
    assert value < UNIFORM / 3, value
    assert (learner.regret >= 0).all()  # regret matching+: floored at zero
    # Probabilities only on legal actions: every row sums to one or is unreached (zero).
    assert np.all(np.isclose(policy.sum(axis=1), 1.0) | (policy.sum(axis=1) == 0))


def test_training_writes_one_table_for_both_seats_and_resumes_from_its_regrets(tmp_path: Path):
    progress: list[dict] = []
    result = train(_config(), out_dir=tmp_path / "a", on_progress=progress.append)
    assert [p["epoch"] for p in progress] == [1, 2] and result.env_steps >= 4_000
    assert result.checkpoints["player_0"] == result.checkpoints["player_1"]
    assert 0 < progress[-1]["exploitability"] < UNIFORM
    assert progress[-1]["seats"]["player_0"]["games"] == 4  # evaluated against random, not trained on it
    meta = read_meta(result.checkpoints["player_0"])
    assert meta["network"] == {"kind": "table", "states": 288} and meta["seats"] == list(SEATS)
    agent = load_agent(result.checkpoints["player_0"])
    assert isinstance(agent, TableAgent)
    assert exploitability_of(agent.probs) == pytest.approx(progress[-1]["exploitability"], abs=1e-6)

    resumed: list[dict] = []
    more = train(
        _config(env_steps=8_000),
        out_dir=tmp_path / "b",
        resume_from=result.checkpoints,
        on_progress=resumed.append,
    )
    assert resumed[0]["env_steps"] > result.env_steps and more.env_steps >= 8_000
    child = read_meta(resumed[0]["checkpoints"]["player_0"])  # the resumed run's first table
    assert child["parent"] == Path(result.checkpoints["player_0"]).name[: -len(".safetensors")]


def test_training_never_plays_a_bot(tmp_path: Path, monkeypatch):
    import marl.bots

    def refuse(*args, **kwargs):
        raise AssertionError("mccfr self-play asked for a bot")

    monkeypatch.setattr(marl.bots, "make_bot", refuse)
    train(_config(eval_games=0, env_steps=2_000), out_dir=tmp_path)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"game": "tictactoe"}, "mccfr needs a game whose information states it can walk"),
        ({"opponent": "random"}, "learns by self-play only"),
        ({"network": {"kind": "mlp", "hidden": [8]}}, "an mccfr policy is a table"),
        ({"network": {"kind": "table", "states": 5}}, "an mccfr policy is a table"),
    ],
)
def test_a_bad_mccfr_config_is_refused_with_a_clear_error(overrides, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict(_config(**overrides))


def _save(tmp_path: Path, weights: torch.Tensor, state: dict | None = None) -> Path:
    meta = {
        "game": "leduc_holdem",
        "env_id": "leduc_holdem_v4",
        "algorithm": "mccfr",
        "network": {"kind": "table", "states": 288},
        "agent_id": "player_0",
        "env_steps": 10,
    }
    return save_checkpoint(tmp_path, "t", weights={regret.WEIGHTS_KEY: weights}, state=state, meta=meta)


def test_a_table_of_the_wrong_shape_is_refused_on_load(tmp_path: Path):
    path = _save(tmp_path, torch.zeros(287, 4))
    with pytest.raises(CheckpointError, match="average_policy is"):
        load_agent(path)


def test_resuming_from_negative_regrets_is_refused(tmp_path: Path):
    state = {
        "regret": -torch.ones(288, 4, dtype=torch.float64),
        "strategy_sum": torch.zeros(288, 4, dtype=torch.float64),
    }
    path = _save(tmp_path, torch.zeros(288, 4), state)
    with pytest.raises(CheckpointError, match="negative or non-finite"):
        train(_config(), out_dir=tmp_path / "out", resume_from={"player_0": path})
