"""Chess for the game registry: PettingZoo's ``chess_v6`` read and written in chess notation.

The browser and the engines speak FEN, SAN and UCI; the env speaks action indices. The mapping
between them is PettingZoo's own (``chess_utils``): 8x8 source squares times 73 move planes, with the
board mirrored when black moves, so index ``a`` means the same move to the env and to us.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import chess
from pettingzoo.classic.chess import chess_utils

from marl.errors import IllegalMoveError

_PLANES = 73
_PROMOTIONS = {chess.QUEEN: "q", chess.ROOK: "r", chess.BISHOP: "b", chess.KNIGHT: "n"}
# python-chess's terminations as the arena's reasons for the end of a game.
_REASONS = {
    chess.Termination.CHECKMATE: "checkmate",
    chess.Termination.STALEMATE: "stalemate",
    chess.Termination.INSUFFICIENT_MATERIAL: "insufficient_material",
    chess.Termination.THREEFOLD_REPETITION: "repetition",
    chess.Termination.FIVEFOLD_REPETITION: "repetition",
    chess.Termination.FIFTY_MOVES: "fifty_moves",
    chess.Termination.SEVENTYFIVE_MOVES: "fifty_moves",
}


def move_to_action(board: chess.Board, move: chess.Move) -> int:
    """The env's action index for ``move`` (legal on ``board``), from the mover's point of view."""
    if board.turn == chess.BLACK:
        move = chess_utils.mirror_move(move)
    col, row = chess_utils.square_to_coord(move.from_square)
    return (col * 8 + row) * _PLANES + chess_utils.get_move_plane(move)


def legal_actions(board: chess.Board) -> dict[int, chess.Move]:
    """Every legal move on ``board`` by its action index."""
    return {move_to_action(board, move): move for move in board.legal_moves}


def action_to_move(board: chess.Board, action: int) -> chess.Move:
    """The legal move that action index ``action`` stands for on ``board``."""
    move = legal_actions(board).get(int(action))
    if move is None:
        raise IllegalMoveError(f"action {action} is not a legal move in {board.fen()}")
    return move


def board_from_actions(actions: Sequence[int]) -> chess.Board:
    """The board after playing action indices from the start (a stored game, an engine's history)."""
    board = chess.Board()
    for action in actions:
        board.push(action_to_move(board, action))
    return board


def san_moves(board: chess.Board) -> list[str]:
    """The game so far in SAN. Kept on the board and extended move by move: a 300-move game's state is
    read after every move, and replaying it each time would make a game quadratic. (The env builds a
    new board on reset and never takes a move back, so the cache only ever grows.)"""
    cache: list[str]
    cache, replay = getattr(board, "_arena_san", None) or ([], chess.Board())
    if len(cache) > len(board.move_stack):
        cache, replay = [], chess.Board()
    for move in board.move_stack[len(cache) :]:
        cache.append(replay.san(move))
        replay.push(move)
    board._arena_san = (cache, replay)  # type: ignore[attr-defined]
    return list(cache)


def chess_state(raw: Any) -> dict[str, Any]:
    """What the browser draws: FEN, the moves in SAN, the last move, check flags and the legal moves."""
    board: chess.Board = raw.board
    last = board.move_stack[-1].uci() if board.move_stack else None
    legal = sorted(
        (
            {"uci": move.uci(), "action": action, "san": board.san(move)}
            for action, move in legal_actions(board).items()
        ),
        key=lambda m: m["uci"],
    )
    return {
        "fen": board.fen(),
        "board": [row.split(" ") for row in str(board).splitlines()],  # rank 8 first, "." empty
        "san": san_moves(board),
        "last_move": last,
        "turn": "white" if board.turn == chess.WHITE else "black",
        "check": board.is_check(),
        "checkmate": board.is_checkmate(),
        "stalemate": board.is_stalemate(),
        "legal": legal,
    }


def chess_result(raw: Any, seats: tuple[str, ...]) -> dict[str, Any]:
    """The ended game's returns (PettingZoo's rewards) and python-chess's reason for the end."""
    returns = {seat: float(raw.rewards.get(seat, 0.0)) for seat in seats}
    outcome = raw.board.outcome(claim_draw=True)
    reason = _REASONS.get(outcome.termination, "draw") if outcome is not None else "draw"
    winner = None
    if outcome is not None and outcome.winner is not None:
        winner = seats[0] if outcome.winner == chess.WHITE else seats[1]
    return {"winner": winner, "returns": returns, "reason": reason}


def chess_parse_move(raw: Any, payload: Mapping[str, Any]) -> int:
    """``{"uci": "e7e8q"}`` as the action index of that legal move; a clear error otherwise."""
    if set(payload) != {"uci"}:
        raise IllegalMoveError(
            f'unexpected move keys {sorted(map(str, payload))}: send {{"uci": "e2e4"}} or {{"action": n}}'
        )
    text = payload["uci"]
    if not isinstance(text, str) or not 4 <= len(text) <= 5:
        raise IllegalMoveError(f"a UCI move is a string like 'e2e4' or 'e7e8q', got {text!r}")
    try:
        move = chess.Move.from_uci(text.strip().lower())
    except chess.InvalidMoveError:
        raise IllegalMoveError(f"{text!r} is not a UCI move (like 'e2e4' or 'e7e8q')") from None
    board: chess.Board = raw.board
    if board.is_game_over(claim_draw=True) or not any(raw.agents):
        raise IllegalMoveError("the game is over")
    _check_promotion(board, move)
    if move not in board.legal_moves:
        raise IllegalMoveError(f"{move.uci()} is not a legal move here ({_side(board)} to move)")
    return move_to_action(board, move)


def _check_promotion(board: chess.Board, move: chess.Move) -> None:
    piece = board.piece_at(move.from_square)
    reaches_last_rank = chess.square_rank(move.to_square) in (0, 7)
    pawn_promotes = piece is not None and piece.piece_type == chess.PAWN and reaches_last_rank
    if move.promotion is not None and move.promotion not in _PROMOTIONS:
        raise IllegalMoveError(f"{move.uci()}: a pawn promotes to q, r, b or n")
    if move.promotion is not None and not pawn_promotes:
        raise IllegalMoveError(f"{move.uci()}: only a pawn reaching the last rank promotes")
    if (
        pawn_promotes
        and move.promotion is None
        and chess.Move(move.from_square, move.to_square, chess.QUEEN) in board.legal_moves
    ):
        choices = ", ".join(move.uci() + p for p in _PROMOTIONS.values())
        raise IllegalMoveError(f"{move.uci()} promotes a pawn: say to what ({choices})")


def _side(board: chess.Board) -> str:
    return "white" if board.turn == chess.WHITE else "black"


def chess_describe(action: int) -> str:
    """An action index in words (the from-square and plane in the mover's view)."""
    square, plane = divmod(int(action), _PLANES)
    col, row = divmod(square, 8)
    return f"action {action} (from {chess.FILE_NAMES[col]}{row + 1} in the mover's view, plane {plane})"
