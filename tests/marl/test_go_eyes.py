"""Go's eye-keeping random bot (`eyes`), on PettingZoo's real go_v5: it never fills its own single-point
eyes, passes only when nothing else is left, keeps to the mask and beats random."""

from __future__ import annotations

import numpy as np

from marl.agents import RandomAgent
from marl.bots import EyesAgent, go_own_eyes, make_bot
from marl.games_go import PASS, SIZE
from marl.match import MatchState, play_match, play_matches

# Black: B9 and A8 wall the corner A9 (action 0); D5, E6, F5 and E4 wall the centre E5 (40).
# White plays in the far corner, away from both.
BLACK_EYES = [1, 80, 9, 79, 31, 71, 39, 70, 41, 62, 49, 61]  # black to move
WHITE_EYES = [80, 1, 79, 9, 71, 31, 70, 39, 62, 41, 61, 49, 60]  # the same shape for white, to move


def _position(moves: list[int]) -> tuple[np.ndarray, np.ndarray]:
    with MatchState("go9", 0, moves) as state:
        obs, mask = state.observation()
        return obs.copy(), mask.copy()


def _board_eyes(board: np.ndarray, colour: int) -> set[int]:
    """The eyes of ``colour`` read off the engine's own board (1 black, -1 white), not the planes."""
    eyes = set()
    for row in range(SIZE):
        for col in range(SIZE):
            around = [(row + dr, col + dc) for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))]
            around = [(r, c) for r, c in around if 0 <= r < SIZE and 0 <= c < SIZE]
            if board[row, col] == 0 and all(board[r, c] == colour for r, c in around):
                eyes.add(SIZE * row + col)
    return eyes


def test_the_eyes_are_the_movers_own_for_either_colour() -> None:
    for moves in (BLACK_EYES, WHITE_EYES):
        obs, _ = _position(moves)
        assert set(np.flatnonzero(go_own_eyes(obs[None])[0])) == {0, 40}
    # The opponent's eyes are not the mover's: after black's walls, white to move sees none.
    obs, _ = _position(BLACK_EYES[:-1])
    assert not go_own_eyes(obs[None]).any()


def test_it_never_fills_its_own_eye_and_plays_every_other_point() -> None:
    for moves in (BLACK_EYES, WHITE_EYES):
        obs, mask = _position(moves)
        assert mask[0] and mask[40]  # both eyes are legal moves
        batch = (np.repeat(obs[None], 4000, axis=0), np.repeat(mask[None], 4000, axis=0))
        picks = set(EyesAgent(seed=3).act_batch(*batch).tolist())
        assert picks == set(np.flatnonzero(mask[:PASS])) - {0, 40}
        assert {0, 40} <= set(RandomAgent(3).act_batch(*batch).tolist())  # a random player does fill them


def test_it_plays_an_eye_only_when_the_mask_leaves_nothing_else() -> None:
    obs, _ = _position(BLACK_EYES)
    only_eyes_and_pass = np.zeros(PASS + 1, dtype=np.int8)
    only_eyes_and_pass[[0, 40, PASS]] = 1
    assert {EyesAgent(seed).act(obs, only_eyes_and_pass) for seed in range(20)} == {PASS}
    only_eyes = only_eyes_and_pass.copy()
    only_eyes[PASS] = 0
    assert {EyesAgent(seed).act(obs, only_eyes) for seed in range(40)} == {0, 40}


def test_through_whole_games_it_keeps_to_the_mask_and_passes_only_when_only_eyes_are_left() -> None:
    passes = 0
    for seed, seat in ((0, "black_0"), (1, "white_0"), (2, "black_0"), (3, "white_0")):
        bot = EyesAgent(seed)
        other = RandomAgent(seed + 100)
        with MatchState("go9", seed) as state:
            while not state.done:
                obs, mask = state.observation()
                if state.to_move != seat:
                    state.apply(other.act(obs, mask))
                    continue
                action = bot.act(obs, mask)
                eyes = _board_eyes(np.asarray(state.env.unwrapped._go.board), 1 if seat == "black_0" else -1)
                others = set(np.flatnonzero(mask[:PASS])) - eyes
                assert mask[action] and action not in eyes
                assert (action == PASS) == (not others)
                passes += action == PASS
                state.apply(action)
    assert passes >= 4  # each game ends with its pass once only eyes are left


def test_it_beats_random_in_most_games_in_either_seat() -> None:
    wins = 0
    for seat, other in (("black_0", "white_0"), ("white_0", "black_0")):
        results = play_matches("go9", {seat: EyesAgent(1), other: RandomAgent(2)}, range(5))
        wins += sum(r.winner == seat for r in results)
    assert wins >= 8


def test_its_games_are_fixed_by_its_seed() -> None:
    def game(seed: int) -> list[int]:  # the match loop re-seeds both players from the match seed
        return play_match("go9", {"black_0": make_bot("go9", "eyes"), "white_0": RandomAgent()}, seed).moves

    assert game(5) == game(5) != game(6)
    obs, mask = _position(BLACK_EYES)
    one, two = EyesAgent(4), EyesAgent(4)
    assert [one.act(obs, mask) for _ in range(5)] == [two.act(obs, mask) for _ in range(5)]
    obs, mask = _position(BLACK_EYES)
    batch = EyesAgent(9).act_batch(np.repeat(obs[None], 8, axis=0), np.repeat(mask[None], 8, axis=0))
    one_by_one = EyesAgent(9)
    assert batch.tolist() == [one_by_one.act(obs, mask) for _ in range(8)]
