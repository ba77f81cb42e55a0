"""A game to watch while a run trains, handed out as plain JSON values.

Every ``every_s`` seconds of wall time the training loop offers the sampler a game: DQN and PPO runs
play one through ``marl.match.play_match`` (the current greedy policy against the run's training
opponent, or against itself in self-play); az runs hand over one of their own self-play games, which
is replayed here move by move. The callback gets the whole game at once, every position included, and
training goes on: pacing the positions for a viewer is the receiver's business. A tic-tac-toe game
costs about a millisecond, so at one game per few seconds the sampler costs training well under 1%
(``bench/bench_train_watch.py`` measures it).
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from marl.agents import PolicyAgent
from marl.games import GameSpec
from marl.match import AgentsBySeat, MatchState, Step, derive_seed, play_match

logger = logging.getLogger(__name__)
SAMPLE_EVERY_S = 5.0
# Stream index of the sampled games' seeds (training and evaluation use other seeds).
_SAMPLE_STREAM = 3_000_017
SampleFn = Callable[[dict[str, Any]], None]


class GameSampler:
    """Plays (or replays) one game for ``on_sample`` when ``every_s`` seconds have passed since the last.

    The first game is due at once, so a watcher sees the untrained policy play from the start.
    ``on_sample`` receives ``{"game", "render_hint", "number", "env_steps", "players", "states",
    "result"}``: ``states`` holds the spectator's ``state_json`` of every position, the start included.
    """

    def __init__(
        self,
        spec: GameSpec,
        on_sample: SampleFn,
        *,
        every_s: float = SAMPLE_EVERY_S,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spec, self.on_sample, self.every_s, self.seed, self.clock = spec, on_sample, every_s, seed, clock
        self.last: float | None = None
        self.count = 0
        self.opponents: list[tuple[str, Any]] | None = None  # built at the first game, kept

    def due(self) -> bool:
        """Whether a game should be sampled now (a cheap check for the training loop to make often)."""
        return self.last is None or self.clock() - self.last >= self.every_s

    def guarded(self, sample: Callable[[], None]) -> None:
        """Run ``sample`` (which plays and hands out a game); if it fails, log it and sample no more:
        a game to watch must never end the run that it shows."""
        try:
            sample()
        except Exception:
            logger.warning("sampling a game to watch failed; this run samples no more", exc_info=True)
            self.every_s, self.last = math.inf, self.clock()

    def play(self, agents_by_seat: AgentsBySeat, *, players: Mapping[str, str], env_steps: int) -> None:
        """Play one game between ``agents_by_seat`` through the match loop and hand it out."""
        seed = derive_seed(self.seed, _SAMPLE_STREAM + self.count)
        with MatchState(self.spec, seed) as start:
            states = [start.state_json()]

        def on_step(step: Step) -> None:
            states.append(step.state.state_json())

        result = play_match(self.spec, agents_by_seat, seed, on_step)
        self._hand_out(states, result.to_json(), players, env_steps)

    def replay(self, moves: Sequence[int], *, players: Mapping[str, str], env_steps: int) -> None:
        """Hand out a game training played itself (az self-play), rebuilt from its moves."""
        with MatchState(self.spec) as state:
            states = [state.state_json()]
            for action in moves:
                state.apply(int(action))
                states.append(state.state_json())
            result = state.result().to_json() if state.done else None
        self._hand_out(states, result, players, env_steps)

    def _hand_out(
        self,
        states: list[dict[str, Any]],
        result: dict[str, Any] | None,
        players: Mapping[str, str],
        env_steps: int,
    ) -> None:
        self.last = self.clock()
        self.count += 1
        self.on_sample(
            {
                "game": self.spec.name,
                "render_hint": self.spec.render_hint,
                "number": self.count,
                "env_steps": int(env_steps),
                "players": {seat: str(players[seat]) for seat in self.spec.seats},
                "states": states,
                "result": result,
            }
        )


def sample_players(
    spec: GameSpec,
    nets: Mapping[str, torch.nn.Module],
    kind: str,
    opponents: Sequence[tuple[str, Any]],
    number: int,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The agents of a sampled game and what to call them: greedy CPU copies of the learning seats'
    networks (training's modules are never touched), and in the other seats the run's opponent
    (``(label, agent)`` pairs; a pool's members take turns, game by game)."""
    agents: dict[str, Any] = {}
    players: dict[str, str] = {}
    for seat in spec.seats:
        if seat in nets:
            agents[seat] = PolicyAgent(copy.deepcopy(nets[seat]).cpu(), kind=kind, device="cpu")
            players[seat] = "this run (greedy)"
        else:
            players[seat], agents[seat] = opponents[number % len(opponents)]
    return agents, players


def opponent_pairs(cfg: Any, names: Sequence[str], seed: int) -> list[tuple[str, Any]]:
    """The run's opponents for sampled games as ``(label, agent)``; a pool checkpoint is labelled as
    one, since its name is a path on the training machine."""
    from marl.train_config import TrainConfig
    from marl.train_eval import opponent_agents

    agents = opponent_agents(cfg, list(names), seed)
    labels = [name if TrainConfig.is_bot_name(cfg.game, name) else "a pool checkpoint" for name in names]
    return list(zip(labels, agents, strict=True))


def sample_training_game(
    sampler: GameSampler,
    cfg: Any,
    nets: Mapping[str, torch.nn.Module],
    opponents: Sequence[str],
    env_steps: int,
) -> None:
    """One game of a DQN or PPO run's current greedy policy against its training ``opponents`` (bot
    names, pool checkpoint paths), or against itself when every seat learns."""
    from marl.checkpoints import AGENT_KINDS

    if sampler.opponents is None:  # built once: a pool checkpoint is read from disk
        names = [] if set(cfg.learn_seats) == set(sampler.spec.seats) else list(opponents)
        sampler.opponents = opponent_pairs(cfg, names, cfg.seed + 15_485_863)
    kind = AGENT_KINDS[cfg.algorithm]
    agents, players = sample_players(sampler.spec, nets, kind, sampler.opponents, sampler.count)
    sampler.play(agents, players=players, env_steps=env_steps)
