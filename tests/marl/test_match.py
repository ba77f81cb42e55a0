"""The match loop: determinism, masks, replay, batching, and that apply() never corrupts a game."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marl.agents import RandomAgent
from marl.bots import AlphaBetaAgent, MinimaxAgent
from marl.errors import IllegalMoveError, MarlError, TimeLimitError
from marl.game_pairs import play_pairs
from marl.games import GAMES
from marl.match import MatchState, Step, advance, opening_for_seed, play_match, play_matches

GAME_NAMES = sorted(GAMES)
# Poker has no openings (the deal is the variety), and its first seat is the deal's small blind:
# tests of openings, board bots and one first mover take the board games (poker: tests/marl/test_poker.py).
BOARD_GAMES = [name for name in GAME_NAMES if not GAMES[name].hidden_information]


class MaskCheckingAgent(RandomAgent):
    """A random agent that records every (mask, action) it produced."""

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed)
        self.seen: list[tuple[np.ndarray, int]] = []

    def act(self, observation: np.ndarray, action_mask: np.ndarray) -> int:
        action = super().act(observation, action_mask)
        self.seen.append((np.array(action_mask), action))
        return action


class IllegalAgent(RandomAgent):
    """Always plays the first action that is not legal."""

    def act(self, observation: np.ndarray, action_mask: np.ndarray) -> int:
        return int(np.flatnonzero(np.asarray(action_mask) == 0)[0])


def _games(game: str, small: int) -> int:
    """How many random games a test plays: fewer of chess, whose random games run hundreds of moves."""
    return small if GAMES[game].max_moves <= 100 else max(4, small // 10)


def _random_agents(game: str, seed: int) -> dict[str, RandomAgent]:
    return {seat: RandomAgent(seed + i) for i, seat in enumerate(GAMES[game].seats)}


@pytest.mark.parametrize("game", GAME_NAMES)
def test_same_seed_gives_the_same_moves(game: str) -> None:
    first = play_match(game, _random_agents(game, 1), seed=7)
    second = play_match(game, _random_agents(game, 99), seed=7)  # reset() re-seeds from the match seed
    assert first == second
    assert any(play_match(game, _random_agents(game, 1), seed=s).moves != first.moves for s in range(8, 12))


@pytest.mark.parametrize("game", GAME_NAMES)
def test_agents_never_play_a_masked_move_over_many_random_games(game: str) -> None:
    agents = {seat: MaskCheckingAgent() for seat in GAMES[game].seats}
    for seed in range(_games(game, 100)):
        result = play_match(game, agents, seed)
        assert result.reason != "illegal_move"
    for agent in agents.values():
        assert agent.seen and all(mask[action] == 1 for mask, action in agent.seen)


@pytest.mark.parametrize("game", GAME_NAMES)
def test_replaying_stored_moves_reproduces_state_and_result(game: str) -> None:
    for seed in range(_games(game, 20)):
        steps: list[Step] = []
        result = play_match(game, _random_agents(game, 0), seed, on_step=steps.append)
        assert [s.action for s in steps] == result.moves
        assert [s.ply for s in steps] == list(range(1, len(result.moves) + 1))
        final_json = steps[-1].state.state_json()
        replayed = MatchState(game, seed, result.moves)
        assert replayed.done
        assert replayed.state_json() == final_json
        assert replayed.result() == result


@pytest.mark.parametrize("game", ["tictactoe", "connect_four"])  # the games with search bots
def test_play_matches_equals_play_match_game_by_game(game: str) -> None:
    seats = GAMES[game].seats

    def bots() -> dict[str, MinimaxAgent | AlphaBetaAgent]:
        if game == "tictactoe":
            return {seats[0]: MinimaxAgent(), seats[1]: MinimaxAgent()}
        return {seats[0]: AlphaBetaAgent(depth=3), seats[1]: AlphaBetaAgent(depth=1)}

    seeds = [0, 3, 11, 12]
    singles = [play_match(game, bots(), s) for s in seeds]
    assert play_matches(game, bots(), seeds) == singles
    assert [r.seed for r in singles] == seeds


@pytest.mark.parametrize("game", BOARD_GAMES)
def test_play_matches_calls_act_batch_once_per_seat_per_step(game: str) -> None:
    calls: list[int] = []

    class Counting(RandomAgent):
        def act_batch(self, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
            calls.append(len(observations))
            return super().act_batch(observations, masks)

    steps: list[Step] = []
    n = _games(game, 32)
    results = play_matches(game, {seat: Counting() for seat in GAMES[game].seats}, range(n), steps.append)
    assert calls[0] == n
    assert sum(calls) == sum(len(r.moves) for r in results) == len(steps)
    assert len(calls) == max(len(r.moves) for r in results)
    for result in results:
        assert MatchState(game, result.seed, result.moves).result() == result


def test_an_illegal_agent_move_forfeits_the_game() -> None:
    result = play_match("tictactoe", {"player_1": RandomAgent(), "player_2": IllegalAgent()}, seed=3)
    assert result.reason == "illegal_move"
    assert result.winner == "player_1"
    assert result.returns == {"player_1": 0.0, "player_2": -1.0}
    assert len(result.moves) == 1


def test_the_move_bound_ends_a_game() -> None:
    state = MatchState("connect_four", 0, max_moves=4)
    advance(state, {"player_0": RandomAgent(0), "player_1": RandomAgent(1)})
    assert state.done and state.ply == 4
    assert state.result().reason == "max_moves" and state.result().winner is None


def test_advance_stops_when_a_human_is_to_move() -> None:
    state = MatchState("tictactoe")
    advance(state, {"player_1": MinimaxAgent(), "player_2": None})
    assert state.ply == 1 and state.to_move == "player_2"
    state.apply(4 if state.moves[0] != 4 else 0)
    advance(state, {"player_1": MinimaxAgent()})
    assert state.ply == 3 and state.to_move == "player_2"


def test_a_missing_agent_is_an_error_for_play_match() -> None:
    with pytest.raises(MarlError, match="player_2"):
        play_match("tictactoe", {"player_1": RandomAgent()}, seed=0)


def test_replaying_an_illegal_stored_move_is_rejected() -> None:
    with pytest.raises(IllegalMoveError, match="stored move 2"):
        MatchState("tictactoe", 0, [4, 4])


def test_result_of_an_unfinished_game_is_an_error() -> None:
    with pytest.raises(MarlError, match="not over"):
        MatchState("tictactoe", 0, [4]).result()


def test_match_result_to_json_is_plain() -> None:
    result = play_match("tictactoe", {"player_1": MinimaxAgent(), "player_2": MinimaxAgent()}, seed=0)
    data = result.to_json()
    assert data == {
        "game": "tictactoe",
        "seed": 0,
        "moves": result.moves,
        "opening_plies": 0,
        "returns": {"player_1": 0.0, "player_2": 0.0},
        "winner": None,
        "reason": "draw",
    }


@settings(max_examples=60, deadline=None)
@given(
    game=st.sampled_from(GAME_NAMES),
    moves=st.lists(
        st.one_of(st.integers(-2, 10), st.booleans(), st.floats(-1, 9), st.none(), st.text(max_size=2)),
        max_size=50,
    ),
)
def test_apply_either_accepts_or_raises_and_never_corrupts_state(game: str, moves: list[object]) -> None:
    state = MatchState(game, seed=5)
    accepted: list[int] = []
    for move in moves:
        before = state.state_json()
        try:
            state.apply(move)  # type: ignore[arg-type]
        except IllegalMoveError:
            assert state.state_json() == before
            continue
        assert isinstance(move, int) and not isinstance(move, bool)
        assert move in before["legal_moves"]
        accepted.append(move)
        assert state.moves == accepted
    assert MatchState(game, 5, accepted).state_json() == state.state_json()


# --------------------------------------------------------------------------------------- openings


@pytest.mark.parametrize("game", BOARD_GAMES)
def test_an_opening_reproduces_from_its_seed(game: str) -> None:
    plies = GAMES[game].opening_plies
    assert plies > 0
    openings = [opening_for_seed(game, seed) for seed in range(40)]
    assert openings == [opening_for_seed(game, seed, plies) for seed in range(40)]
    assert all(len(opening) == plies for opening in openings)
    assert len({tuple(o) for o in openings}) > 20
    assert opening_for_seed(game, 5, 0) == []


@pytest.mark.parametrize("game", GAME_NAMES)
def test_a_game_from_an_opening_starts_with_it_and_replays_to_the_same_position(game: str) -> None:
    for seed in range(10):
        opening = opening_for_seed(game, seed)
        steps: list[Step] = []
        result = play_match(game, _random_agents(game, 0), seed, steps.append, opening=opening)
        assert result.opening == opening and result.opening_plies == len(opening)
        assert result.moves[: len(opening)] == opening
        assert [s.action for s in steps] == result.moves[len(opening) :]  # callbacks see the agents' moves
        replayed = MatchState(game, seed, result.moves, opening_plies=result.opening_plies)
        assert replayed.state_json() == steps[-1].state.state_json()
        assert replayed.result() == result
        assert result.to_json()["opening_plies"] == len(opening)


def test_greedy_players_vary_their_games_only_through_the_opening() -> None:
    agents = {"player_1": MinimaxAgent(), "player_2": MinimaxAgent()}
    plain = {tuple(r.moves) for r in play_matches("tictactoe", agents, range(30))}
    openings = [opening_for_seed("tictactoe", s) for s in range(30)]
    varied = play_matches("tictactoe", agents, range(30), openings=openings)
    assert len(plain) == 1
    assert len({tuple(r.moves) for r in varied}) > 10
    assert varied == [play_match("tictactoe", agents, s, opening=o) for s, o in enumerate(openings)]


def test_a_long_opening_is_redrawn_until_the_game_goes_on() -> None:
    for seed in range(10):
        opening = opening_for_seed("tictactoe", seed, 8)
        assert len(opening) == 8 and not MatchState("tictactoe", seed, opening).done
    with pytest.raises(MarlError, match="leaves the game running"):
        opening_for_seed("tictactoe", 0, 9)  # nine plies fill the board
    with pytest.raises(MarlError, match="opening plies"):
        opening_for_seed("tictactoe", 0, -1)


def test_an_opening_that_ends_the_game_or_is_illegal_is_refused() -> None:
    agents = _random_agents("tictactoe", 0)
    with pytest.raises(MarlError, match="ends the game"):
        play_match("tictactoe", agents, 0, opening=[0, 1, 3, 2, 6])
    with pytest.raises(IllegalMoveError):
        play_match("tictactoe", agents, 0, opening=[4, 4])
    with pytest.raises(MarlError, match="one per game"):
        play_matches("tictactoe", agents, [0, 1], openings=[[4]])


def test_game_pairs_swap_seats_over_one_opening() -> None:
    strong, weak = MinimaxAgent(), RandomAgent()
    pairs = play_pairs("tictactoe", strong, weak, range(20))
    for seed, pair in enumerate(pairs):
        assert pair.opening == opening_for_seed("tictactoe", seed)
        assert pair.first.opening == pair.second.opening == pair.opening
        assert pair.score() == pair.first.score("player_1") + pair.second.score("player_2")
        assert pair.score() in (0.0, 0.5, 1.0, 1.5, 2.0)
        (a_first, a_score), (b_first, b_score) = [(g[0], g[2]) for g in pair.games("strong", "weak")]
        assert (a_first, b_first) == ("strong", "weak")
        assert a_score + (1.0 - b_score) == pair.score()
    assert sum(p.score() for p in pairs) > 25  # perfect play against random: mostly wins
    book = [[4], [0]]
    assert [p.opening for p in play_pairs("tictactoe", strong, weak, range(3), openings=book)] == [
        [4],
        [0],
        [4],
    ]


def test_a_sampling_player_varies_its_games_and_repeats_them_per_seed() -> None:
    torch = pytest.importorskip("torch")
    from marl.agents import PolicyAgent, SoftmaxAgent

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(18, 9))
    greedy = PolicyAgent(net, device="cpu")
    sampled = {"player_1": SoftmaxAgent(greedy, temperature=1.0), "player_2": SoftmaxAgent(greedy, 1.0)}
    games = [play_match("tictactoe", sampled, seed).moves for seed in range(20)]
    assert games == [play_match("tictactoe", sampled, seed).moves for seed in range(20)]
    assert len({tuple(g) for g in games}) > 10
    assert (
        len({tuple(play_match("tictactoe", {s: greedy for s in sampled}, seed).moves) for seed in range(5)})
        == 1
    )
    cold = SoftmaxAgent(greedy, temperature=1e-6, seed=0)  # near zero: the greedy move
    obs, mask = MatchState("tictactoe", 0).observation()
    assert cold.act(obs, mask) == greedy.act(obs, mask)
    with pytest.raises(MarlError):
        SoftmaxAgent(greedy, temperature=0.0)


class RecordingAgent(RandomAgent):
    """A random agent that records every batch of observations and masks it is shown."""

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed)
        self.batches: list[tuple[np.ndarray, np.ndarray]] = []

    def act_batch(self, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
        self.batches.append((observations.copy(), masks.copy()))
        return super().act_batch(observations, masks)


def _ignore(step: Step) -> None:
    """An on_step callback that keeps play_matches on the PettingZoo env (someone watches)."""


@pytest.mark.parametrize("game", ["tictactoe", "connect_four"])
def test_batched_games_on_the_fast_core_equal_the_env_move_for_move(game: str) -> None:
    seats = GAMES[game].seats
    seeds = list(range(300))
    openings = [opening_for_seed(game, s) for s in seeds]
    fast_agents = {seat: RecordingAgent(i) for i, seat in enumerate(seats)}
    env_agents = {seat: RecordingAgent(i) for i, seat in enumerate(seats)}
    fast = play_matches(game, fast_agents, seeds, openings=openings)
    slow = play_matches(game, env_agents, seeds, _ignore, openings=openings)
    assert fast == slow
    assert {r.reason for r in fast} <= {"win", "draw"} and len({tuple(r.moves) for r in fast}) > 250
    for seat in seats:
        for (obs_a, mask_a), (obs_b, mask_b) in zip(
            fast_agents[seat].batches, env_agents[seat].batches, strict=True
        ):
            assert obs_a.dtype == obs_b.dtype and np.array_equal(obs_a, obs_b)
            assert mask_a.dtype == mask_b.dtype and np.array_equal(mask_a, mask_b)


@pytest.mark.parametrize("game", ["tictactoe", "connect_four"])
def test_an_illegal_move_forfeits_the_same_way_on_the_fast_core(game: str) -> None:
    seats = GAMES[game].seats

    class IllegalInBatches(RandomAgent):
        def act_batch(self, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
            illegal = np.asarray(masks) == 0  # the first illegal action of each row, else one out of range
            return np.where(illegal.any(axis=1), illegal.argmax(axis=1), illegal.shape[1])

    agents = {seats[0]: RandomAgent(0), seats[1]: IllegalInBatches(1)}
    fast = play_matches(game, agents, [0, 1, 2])
    assert fast == play_matches(game, agents, [0, 1, 2], _ignore)
    assert {r.reason for r in fast} == {"illegal_move"}


class _HistoryAgent:
    """A position agent: records the history it is handed and plays the first legal action."""

    needs_moves = True

    def __init__(self) -> None:
        self.seen: list[list[int]] = []

    def reset(self, seed: int | None = None) -> None:
        self.seen.clear()

    def act_moves(self, moves: list[int], observation: np.ndarray, action_mask: np.ndarray) -> int:
        self.seen.append(list(moves))
        return int(np.flatnonzero(action_mask)[0])


@pytest.mark.parametrize("batched", [False, True])
def test_a_position_agent_is_handed_every_move_played_so_far(batched: bool) -> None:
    engine = _HistoryAgent()
    agents = {"player_1": engine, "player_2": RandomAgent(3)}
    opening = opening_for_seed("tictactoe", 5, 2)
    if batched:
        (result,) = play_matches("tictactoe", agents, [5], openings=[opening])
    else:
        result = play_match("tictactoe", agents, 5, opening=opening)
    assert engine.seen, "the position agent never moved"
    for history in engine.seen:
        assert history == result.moves[: len(history)]
        assert len(history) % 2 == 0  # player_1 moves after an even number of plies
    assert engine.seen[0] == opening


def _first_seat_ahead(raw: object) -> dict:
    return {"returns": {"player_1": 1.0, "player_2": -1.0}, "reason": "move_limit"}


def test_a_game_reaching_its_move_bound_is_decided_by_the_games_adjudication() -> None:
    spec = dataclasses.replace(GAMES["tictactoe"], max_moves=3, adjudicate=_first_seat_ahead)
    agents = {"player_1": RandomAgent(0), "player_2": RandomAgent(1)}
    result = play_match(spec, agents, seed=4)
    assert (result.reason, result.winner, len(result.moves)) == ("move_limit", "player_1", 3)
    for batched in play_matches(spec, agents, [4]) + play_matches(spec, agents, [4], _ignore):
        assert batched.reason == "move_limit" and batched.winner == "player_1"
    with MatchState(spec, 4, result.moves) as replayed:  # a replay is decided the same way
        assert replayed.state_json()["result"]["reason"] == "move_limit"


def test_without_adjudication_the_move_bound_is_an_undecided_draw() -> None:
    spec = dataclasses.replace(GAMES["tictactoe"], max_moves=3)
    result = play_match(spec, {"player_1": RandomAgent(0), "player_2": RandomAgent(1)}, seed=4)
    assert (result.reason, result.winner) == ("max_moves", None)


class _SlowAgent(RandomAgent):
    def act(self, observation: np.ndarray, action_mask: np.ndarray) -> int:
        time.sleep(0.05)
        return super().act(observation, action_mask)

    def act_batch(self, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
        time.sleep(0.05)
        return super().act_batch(observations, masks)


@pytest.mark.parametrize("batched", [False, True])
def test_a_move_over_the_move_time_limit_fails_the_match_instead_of_deciding_it(batched: bool) -> None:
    spec = dataclasses.replace(GAMES["tictactoe"], move_time_limit_s=0.01)
    agents = {"player_1": RandomAgent(0), "player_2": _SlowAgent(1)}
    with pytest.raises(TimeLimitError, match="player_2 took .* the move time limit is 0.01s"):
        if batched:
            play_matches(spec, agents, [0, 1], _ignore)
        else:
            play_match(spec, agents, seed=0)


def test_a_seat_over_its_game_time_limit_fails_the_match() -> None:
    spec = dataclasses.replace(GAMES["tictactoe"], game_time_limit_s=0.08)
    agents = {"player_1": _SlowAgent(0), "player_2": RandomAgent(1)}
    with pytest.raises(TimeLimitError, match="player_1 has used .* game time limit is 0.08s"):
        play_match(spec, agents, seed=0)
