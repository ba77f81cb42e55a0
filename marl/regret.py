"""Monte Carlo CFR by self-play (``algorithm: "mccfr"``): an average policy that tends to equilibrium.

PPO and DQN self-play chase their own last policy round and round in poker, where a best response
to yesterday's self is exploitable tomorrow. Counterfactual regret minimisation converges instead:
each information state keeps the regret of every action against the current strategy (regret
matching plays actions in proportion to their positive regret), and the *average* strategy over the
iterations tends to a Nash equilibrium. This is external-sampling MCCFR (Lanctot et al., 2009): each
iteration deals one hand (chance sampled), then for each seat in turn walks every action of that seat
and one sampled action of the other, on the game's own rules (``marl.leduc``'s betting and judge,
checked state by state against PettingZoo's env in the tests). No bot and no table from elsewhere
takes part: the learner plays only itself.

The policy is tabular: one row of action probabilities per information state of the game, in a fixed
order (``info_states``), and it needs the betting so far, which PettingZoo's observation does not
carry, so its agent reads the moves like an engine (``needs_moves``). The checkpoint is the usual
safetensors + sidecar: weights ``average_policy`` (states x actions), training state ``regret`` and
``strategy_sum`` (what a resumed run, a league's next tick, continues from), network ``{"kind":
"table", "states": N}``. Leduc hold'em is the game with a tree here; env steps count the moves
the traversals play.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np
import torch

from marl import leduc
from marl.errors import CheckpointError, ConfigError, MarlError
from marl.nets import DEFAULT_NETWORK
from marl.poker_bots import PokerBot

GAMES = ("leduc_holdem",)  # games whose information states this module can enumerate and walk
WEIGHTS_KEY = "average_policy"
_DECK = (2, 2, 2)  # Leduc: two cards of each rank, J Q K


@cache
def info_states(game: str = "leduc_holdem") -> tuple[str, ...]:
    """Every information state of ``game`` in a fixed (sorted) order: the table's rows."""
    _check_game(game)
    keys: set[str] = set()

    def walk(state: leduc.ArenaLeducState) -> None:
        if state.is_terminal():
            return
        if state.is_chance_node():
            for outcome, _ in state.chance_outcomes():
                walk(state.child(outcome))
            return
        keys.add(state.information_state_string())
        for action in state.legal_actions():
            walk(state.child(action))

    walk(leduc.game().new_initial_state())
    return tuple(sorted(keys))


@cache
def _index(game: str) -> dict[str, int]:
    return {key: i for i, key in enumerate(info_states(game))}


def _check_game(game: str) -> None:
    if game not in GAMES:
        raise ConfigError(
            f"mccfr needs a game whose information states it can walk: {', '.join(GAMES)}; not {game}"
        )


def table_spec(game: str) -> dict[str, Any]:
    """The network spec of an mccfr checkpoint: a table with one row per information state."""
    return {"kind": "table", "states": len(info_states(game))}


def check_table_spec(game: str, network: Any) -> dict[str, Any]:
    """``network`` if it is ``game``'s table spec, else ConfigError; left out (empty, or the default
    network of the other algorithms), the spec is filled in."""
    expected = table_spec(game)
    if network in (None, {}, DEFAULT_NETWORK) or network == {"kind": "table"}:
        return expected
    if network != expected:
        raise ConfigError(
            f"an mccfr policy is a table over the game's information states: network {expected}"
        )
    return expected


class TableAgent(PokerBot):
    """Plays a tabulated policy, sampling each move from its row for the information state it sees
    (its own card, the board and the betting read from the moves); a state no iteration reached plays
    uniformly over the legal actions."""

    needs_moves = True

    def __init__(self, probs: np.ndarray, game: str = "leduc_holdem", seed: int | None = None) -> None:
        super().__init__(seed)
        rows = len(info_states(game))
        if probs.shape != (rows, 4):
            raise MarlError(f"a {game} table has {rows} rows of 4 actions, got shape {probs.shape}")
        self.probs = np.asarray(probs, dtype=np.float64)
        self.index = _index(game)

    def act(self, observation: np.ndarray, action_mask: np.ndarray) -> int:
        raise MarlError("a table policy reads the betting from the moves: call act_moves")

    def action_probabilities(self, observation: np.ndarray, mask: np.ndarray, moves: list[int]) -> np.ndarray:
        row = self.index.get(leduc.key_from_moves(observation, moves))
        policy = np.zeros(len(mask)) if row is None else self.probs[row] * mask
        return policy if policy.sum() > 0 else mask.astype(np.float64)


class Mccfr:
    """Regrets and strategy sums of external-sampling MCCFR, one row per information state.

    Regrets are floored at zero after each update (regret matching+, as in CFR+), which in practice
    converges faster than plain regret matching.
    """

    def __init__(self, game: str = "leduc_holdem") -> None:
        self.index = _index(game)
        n = len(self.index)
        self.regret = np.zeros((n, 4))
        self.strategy_sum = np.zeros((n, 4))
        self.moves = 0  # actions played by the traversals: the run's env steps

    def iterate(self, rng: np.random.Generator) -> None:
        """One iteration: a dealt hand, walked once for each seat as the traverser."""
        deck = list(_DECK)
        hands = []
        for _ in range(2):
            rank = int(rng.choice(3, p=np.asarray(deck) / sum(deck)))
            deck[rank] -= 1
            hands.append(rank)
        public = int(rng.choice(3, p=np.asarray(deck) / sum(deck)))
        small_blind = int(rng.integers(2))
        for traverser in (0, 1):
            self._walk(hands, public, small_blind, leduc.Betting.after_blinds(small_blind), traverser, rng)

    def _walk(
        self,
        hands: list[int],
        public: int,
        small_blind: int,
        betting: leduc.Betting,
        traverser: int,
        rng: np.random.Generator,
    ) -> float:
        player = betting.pointer
        shown = public if betting.round == 1 else None
        row = self.index[leduc.info_state_key(hands[player], shown, player == small_blind, betting.history)]
        legal = betting.legal()
        strategy = self._strategy(row, legal)
        if player != traverser:
            self.strategy_sum[row, legal] += strategy
            action = legal[int(rng.choice(len(legal), p=strategy))]
            return self._after(hands, public, small_blind, betting, action, traverser, rng)
        values = np.array(
            [self._after(hands, public, small_blind, betting, a, traverser, rng) for a in legal]
        )
        node = float(strategy @ values)
        self.regret[row, legal] = np.maximum(self.regret[row, legal] + values - node, 0.0)
        return node

    def _after(
        self,
        hands: list[int],
        public: int,
        small_blind: int,
        betting: leduc.Betting,
        action: int,
        traverser: int,
        rng: np.random.Generator,
    ) -> float:
        """The traverser's value after ``action``: the payoff where the hand ends, else the walk on."""
        child = betting.copy()
        self.moves += 1
        round_over = child.apply(action)
        if child.folded is not None or (round_over and child.round == 1):
            shown = public if child.round == 1 else None
            return leduc.payoffs(hands, shown, child)[traverser]
        if round_over:
            child.next_round()
        return self._walk(hands, public, small_blind, child, traverser, rng)

    def _strategy(self, row: int, legal: list[int]) -> np.ndarray:
        positive = self.regret[row, legal]
        total = positive.sum()
        return positive / total if total > 0 else np.full(len(legal), 1.0 / len(legal))

    def average_policy(self) -> np.ndarray:
        """The average strategy, one row per information state (zeros where no iteration reached)."""
        sums = self.strategy_sum.sum(axis=1, keepdims=True)
        return np.divide(self.strategy_sum, sums, out=np.zeros_like(self.strategy_sum), where=sums > 0)

    def state(self) -> dict[str, torch.Tensor]:
        return {
            "regret": torch.from_numpy(self.regret.copy()),
            "strategy_sum": torch.from_numpy(self.strategy_sum.copy()),
        }

    def load(self, state: Mapping[str, Any] | None, name: str) -> None:
        """Continue from a checkpoint's training state (its regrets and strategy sums)."""
        try:
            regret = np.asarray(state["regret"].numpy(), dtype=np.float64)  # type: ignore[index]
            sums = np.asarray(state["strategy_sum"].numpy(), dtype=np.float64)  # type: ignore[index]
        except (KeyError, TypeError, AttributeError):
            raise CheckpointError(f"{name} lacks the regrets and strategy sums of an mccfr run") from None
        if regret.shape != self.regret.shape or sums.shape != self.strategy_sum.shape:
            raise CheckpointError(
                f"{name}: the stored regret tables do not fit this game's information states"
            )
        if (
            not (np.isfinite(regret).all() and np.isfinite(sums).all())
            or (regret < 0).any()
            or (sums < 0).any()
        ):
            raise CheckpointError(f"{name}: the stored regret tables hold negative or non-finite values")
        self.regret, self.strategy_sum = regret, sums


def exploitability_of(probs: np.ndarray, game: str = "leduc_holdem") -> float:
    """The exact exploitability of a table policy playing both seats (big blinds per hand)."""
    from marl.exploitability import agents_exploitability

    agent = TableAgent(probs, game)
    return agents_exploitability({"player_0": agent, "player_1": agent}).value


def load_table_agent(weights: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> TableAgent:
    """The agent of a verified mccfr checkpoint."""
    return TableAgent(weights[WEIGHTS_KEY].double().numpy(), meta["game"])


def expected_shapes(meta: Mapping[str, Any]) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """The weights an mccfr checkpoint must hold: its table, states x actions, float32."""
    try:
        spec = check_table_spec(meta["game"], meta["network"])
    except ConfigError as exc:
        raise CheckpointError(f"checkpoint has an invalid table spec: {exc}") from None
    return {WEIGHTS_KEY: ((spec["states"], 4), torch.float32)}
