"""Training envs: Tianshou's ``PettingZooEnv``, or the same over a fast game core (``marl._tianshou`` re-exports them).

``FastPettingZooEnv`` answers exactly what ``PettingZooEnv(spec.make_env())`` answers: the same
``agents``, spaces, observation dicts ``{agent_id, obs, mask}``, reward list in ``agents`` order,
``terminated``/``truncated`` flags and info dicts, including PettingZoo's quirks (after a win the mask
still lists the open cells for the seat that would move next; an illegal move ends the game with -1
for the mover, both flags set and the first seat selected). It steps a ``marl.fastgames`` core, a few
integer operations per move instead of PettingZoo's wrappers and win check. ``FastVectorEnv`` steps
several of them in one call and hands the collector their observations already stacked.
``tests/marl/test_fast_env.py`` drives both side by side move for move. PettingZoo stays the reference
for everything a person sees; this class only feeds the collector.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from tianshou.data import Batch
from tianshou.env import DummyVectorEnv, PettingZooEnv

from marl.fastgames import FastGame, fast_game
from marl.games import GameSpec


class FastPettingZooEnv:
    """One game as Tianshou's single env, stepped by a ``FastGame`` core (see the module docstring)."""

    def __init__(self, spec: GameSpec) -> None:
        self.core: type[FastGame] = fast_game(spec.name)
        self.agents = list(spec.seats)
        self.agent_idx = {agent_id: i for i, agent_id in enumerate(self.agents)}
        # One list, rewritten in place at every step and never cleared by reset: PettingZooEnv's own.
        self.rewards: list[float] = [0] * len(self.agents)
        n = self.core.n_actions
        self.observation_space: Any = spaces.Dict(
            {
                "observation": spaces.Box(low=0, high=1, shape=self.core.obs_shape, dtype=np.int8),
                "action_mask": spaces.Box(low=0, high=1, shape=(n,), dtype=np.int8),
            }
        )
        self.action_space: Any = spaces.Discrete(n)
        self.game = self.core()
        self._selected = 0  # PettingZoo's agent_selection, as a seat index
        self._infos: dict[str, dict] = {}
        self.reset()

    @property
    def unwrapped(self) -> FastPettingZooEnv:
        # Tianshou's env workers read attributes such as action_space through ``env.unwrapped``.
        return self

    def _observation(self) -> dict[str, Any]:
        seat = self._selected
        mask = np.zeros(self.core.n_actions, dtype=bool)
        mask[self.game.open_actions()] = True  # PettingZoo masks the open cells even after a win
        return {
            "agent_id": self.agents[seat],
            "obs": self.game.observation(seat),
            "mask": list(mask),  # PettingZooEnv's list of numpy bools
        }

    def reset(self, *args: Any, **kwargs: Any) -> tuple[dict, dict]:
        """A new game (the seed changes nothing: both games are deterministic)."""
        self.game = self.core()
        self._selected = 0
        self._over = False
        # Fresh per-agent info dicts, as PettingZoo's reset makes; the same one is returned while that
        # seat is selected (the vector env writes ``env_id`` into it, as it does into PettingZoo's).
        self._infos = {agent_id: {} for agent_id in self.agents}
        return self._observation(), self._infos[self.agents[0]]

    def step(self, action: Any) -> tuple[dict, list[float], bool, bool, dict]:
        if not self.action_space.contains(action):
            raise AssertionError("action is not in action space")  # PettingZoo's out-of-bounds check
        if self._over:
            raise ValueError("when an agent is dead, the only valid action is None")
        game, action = self.game, int(action)
        truncated = False
        if action not in game.open_actions():
            # PettingZoo's TerminateIllegalWrapper: -1 for the mover, 0 for the rest, every seat both
            # terminated and truncated, and the first dead seat (the first seat) selected.
            self.rewards[:] = [0] * len(self.agents)
            self.rewards[self._selected] = -1.0
            self._selected, truncated = 0, True
            self._over = True
        else:
            game.play(action)
            self._selected = game.to_move
            self._over = game.terminal
            if game.terminal:
                for seat in range(len(self.agents)):
                    self.rewards[seat] = game.reward(seat)
            else:
                self.rewards[:] = [0] * len(self.agents)
        return (
            self._observation(),
            self.rewards,
            self._over,
            truncated,
            self._infos[self.agents[self._selected]],
        )

    def seed(self, seed: Any = None) -> None:
        # PettingZooEnv.seed falls back to a reset with the seed (PettingZoo envs have no seed()).
        self.reset(seed=seed)

    def close(self) -> None:
        pass

    def render(self) -> None:
        return None  # PettingZoo's classic envs render nothing without a render mode


class FastVectorEnv(DummyVectorEnv):
    """A ``DummyVectorEnv`` of ``FastPettingZooEnv`` that steps its envs directly and returns the
    observations as one ``Batch`` (agent ids, stacked planes and masks) rather than an object array
    of dicts, which the collector would otherwise stack field by field at every step. The collector
    stores the same values either way (``tests/marl/test_fast_env.py`` compares the buffers).
    """

    def __init__(self, spec: GameSpec, n: int) -> None:
        super().__init__([lambda: FastPettingZooEnv(spec) for _ in range(n)])
        self._envs: list[FastPettingZooEnv] = [w.env for w in self.workers]

    @staticmethod
    def _stack(observations: list[dict[str, Any]]) -> Batch:
        agent_ids = np.empty(len(observations), dtype=object)
        agent_ids[:] = [o["agent_id"] for o in observations]
        return Batch(
            agent_id=agent_ids,
            obs=np.stack([o["obs"] for o in observations]),
            mask=np.array([o["mask"] for o in observations], dtype=bool),
        )

    def reset(self, env_id: Any = None, **kwargs: Any) -> tuple[Batch, np.ndarray]:
        self._assert_is_not_closed()
        results = [self._envs[i].reset(**kwargs) for i in self._wrap_id(env_id)]
        infos = np.empty(len(results), dtype=object)
        infos[:] = [info for _, info in results]
        return self._stack([obs for obs, _ in results]), infos

    def step(
        self, action: Any, id: Any = None
    ) -> tuple[Batch, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        self._assert_is_not_closed()
        ids = self._wrap_id(id)
        if action is None or len(action) != len(ids):
            raise ValueError(f"one action per env: {len(ids)} envs")
        observations, rewards, terminated, truncated = [], [], [], []
        infos = np.empty(len(ids), dtype=object)
        for k, (i, a) in enumerate(zip(ids, action, strict=True)):
            obs, rew, term, trunc, info = self._envs[i].step(a)
            info["env_id"] = i  # what DummyVectorEnv adds to every step's info
            observations.append(obs)
            rewards.append(list(rew))  # a copy: the env rewrites its reward list in place
            terminated.append(term)
            truncated.append(trunc)
            infos[k] = info
        return self._stack(observations), np.array(rewards), np.array(terminated), np.array(truncated), infos


def make_env(spec: GameSpec, fast: bool = False) -> PettingZooEnv | FastPettingZooEnv:
    """One game wrapped as Tianshou's single env whose observation is {agent_id, obs, mask}.

    ``fast``: the same env stepped by the game's fast core, identical values.
    """
    return FastPettingZooEnv(spec) if fast else PettingZooEnv(spec.make_env())


def make_vector_env(spec: GameSpec, n: int, seed: int, fast: bool = False) -> DummyVectorEnv:
    # In-process envs: a tic-tac-toe step is ~50 us, so subprocess IPC would cost more than it saves.
    venv = FastVectorEnv(spec, n) if fast else DummyVectorEnv([lambda: make_env(spec) for _ in range(n)])
    venv.seed([seed + i for i in range(n)])
    return venv
