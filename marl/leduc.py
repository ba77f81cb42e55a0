"""Leduc hold'em as PettingZoo plays it, as an OpenSpiel game: exact exploitability and CFR+.

PettingZoo's ``leduc_holdem_v4`` is RLCard's Leduc, which differs from OpenSpiel's ``leduc_poker``:
blinds of 1 and 2 chips instead of antes, a random small blind who acts first, strict alternation
(the second round opens with whoever is next), folding always legal, payoffs in big blinds. Its
exploitability must be computed on its own tree, so ``ArenaLeducGame`` (registered with OpenSpiel as
``arena_leduc``) implements exactly those rules; the tests walk every information state of it and
check that the PettingZoo env shows the same observation, action mask and returns.

Cards are dealt by rank (J, Q, K; two of each): the payoffs and the observations see only ranks.
Actions use PettingZoo's indices: 0 call, 1 raise, 2 fold, 3 check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pyspiel
from open_spiel.python import policy as os_policy
from open_spiel.python.algorithms import exploitability as os_exploitability

CALL, RAISE, FOLD, CHECK = 0, 1, 2, 3
RANKS = "JQK"
OBS_SIZE = 36
_RAISE_AMOUNTS = (2, 4)  # chips per raise in the first and second round
_MAX_RAISES = 2
_SMALL, _BIG = 1, 2
NAME = "arena_leduc"

_GAME_TYPE = pyspiel.GameType(
    short_name=NAME,
    long_name="Leduc hold'em (RLCard / PettingZoo rules)",
    dynamics=pyspiel.GameType.Dynamics.SEQUENTIAL,
    chance_mode=pyspiel.GameType.ChanceMode.EXPLICIT_STOCHASTIC,
    information=pyspiel.GameType.Information.IMPERFECT_INFORMATION,
    utility=pyspiel.GameType.Utility.ZERO_SUM,
    reward_model=pyspiel.GameType.RewardModel.TERMINAL,
    max_num_players=2,
    min_num_players=2,
    provides_information_state_string=True,
    provides_information_state_tensor=False,
    provides_observation_string=False,
    provides_observation_tensor=False,
    parameter_specification={},
)
_GAME_INFO = pyspiel.GameInfo(
    num_distinct_actions=4,
    max_chance_outcomes=3,
    num_players=2,
    min_utility=-7.0,
    max_utility=7.0,
    utility_sum=0.0,
    max_game_length=16,
)


class ArenaLeducGame(pyspiel.Game):
    """RLCard's Leduc hold'em for OpenSpiel's algorithms."""

    def __init__(self, params: dict | None = None) -> None:
        super().__init__(_GAME_TYPE, _GAME_INFO, params or {})

    def new_initial_state(self) -> ArenaLeducState:
        return ArenaLeducState(self)

    def make_py_observer(self, iig_obs_type=None, params=None) -> _InfoStateObserver:
        return _InfoStateObserver()


@dataclass
class Betting:
    """The betting of a hand so far, stepped by RLCard's round rules."""

    chips: list[int] = field(default_factory=lambda: [0, 0])
    raised: list[int] = field(default_factory=lambda: [0, 0])
    pointer: int = 0
    round: int = 0
    raises: int = 0
    passes: int = 0
    folded: int | None = None
    history: list[int] = field(default_factory=list)

    @classmethod
    def after_blinds(cls, small_blind: int) -> Betting:
        """A hand's betting once the blinds are in: the small blind's seat acts first."""
        betting, big = cls(), 1 - small_blind
        betting.chips[small_blind] = betting.raised[small_blind] = _SMALL
        betting.chips[big] = betting.raised[big] = _BIG
        betting.pointer = small_blind
        return betting

    def copy(self) -> Betting:
        return replace(self, chips=self.chips[:], raised=self.raised[:], history=self.history[:])

    def legal(self) -> list[int]:
        actions = [CALL, RAISE, FOLD, CHECK]
        if self.raises >= _MAX_RAISES:
            actions.remove(RAISE)
        if self.raised[self.pointer] < max(self.raised):
            actions.remove(CHECK)
        if self.raised[self.pointer] == max(self.raised):
            actions.remove(CALL)
        return actions

    def apply(self, action: int) -> bool:
        """Play ``action``; True when it ended the betting round."""
        p = self.pointer
        if action == CALL:
            self.chips[p] += max(self.raised) - self.raised[p]
            self.raised[p] = max(self.raised)
            self.passes += 1
        elif action == RAISE:
            top = max(self.raised) + _RAISE_AMOUNTS[self.round]
            self.chips[p] += top - self.raised[p]
            self.raised[p] = top
            self.raises += 1
            self.passes = 1
        elif action == FOLD:
            self.folded = p
        else:
            self.passes += 1
        self.history.append(action)
        self.pointer = 1 - p
        return self.folded is None and self.passes >= 2

    def next_round(self) -> None:
        self.round += 1
        self.raised, self.raises, self.passes = [0, 0], 0, 0
        self.history.append(-1)  # the round separator in information state strings


class ArenaLeducState(pyspiel.State):
    """Chance deals player 0's rank, player 1's rank, the small blind's seat, then (after the first
    round) the public rank."""

    def __init__(self, game: ArenaLeducGame) -> None:
        super().__init__(game)
        self.hands: list[int] = []
        self.small_blind: int | None = None
        self.public: int | None = None
        self.betting = Betting()
        self._over = False

    def current_player(self) -> int:
        if self._over:
            return pyspiel.PlayerId.TERMINAL
        if len(self.hands) < 2 or self.small_blind is None:
            return pyspiel.PlayerId.CHANCE
        if self.betting.round == 1 and self.public is None:
            return pyspiel.PlayerId.CHANCE
        return self.betting.pointer

    def _legal_actions(self, player: int) -> list[int]:
        return self.betting.legal()

    def chance_outcomes(self) -> list[tuple[int, float]]:
        if len(self.hands) == 2 and self.small_blind is None:
            return [(0, 0.5), (1, 0.5)]
        left = [2 - self.hands.count(r) for r in range(3)]
        return [(r, n / sum(left)) for r, n in enumerate(left) if n]

    def _apply_action(self, action: int) -> None:
        if self.is_chance_node():
            self._deal(int(action))
            return
        round_over = self.betting.apply(int(action))
        if self.betting.folded is not None or (round_over and self.betting.round == 1):
            self._over = True
        elif round_over:
            self.betting.next_round()

    def _deal(self, outcome: int) -> None:
        if len(self.hands) < 2:
            self.hands.append(outcome)
        elif self.small_blind is None:
            self.small_blind = outcome
            self.betting = Betting.after_blinds(outcome)
        else:
            self.public = outcome

    def _action_to_string(self, player: int, action: int) -> str:
        if player == pyspiel.PlayerId.CHANCE:
            return f"deal:{action}"
        return ("call", "raise", "fold", "check")[action]

    def is_terminal(self) -> bool:
        return self._over

    def returns(self) -> list[float]:
        if not self._over:
            return [0.0, 0.0]
        return payoffs(self.hands, self.public, self.betting)

    def information_state_string(self, player: int | None = None) -> str:
        player = self.current_player() if player is None else player
        return info_state_key(
            self.hands[player], self.public, player == self.small_blind, self.betting.history
        )

    def __str__(self) -> str:
        return f"{self.hands} sb={self.small_blind} public={self.public} {self.betting.history}"


class _InfoStateObserver:
    """What OpenSpiel's Python-game plumbing asks for: the information state string only."""

    def __init__(self) -> None:
        self.tensor = np.zeros(0, np.float32)
        self.dict: dict = {}

    def set_from(self, state: ArenaLeducState, player: int) -> None:
        pass

    def string_from(self, state: ArenaLeducState, player: int) -> str:
        return state.information_state_string(player)


def payoffs(hands: Sequence[int], public: int | None, betting: Betting) -> list[float]:
    """RLCard's judge: a fold loses; else a pair with the public card, else the higher rank; in big blinds."""
    chips = betting.chips
    if betting.folded is not None:
        winners = [i != betting.folded for i in range(2)]
    elif hands[0] == public or hands[1] == public:
        winners = [hands[i] == public for i in range(2)]
    else:
        winners = [hands[i] == max(hands) for i in range(2)]
    share = sum(chips) / sum(winners)
    return [((share if winners[i] else 0.0) - chips[i]) / _BIG for i in range(2)]


def info_state_key(rank: int, public: int | None, small_blind: bool, history: Sequence[int]) -> str:
    """A seat's information state: its rank, the public rank, its blind and the betting so far."""
    board = RANKS[public] if public is not None else "-"
    bets = "".join("/" if a < 0 else "crfk"[a] for a in history)
    return f"{RANKS[rank]}{board}{'s' if small_blind else 'b'}:{bets}"


def key_from_moves(observation: np.ndarray, moves: Sequence[int]) -> str:
    """The information state of the seat to move in PettingZoo, from its observation and the moves.

    Seats alternate strictly from the small blind, so the mover's blind is the parity of the moves;
    the public card's arrival (seen in the observation) marks where the second round began.
    """
    rank = int(np.flatnonzero(observation[0:3])[0])
    public_bits = np.flatnonzero(observation[3:6])
    public = int(public_bits[0]) if public_bits.size else None
    history = _with_rounds(list(moves)) if public is not None else list(moves)
    return info_state_key(rank, public, len(moves) % 2 == 0, history)


def _with_rounds(moves: list[int]) -> list[int]:
    betting = Betting(chips=[_SMALL, _BIG], raised=[_SMALL, _BIG])
    out: list[int] = []
    for i, action in enumerate(moves):
        out.append(action)
        if betting.apply(action) and betting.round == 0:
            betting.next_round()
            out.append(-1)
            return out + moves[i + 1 :]
    return out


def observation_of(state: ArenaLeducState, player: int) -> tuple[np.ndarray, np.ndarray]:
    """PettingZoo's observation and action mask for ``player`` in this state.

    Layout (RLCard): one-hot own rank [0:3], public rank [3:6], own chips [6:21], other's chips [21:36].
    """
    obs = np.zeros(OBS_SIZE, np.float32)
    obs[state.hands[player]] = 1
    if state.public is not None:
        obs[3 + state.public] = 1
    chips = state.betting.chips
    obs[6 + chips[player]] = 1
    obs[21 + chips[1 - player]] = 1
    mask = np.zeros(4, np.int8)
    if not state.is_terminal() and state.current_player() == player:
        mask[state.betting.legal()] = 1
    return obs, mask


def game() -> ArenaLeducGame:
    """The registered ``arena_leduc`` game (one instance per process)."""
    global _GAME
    if _GAME is None:
        _GAME = ArenaLeducGame()
    return _GAME


_GAME: ArenaLeducGame | None = None
pyspiel.register_game(_GAME_TYPE, ArenaLeducGame)

# A seat's policy: (observation, mask, moves) -> action probabilities over the 4 actions.
SeatPolicy = Callable[[np.ndarray, np.ndarray, list[int]], np.ndarray]


class ObservedPolicy(os_policy.Policy):
    """An OpenSpiel policy that asks a PettingZoo-side policy, showing it only what the seat saw."""

    def __init__(self, policy: SeatPolicy | Mapping[int, SeatPolicy]) -> None:
        super().__init__(game(), [0, 1])
        # One policy for both seats, or one per seat (0 is player_0): per-seat checkpoints.
        self.policies = dict(policy) if isinstance(policy, Mapping) else {0: policy, 1: policy}
        self._cache: dict[str, dict[int, float]] = {}

    def action_probabilities(self, state: ArenaLeducState, player_id: int | None = None) -> dict[int, float]:
        player = state.current_player()
        key = f"{player}|{state.information_state_string()}"
        if key not in self._cache:
            obs, mask = observation_of(state, player)
            moves = [a for a in state.betting.history if a >= 0]
            probs = np.asarray(self.policies[player](obs, mask, moves), dtype=np.float64) * mask
            if probs.sum() <= 0:
                raise ValueError(f"the policy gives no weight to a legal action at {key}")
            probs = probs / probs.sum()
            self._cache[key] = {int(a): float(probs[a]) for a in np.flatnonzero(mask)}
        return self._cache[key]


def exploitability(policy: SeatPolicy | Mapping[int, SeatPolicy]) -> float:
    """Exact exploitability (mean of the two best responses' gains, in big blinds per hand) of one
    policy for both seats or of one per seat (``{0: player_0's, 1: player_1's}``)."""
    return float(os_exploitability.exploitability(game(), ObservedPolicy(policy)))


def seat_policy(agent: object) -> SeatPolicy:
    """What an arena agent would play, as probabilities: its own if it has them (the poker bots), a
    softmax of a sampling policy's values, or the one action a greedy policy or a bot picks."""
    from marl.agents import PolicyAgent, RandomAgent, SoftmaxAgent

    if hasattr(agent, "action_probabilities"):
        return agent.action_probabilities  # type: ignore[attr-defined]
    if isinstance(agent, RandomAgent):
        return uniform_policy
    if isinstance(agent, SoftmaxAgent):
        return lambda obs, mask, moves: _softmax(agent.policy, obs, mask, agent.temperature)
    if isinstance(agent, PolicyAgent) and agent.kind == "logits":
        return lambda obs, mask, moves: _softmax(agent, obs, mask, 1.0)

    def greedy(obs: np.ndarray, mask: np.ndarray, moves: list[int]) -> np.ndarray:
        probs = np.zeros(len(mask))
        probs[int(agent.act(obs, mask))] = 1.0  # type: ignore[attr-defined]
        return probs

    return greedy


def _softmax(policy: object, obs: np.ndarray, mask: np.ndarray, temperature: float) -> np.ndarray:
    values = policy.action_values(obs[None], mask[None])[0] / temperature  # type: ignore[attr-defined]
    values = np.where(mask.astype(bool), values, -np.inf)
    weights = np.exp(values - values[mask.astype(bool)].max())
    return weights / weights.sum()


def uniform_policy(obs: np.ndarray, mask: np.ndarray, moves: list[int]) -> np.ndarray:
    """Every legal action equally likely."""
    return mask.astype(np.float64)
