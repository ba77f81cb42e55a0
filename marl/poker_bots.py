"""Poker's reference bots: always-call, Leduc's CFR+ equilibrium, and a hand-strength rule bot.

``cfr:P`` plays the CFR+ policy with P% of its weight and uniformly random legal moves with the rest:
a ladder between random and CFR+ (a 200-hand match between the two is never a draw, so the anchors'
fit needs players in between that sometimes are).

Each has ``action_probabilities`` so its exploitability can be computed exactly (``marl.leduc``).
The CFR+ table is computed once with OpenSpiel (``leduc_cfr_table(iterations)``) and shipped as
``marl/data/leduc_cfr_plus.json``; ``python -m marl.poker_bots`` regenerates it.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np

from marl.errors import MarlError

CFR_TABLE = Path(__file__).with_name("data") / "leduc_cfr_plus.json"
CFR_ITERATIONS = 600


class PokerBot:
    """Shared plumbing: a seeded generator, batched acting, sampling from ``action_probabilities``."""

    def __init__(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def action_probabilities(self, observation: np.ndarray, mask: np.ndarray, moves: list[int]) -> np.ndarray:
        raise NotImplementedError

    def act_moves(self, moves: list[int], observation: np.ndarray, action_mask: np.ndarray) -> int:
        probs = self.action_probabilities(observation, action_mask, list(moves))
        return int(self.rng.choice(len(probs), p=probs / probs.sum()))

    def act(self, observation: np.ndarray, action_mask: np.ndarray) -> int:
        return self.act_moves([], observation, action_mask)

    def act_batch(self, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
        return np.array([self.act(o, m) for o, m in zip(observations, masks, strict=True)], dtype=np.int64)

    def scores(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray | None:
        return None


def _one_hot(size: int, action: int) -> np.ndarray:
    probs = np.zeros(size)
    probs[action] = 1.0
    return probs


def _passive(mask: np.ndarray) -> int:
    """Check or call: Leduc and limit (0 call, 3 check) or no-limit (1 check/call)."""
    if len(mask) == 5:
        return 1
    return 3 if mask[3] else 0


class AlwaysCallAgent(PokerBot):
    """Checks when it can, calls otherwise; never raises, never folds."""

    def action_probabilities(self, observation: np.ndarray, mask: np.ndarray, moves: list[int]) -> np.ndarray:
        return _one_hot(len(mask), _passive(mask))


class LeducCfrAgent(PokerBot):
    """Leduc's CFR+ average strategy: samples each move from the table by information state.

    It reads the betting from the moves (engine-style, ``act_moves``): a Nash policy needs the
    history, which PettingZoo's Leduc observation (cards and chips only) does not keep.
    """

    needs_moves = True

    def __init__(
        self, seed: int | None = None, table: dict[str, list[float]] | None = None, share: float = 1.0
    ) -> None:
        super().__init__(seed)
        if not 0.0 <= share <= 1.0:
            raise MarlError(f"the CFR+ bot's share of its policy must be 0..100%, got {share:.0%}")
        self.table = table if table is not None else leduc_cfr_table()
        self.share = share

    def act(self, observation: np.ndarray, action_mask: np.ndarray) -> int:
        raise MarlError("the CFR+ bot reads the betting from the moves: call act_moves")

    def action_probabilities(self, observation: np.ndarray, mask: np.ndarray, moves: list[int]) -> np.ndarray:
        from marl.leduc import key_from_moves

        key = key_from_moves(observation, moves)
        probs = self.table.get(key)
        if probs is None:
            raise MarlError(f"the CFR+ table has no information state {key!r}")
        policy = np.asarray(probs, dtype=np.float64) * mask
        if self.share >= 1.0:
            return policy
        uniform = mask / mask.sum()
        return self.share * policy / policy.sum() + (1.0 - self.share) * uniform


@cache
def leduc_cfr_table() -> dict[str, list[float]]:
    """The shipped CFR+ table (information state -> probabilities of call, raise, fold, check)."""
    if not CFR_TABLE.exists():
        raise MarlError(f"{CFR_TABLE} is missing: run `python -m marl.poker_bots` to compute it")
    return json.loads(CFR_TABLE.read_text())


def compute_cfr_table(iterations: int = CFR_ITERATIONS) -> dict[str, list[float]]:
    """Run OpenSpiel's CFR+ on ``arena_leduc`` and return its average policy as a table."""
    from open_spiel.python.algorithms import cfr

    from marl.leduc import game

    solver = cfr.CFRPlusSolver(game())
    for _ in range(iterations):
        solver.evaluate_and_update_policy()
    policy = solver.average_policy()
    return {
        key: [round(float(p), 6) for p in policy.action_probability_array[index]]
        for key, index in sorted(policy.state_lookup.items())
    }


# --- Texas hold'em: a rule bot on the strength of the cards it sees (its own and the board).
_RANK_OF_INDEX = "A23456789TJQK"
_STRAIGHT_ORDER = "A23456789TJQKA"


def _cards_seen(observation: np.ndarray) -> list[tuple[int, int]]:
    """(rank 2..14, suit 0..3) of every card in the first 52 planes (RLCard's S, H, D, C x A..K)."""
    cards = []
    for index in np.flatnonzero(observation[:52]):
        suit, rank = divmod(int(index), 13)
        cards.append((14 if rank == 0 else rank + 1, suit))
    return cards


def hand_category(cards: list[tuple[int, int]]) -> int:
    """0 high card, 1 pair, 2 two pair, 3 trips, 4 straight, 5 flush, 6 full house, 7 quads."""
    counts = sorted(Counter(r for r, _ in cards).values(), reverse=True)
    suits = Counter(s for _, s in cards).most_common(1)
    ranks = {r for r, _ in cards} | ({1} if any(r == 14 for r, _ in cards) else set())
    straight = any(all(r + k in ranks for k in range(5)) for r in range(1, 11))
    if counts[0] == 4:
        return 7
    if counts[0] == 3 and len(counts) > 1 and counts[1] >= 2:
        return 6
    if suits and suits[0][1] >= 5:
        return 5
    if straight:
        return 4
    if counts[0] == 3:
        return 3
    if counts[0] == 2:
        return 2 if len(counts) > 1 and counts[1] == 2 else 1
    return 0


def _strength(cards: list[tuple[int, int]]) -> int:
    """0 weak, 1 worth a call, 2 worth a raise."""
    if len(cards) <= 2:  # preflop: pairs and two high cards raise, an ace or a king calls
        ranks = sorted((r for r, _ in cards), reverse=True)
        if ranks[0] == ranks[-1] or ranks[-1] >= 10:
            return 2
        return 1 if ranks[0] >= 13 else 0
    category = hand_category(cards)
    return 2 if category >= 2 else 1 if category == 1 else 0


class HandStrengthAgent(PokerBot):
    """Raises strong cards, calls middling ones, checks or folds the rest (limit and no-limit)."""

    def action_probabilities(self, observation: np.ndarray, mask: np.ndarray, moves: list[int]) -> np.ndarray:
        strength = _strength(_cards_seen(observation))
        no_limit = len(mask) == 5
        raises = (3, 2, 4) if no_limit else (1,)  # no-limit: pot, else half pot, else all in
        fold, passive = (0, 1) if no_limit else (2, _passive(mask))
        free = mask[3] if not no_limit else observation[52] >= observation[53]
        if strength == 2:
            action = next((a for a in raises if mask[a]), passive)
        elif strength == 1 or free:
            action = passive
        else:
            action = fold
        return _one_hot(len(mask), action)


POKER_BOTS: dict[str, type[PokerBot]] = {
    "call": AlwaysCallAgent,
    "cfr": LeducCfrAgent,
    "rule": HandStrengthAgent,
}


if __name__ == "__main__":
    CFR_TABLE.parent.mkdir(exist_ok=True)
    CFR_TABLE.write_text(json.dumps(compute_cfr_table(), sort_keys=True) + "\n")
    print(f"wrote {CFR_TABLE}")
