"""Pure self-play: no bot in training, one network for every seat, and the self-play data itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import marl.bots
import marl.train_eval
from marl.checkpoints import load_agent, read_meta, seats_served
from marl.errors import ConfigError
from marl.fastgames import fast_game
from marl.games import get_game
from marl.match import play_match
from marl.nets import TwoHeads, build_critic, build_network
from marl.search import MCTS, NetworkEvaluator
from marl.selfplay import CachedNetworkEvaluator, Positions, SelfPlay, numpy_forward, numpy_heads
from marl.train import TrainConfig, main, train


@pytest.fixture
def no_bots(monkeypatch):
    """Any request for a bot (random included) fails the test: self-play must never ask for one."""

    def refuse(game: str, name: str, seed: int | None = None) -> None:
        raise AssertionError(f"self-play asked for the bot {name!r}")

    monkeypatch.setattr(marl.bots, "make_bot", refuse)
    monkeypatch.setattr(marl.train_eval, "make_bot", refuse)


def az_config(**over: object) -> dict:
    cfg = {
        "game": "tictactoe",
        "algorithm": "az",
        "opponent": "self",
        "network": {"kind": "mlp", "hidden": [16]},
        "simulations": 6,
        "env_steps": 40,
        "steps_per_epoch": 40,
        "batch_size": 16,
        "eval_games": 0,
        "device": "cpu",
    }
    cfg.update(over)
    return cfg


def test_az_self_play_training_never_asks_for_a_bot(no_bots, tmp_path):
    result = train(az_config(), out_dir=tmp_path)
    assert result.env_steps >= 40


@pytest.mark.parametrize("algorithm", ["dqn", "ppo"])
def test_dqn_and_ppo_self_play_never_ask_for_a_bot_and_learn_in_every_seat(no_bots, tmp_path, algorithm):
    cfg = {
        "game": "tictactoe",
        "algorithm": algorithm,
        "opponent": "self",
        "network": {"kind": "mlp", "hidden": [16]},
        "env_steps": 64,
        "steps_per_epoch": 64,
        "num_envs": 2,
        "step_per_collect": 16,
        "batch_size": 16,
        "episode_per_collect": 2,
        "eval_games": 0,
        "device": "cpu",
    }
    result = train(cfg, out_dir=tmp_path)
    assert result.config.learn_seats == ["player_1", "player_2"]
    assert set(result.checkpoints) == {"player_1", "player_2"}


def test_one_shared_network_plays_both_seats(tmp_path):
    result = train(az_config(), out_dir=tmp_path)
    assert result.checkpoints["player_1"] == result.checkpoints["player_2"]
    meta = read_meta(result.checkpoints["player_1"])
    assert meta["seats"] == ["player_1", "player_2"] and seats_served(meta) == ["player_1", "player_2"]
    agent = load_agent(result.checkpoints["player_1"], device="cpu")
    match = play_match("tictactoe", {"player_1": agent, "player_2": agent}, seed=0)
    assert match.reason != "illegal_move" and len(match.moves) >= 5


def test_a_checkpoint_without_seats_serves_its_agent_id():
    assert seats_served({"agent_id": "player_2"}) == ["player_2"]


def test_the_command_line_trains_by_self_play(tmp_path, capsys):
    argv = [
        "--game",
        "tictactoe",
        "--algo",
        "az",
        "--opponent",
        "self",
        "--steps",
        "30",
        "--out",
        str(tmp_path),
    ]
    argv += ["--eval-games", "0", "--set", "simulations=4", 'network={"kind": "mlp", "hidden": [8]}']
    assert main(argv) == 0
    assert "az on tictactoe" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"algorithm": "az", "opponent": "random"}, "self-play only"),
        ({"opponent": "self", "learn_seats": "player_1"}, "every seat learns"),
        ({"opponent": "self", "pool": ["random"]}, "plays no pool"),
    ],
)
def test_bad_self_play_configs_raise_config_error(override, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict({"game": "tictactoe", **override})


def untrained_evaluator(game: str) -> CachedNetworkEvaluator:
    spec = get_game(game)
    torch.manual_seed(0)
    return CachedNetworkEvaluator(
        build_network({"kind": "mlp", "hidden": [16]}, spec.obs_shape, spec.n_actions),
        build_critic({"kind": "mlp", "hidden": [16]}, spec.obs_shape),
    )


@pytest.mark.parametrize("game", ["tictactoe", "connect_four"])
def test_a_self_play_game_records_visit_shares_and_the_movers_outcomes(game):
    cfg = TrainConfig.from_dict(az_config(game=game, simulations=10))
    positions = SelfPlay(cfg, untrained_evaluator(game), np.random.default_rng(0)).game()
    assert np.allclose(positions.policy.sum(axis=1), 1.0)
    assert not (positions.policy[~positions.masks] > 0).any()
    last = positions.outcome[-1]
    # The seats alternate, so the outcome flips sign from one move to the next (all zero for a draw).
    assert np.array_equal(positions.outcome[::-1], last * (-1.0) ** np.arange(len(positions)))
    assert last in (0.0, 1.0)  # the last mover won or drew


@pytest.mark.parametrize("game", ["tictactoe", "connect_four"])
def test_mirrored_positions_are_the_game_played_in_the_mirror(game):
    core, mirror = (
        fast_game(game),
        (2, 1, 0, 5, 4, 3, 8, 7, 6) if game == "tictactoe" else (6, 5, 4, 3, 2, 1, 0),
    )
    moves = [0, 1, 5] if game == "tictactoe" else [0, 0, 1, 6]
    plain, reflected = core(), core()
    for move in moves:
        plain.play(move)
        reflected.play(mirror[move])
    policy = np.zeros((1, core.n_actions), dtype=np.float32)
    policy[0, moves[0]] = 1.0
    positions = Positions(
        plain.observation()[None], plain.legal_mask()[None].astype(bool), policy, np.zeros(1)
    )
    flipped = positions.mirrored(game)
    assert np.array_equal(flipped.obs[0], reflected.observation())
    assert np.array_equal(flipped.masks[0], reflected.legal_mask().astype(bool))
    assert flipped.policy[0, mirror[moves[0]]] == 1.0


def test_the_cached_evaluator_agrees_with_the_network_evaluator():
    cached = untrained_evaluator("connect_four")
    plain = NetworkEvaluator(cached.policy, "logits", cached.value)
    game = fast_game("connect_four")()
    for move in (3, 3, 2):
        game.play(move)
    actions = game.legal_actions()
    for _ in range(2):  # the second call is a cache hit
        prior, value = cached.evaluate(game, actions)
        expected_prior, expected_value = plain.evaluate(game, actions)
        assert np.allclose(prior, expected_prior) and value == pytest.approx(expected_value)
    assert len(cached.cache) == 1


def test_root_noise_reshapes_the_root_prior_of_a_network_search():
    game = fast_game("tictactoe")()
    actions = game.legal_actions()
    one_hot = [1.0 if a == 7 else 0.0 for a in actions]
    result = MCTS(untrained_evaluator("tictactoe"), 1).search(game, actions, root_noise=lambda prior: one_hot)
    assert result.visits[7] == 1 and result.visits.sum() == 1


def _games(random_move_frac: float, n: int = 12) -> set[bytes]:
    """The distinct move sequences (as observation bytes) of ``n`` greedy self-play games."""
    cfg = TrainConfig.from_dict(
        az_config(simulations=8, temperature_moves=0, dirichlet_frac=0.0, random_move_frac=random_move_frac)
    )
    play = SelfPlay(cfg, untrained_evaluator("tictactoe"), np.random.default_rng(1))
    return {play.game().obs.tobytes() for _ in range(n)}


def test_random_moves_in_self_play_vary_games_that_greedy_search_repeats():
    assert len(_games(0.0)) == 1  # no noise, no sampling: one game, again and again
    assert len(_games(0.5)) > 6
    with pytest.raises(ConfigError, match="random_move_frac"):
        TrainConfig.from_dict(az_config(random_move_frac=1.5))


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "cnn", "channels": [4, 3], "hidden": [8, 6]},
        {"kind": "cnn", "channels": [4], "hidden": [8], "shared": True},
        {"kind": "mlp", "hidden": [8], "shared": True, "activation": "tanh"},
    ],
)
def test_the_numpy_forward_of_cnns_and_shared_networks_matches_torch(spec):
    torch.manual_seed(1)
    net = build_network(spec, (6, 7, 2), 7)
    game = fast_game("connect_four")()
    for move in (3, 3, 2, 0, 6):  # pieces off the centre line: a flipped axis would change the output
        game.play(move)
    obs = game.observation().astype(np.float32)
    with torch.inference_mode():
        expected = net(torch.as_tensor(obs[None]))[0].numpy()
    assert np.allclose(numpy_forward(net)(obs.reshape(-1)), expected, atol=1e-5)
    if isinstance(net, TwoHeads):
        with torch.inference_mode():
            value = net.heads(torch.as_tensor(obs[None]))[1][0].numpy()
        logits, got = numpy_heads(net)(obs.reshape(-1))
        assert np.allclose(logits, expected, atol=1e-5) and np.allclose(got, value, atol=1e-5)


def test_a_cached_evaluator_of_a_shared_network_reads_prior_and_value_from_its_two_heads():
    spec = {"kind": "cnn", "channels": [4], "hidden": [8], "shared": True}
    torch.manual_seed(2)
    net = build_network(spec, (6, 7, 2), 7)
    critic = build_critic(spec, (6, 7, 2), 7)
    critic.load_state_dict(net.state_dict())
    cached, plain = CachedNetworkEvaluator(net), NetworkEvaluator(net, "logits", critic)
    game = fast_game("connect_four")()
    game.play(1)
    actions = game.legal_actions()
    prior, value = cached.evaluate(game, actions)
    expected_prior, expected_value = plain.evaluate(game, actions)
    assert np.allclose(prior, expected_prior) and value == pytest.approx(expected_value, abs=1e-5)
    with pytest.raises(TypeError, match="TwoHeads"):
        CachedNetworkEvaluator(build_network({"kind": "mlp", "hidden": [8]}, (6, 7, 2), 7))
