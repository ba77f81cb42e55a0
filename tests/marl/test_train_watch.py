"""Sampled training games for a watcher: plain values out of `train`, every few seconds, changing nothing."""

from __future__ import annotations

import json

from marl.agents import RandomAgent
from marl.games import get_game
from marl.train import train
from marl.train_watch import GameSampler
from tests.marl.test_az import tiny_az
from tests.marl.test_train import tiny

PLAIN = (dict, list, str, int, float, bool, type(None))


def plain_only(value: object) -> bool:
    """Whether `value` is built of JSON's own types all the way down (no numpy, no tensors)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain_only(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain_only(v) for v in value)
    return type(value) in PLAIN


def check_game(game: dict, seats: tuple[str, ...]) -> None:
    assert plain_only(game) and json.loads(json.dumps(game)) == game
    states, moves = game["states"], game["result"]["moves"]
    assert len(states) == len(moves) + 1
    assert [s["ply"] for s in states] == list(range(len(states)))
    assert states[0]["moves"] == [] and states[-1]["moves"] == moves
    assert states[-1]["result"] is not None and all(s["result"] is None for s in states[:-1])
    assert set(game["players"]) == set(seats)


def test_a_dqn_run_hands_its_sampler_a_game_of_plain_values_at_once(tmp_path):
    games: list[dict] = []
    train(tiny(), out_dir=tmp_path, on_sample=games.append, sample_every_s=3600)
    assert len(games) == 1  # the first is due at once; the next only an hour later
    game = games[0]
    check_game(game, ("player_1", "player_2"))
    assert game["game"] == "tictactoe" and game["render_hint"] == "tictactoe"
    assert game["number"] == 1 and game["env_steps"] == 0
    assert game["players"] == {"player_1": "this run (greedy)", "player_2": "random"}


def test_with_no_interval_a_game_is_sampled_before_every_collect(tmp_path):
    games: list[dict] = []
    config = tiny(env_steps=128, eval_games=0)  # 4 collects of 32 steps
    train(config, out_dir=tmp_path, on_sample=games.append, sample_every_s=0)
    assert [g["number"] for g in games] == [1, 2, 3, 4]
    assert [g["env_steps"] for g in games] == [0, 32, 64, 96]
    for game in games:
        check_game(game, ("player_1", "player_2"))


def test_an_az_run_hands_out_one_of_its_own_self_play_games(tmp_path):
    games: list[dict] = []
    train(tiny_az(), out_dir=tmp_path, on_sample=games.append, sample_every_s=3600)
    assert len(games) == 1
    check_game(games[0], ("player_1", "player_2"))
    assert set(games[0]["players"].values()) == {"this run (self-play with search)"}


def test_a_sampler_that_fails_stops_sampling_and_the_run_trains_on(tmp_path):
    calls: list[int] = []

    def on_sample(game: dict) -> None:
        calls.append(game["number"])
        raise OSError("the watcher went away")

    result = train(tiny(env_steps=128, eval_games=0), out_dir=tmp_path, on_sample=on_sample, sample_every_s=0)
    assert calls == [1] and result.env_steps == 128 and result.checkpoints


def test_the_sampler_plays_again_only_after_its_interval():
    now = [100.0]
    games: list[dict] = []
    spec = get_game("connect_four")
    sampler = GameSampler(spec, games.append, every_s=5, seed=2, clock=lambda: now[0])
    agents = {seat: RandomAgent(0) for seat in spec.seats}
    players = {seat: "random" for seat in spec.seats}
    assert sampler.due()
    sampler.play(agents, players=players, env_steps=10)
    now[0] += 4.9
    assert not sampler.due()
    now[0] += 0.1
    assert sampler.due()
    sampler.play(agents, players=players, env_steps=20)
    assert [(g["number"], g["env_steps"]) for g in games] == [(1, 10), (2, 20)]
    for game in games:
        check_game(game, spec.seats)
    assert games[0]["result"]["moves"] != games[1]["result"]["moves"]  # each game its own seed
