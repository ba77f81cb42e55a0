"""Chess in the registry: PettingZoo's action indices against python-chess, notation, results, limits."""

from __future__ import annotations

import chess
import numpy as np
import pytest
from pettingzoo.classic.chess import chess_utils

from marl.agents import RandomAgent
from marl.errors import IllegalMoveError
from marl.games import get_game
from marl.games_chess import board_from_actions, legal_actions, move_to_action
from marl.match import MatchState, advance, play_match

SPEC = get_game("chess")
FOOLS_MATE = ["f2f3", "e7e5", "g2g4", "d8h4"]
# Sam Loyd's ten-move stalemate (white's 10. Qe6 leaves black without a move).
STALEMATE = [
    "e2e3",
    "a7a5",
    "d1h5",
    "a8a6",
    "h5a5",
    "h7h5",
    "h2h4",
    "a6h6",
    "a5c7",
    "f7f6",
    "c7d7",
    "e8f7",
    "d7b7",
    "d8d3",
    "b7b8",
    "d3h7",
    "b8c8",
    "f7g6",
    "c8e6",
]


def _actions(ucis: list[str]) -> list[int]:
    board, actions = chess.Board(), []
    for uci in ucis:
        move = chess.Move.from_uci(uci)
        actions.append(move_to_action(board, move))
        board.push(move)
    return actions


def test_action_indices_match_pettingzoo_and_python_chess_move_for_move_over_random_games() -> None:
    rng = np.random.default_rng(0)
    positions, kinds = 0, set()
    for seed in range(12):
        state = MatchState("chess", seed)
        board = chess.Board()
        while not state.done:
            _, mask = state.observation()
            ours = legal_actions(board)
            assert set(ours) == set(np.flatnonzero(mask)) == set(chess_utils.legal_moves(board))
            player = 0 if board.turn == chess.WHITE else 1
            for action, move in ours.items():
                assert chess_utils.action_to_move(board, action, player) == move
                kinds.add((player, _kind(board, move)))
            action = int(rng.choice(sorted(ours)))
            state.apply(action)
            board.push(ours[action])
            assert state.env.unwrapped.board.fen() == board.fen()
            positions += 1
        state.close()
    assert positions > 1000
    # Both colours' castling, en passant, promotions and under-promotions were among the moves checked.
    assert {(p, k) for p in (0, 1) for k in ("castling", "en_passant", "promotion", "under")} <= kinds


def _kind(board: chess.Board, move: chess.Move) -> str:
    if board.is_castling(move):
        return "castling"
    if board.is_en_passant(move):
        return "en_passant"
    if move.promotion:
        return "promotion" if move.promotion == chess.QUEEN else "under"
    return "plain"


def test_state_json_gives_fen_san_last_move_check_and_legal_moves_in_uci() -> None:
    state = MatchState("chess", 0, _actions(["e2e4", "f7f6", "d2d4", "g7g5", "d1h5"])).state_json()
    assert state["fen"] == "rnbqkbnr/ppppp2p/5p2/6pQ/3PP3/8/PPP2PPP/RNB1KBNR b KQkq - 1 3"
    assert state["san"] == ["e4", "f6", "d4", "g5", "Qh5#"]
    assert state["last_move"] == "d1h5" and state["check"] and state["checkmate"]
    assert state["legal"] == [] and state["to_move"] is None
    assert state["result"] == {
        "winner": "player_0",
        "returns": {"player_0": 1.0, "player_1": -1.0},
        "reason": "checkmate",
    }
    start = MatchState("chess", 0).state_json()
    assert (
        len(start["legal"]) == 20
        and {
            "uci": "g1f3",
            "action": move_to_action(chess.Board(), chess.Move.from_uci("g1f3")),
            "san": "Nf3",
        }
        in start["legal"]
    )
    assert sorted(m["action"] for m in start["legal"]) == start["legal_moves"]
    assert start["board"][0] == list("rnbqkbnr") and start["board"][7] == list("RNBQKBNR")


@pytest.mark.parametrize(
    ("ucis", "reason", "winner"),
    [
        (FOOLS_MATE, "checkmate", "player_1"),
        (STALEMATE, "stalemate", None),
        # The third time the start position could be reached the draw is claimed (PettingZoo claims it).
        (["g1f3", "g8f6", "f3g1", "f6g8", "g1f3", "g8f6", "f3g1"], "repetition", None),
    ],
)
def test_a_game_ends_with_the_reason_python_chess_gives(
    ucis: list[str], reason: str, winner: str | None
) -> None:
    with MatchState("chess", 0, _actions(ucis)) as state:
        assert state.done
        result = state.result()
    assert (result.reason, result.winner) == (reason, winner)
    assert sum(result.returns.values()) == 0


def test_insufficient_material_and_the_fifty_move_rule_are_named() -> None:
    state = MatchState("chess", 0)
    raw = state.env.unwrapped
    raw.board = chess.Board("8/8/4k3/8/8/3K4/8/8 w - - 0 1")
    assert SPEC.result(raw)["reason"] == "insufficient_material"
    raw.board = chess.Board("8/8/4k3/8/8/3K4/8/7R w - - 100 80")
    assert SPEC.result(raw)["reason"] == "fifty_moves"
    state.close()


def test_the_move_limit_adjudicates_a_draw() -> None:
    agents = {"player_0": RandomAgent(0), "player_1": RandomAgent(1)}
    with MatchState("chess", 3, max_moves=12) as state:
        advance(state, agents)
        result = state.result()
    assert (result.reason, result.winner, len(result.moves)) == ("max_moves", None, 12)
    assert result.returns == {"player_0": 0.0, "player_1": 0.0}


def test_a_stored_move_list_replays_to_the_same_fen() -> None:
    result = play_match("chess", {"player_0": RandomAgent(4), "player_1": RandomAgent(5)}, seed=9)
    with MatchState("chess", 9, result.moves) as replayed:
        fen = replayed.state_json()["fen"]
        san = replayed.state_json()["san"]
    board = board_from_actions(result.moves)
    assert fen == board.fen() and len(san) == len(result.moves)
    assert chess.Board().variation_san(board.move_stack).endswith(san[-1])


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"uci": "e2e5"}, "e2e5 is not a legal move here"),
        ({"uci": "e2"}, "a UCI move is a string"),
        ({"uci": "zz99"}, "not a UCI move"),
        ({"uci": 17}, "a UCI move is a string"),
        ({"uci": "e2e4", "x": 1}, "unexpected move keys"),
        ({"uci": "g1f3q"}, "only a pawn reaching the last rank promotes"),
        ({"uci": "b7a8"}, "promotes a pawn: say to what"),
        ({"uci": "b7a8k"}, "a pawn promotes to q, r, b or n"),
        ({"action": 4671}, "is not a legal move here"),
    ],
)
def test_a_bad_move_is_refused_with_a_clear_error(payload: dict, message: str) -> None:
    with MatchState(
        "chess", 0, _actions(["a2a4", "b7b5", "a4b5", "a7a6", "b5a6", "c8b7", "a6b7", "g8f6"])
    ) as state:
        before = state.state_json()["fen"]
        with pytest.raises(IllegalMoveError, match=message):
            SPEC.move_from_json(state.env, payload)
        assert state.state_json()["fen"] == before


def test_a_promotion_is_accepted_in_uci_and_as_an_action_index() -> None:
    setup = _actions(["a2a4", "b7b5", "a4b5", "a7a6", "b5a6", "c8b7", "a6b7", "g8f6"])
    for piece in "qrbn":
        with MatchState("chess", 0, setup) as state:
            action = SPEC.move_from_json(state.env, {"uci": f"b7a8{piece}"})
            assert SPEC.move_from_json(state.env, {"action": action}) == action
            state.apply(action)
            assert state.state_json()["fen"].startswith(f"{piece.upper()}n")
            assert state.state_json()["san"][-1] == f"bxa8={piece.upper()}"
