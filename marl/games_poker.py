"""Poker's game entries: what a viewer may see of a hand, and named moves (fold, call, raise N).

PettingZoo's poker envs wrap RLCard games; this module reads the RLCard game behind a raw env
(``raw.env.game``) and never imports PettingZoo itself. A hand is one game of the match loop: the
deal (hole cards, board and the small blind's seat) is drawn by RLCard's generator from the seed
the env is reset with, so a seed is a deal and replaying the moves rebuilds the hand exactly.

Hidden information: ``poker_view(raw, viewer, reveal)`` is the only reader of hole cards. A seat
sees its own cards; nobody sees the other's before a showdown; a folded hand is never shown except
to the seats named in ``reveal`` (a finished match's replay when the setting allows it).
"""

from __future__ import annotations

import numbers
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from marl.errors import IllegalMoveError

# PettingZoo's seat names for every RLCard game.
SEATS = ("player_0", "player_1")

# Leduc and limit hold'em share RLCard's action order; no-limit has its own.
LIMIT_ACTIONS = ("call", "raise", "fold", "check")
NO_LIMIT_ACTIONS = ("fold", "check_call", "raise_half_pot", "raise_pot", "all_in")


def _game(raw: Any) -> Any:
    return raw.env.game


def _seat(index: int) -> str:
    return SEATS[index]


def _cards(hand: Any) -> list[str]:
    """RLCard cards as ``"SK"`` strings (suit then rank; ``T`` is ten)."""
    if hand is None:
        return []
    if isinstance(hand, list | tuple):
        return [card.get_index() for card in hand]
    return [hand.get_index()]


def _folded(player: Any) -> bool:
    status = getattr(player.status, "name", player.status)  # Leduc: a string; hold'em: an enum
    return str(status).lower() == "folded"


def board_cards(raw: Any) -> list[str]:
    """The public cards dealt so far (Leduc has one, hold'em up to five)."""
    game = _game(raw)
    if hasattr(game, "public_cards"):
        return _cards(game.public_cards or [])
    return _cards(game.public_card)


def small_blind_seat(raw: Any) -> str:
    """The seat that posted the small blind: it acts first, and seats alternate strictly after."""
    recorded = raw.env.action_recorder
    if recorded:
        return _seat(int(recorded[0][0]))
    return _seat(int(_game(raw).game_pointer))


def _history(raw: Any, names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each action with its betting round (0: before any board card) and the chips it put in.

    RLCard records only (player, action), so this replays its betting rules on the chips: the blinds;
    a limit raise is the call plus the game's raise amount (doubled from Leduc's second round, from
    hold'em's turn); a no-limit raise puts in half the pot, the pot or the whole stack; a round ends
    once both players have acted since its last raise, a player all in counting as having acted.
    ``tests/marl/test_poker_history.py`` checks it against RLCard's chips and rounds, step by step."""
    game = _game(raw)
    recorded = [(int(p), str(getattr(a, "name", a)).lower()) for p, a in raw.env.action_recorder]
    first = recorded[0][0] if recorded else int(game.game_pointer)
    chips = [0, 0]
    chips[first], chips[1 - first] = int(game.small_blind), int(game.big_blind)
    step = int(getattr(game, "raise_amount", 0))  # limit games only
    start = [int(p.in_chips) + int(getattr(p, "remained_chips", 10**9)) for p in game.players]
    leduc = not hasattr(game, "public_cards")
    street, acted, all_in = 0, 0, 0
    out = []
    for player, name in recorded:
        owed = max(chips) - chips[player]
        doubled = street >= (1 if leduc else 2)
        put = {
            "call": owed,
            "check_call": owed,
            "raise": owed + (2 * step if doubled else step),
            "raise_half_pot": sum(chips) // 2,
            "raise_pot": sum(chips),
            "all_in": start[player] - chips[player],
        }.get(name, 0)
        put = min(put, start[player] - chips[player])
        chips[player] += put
        acted = 1 if name in ("raise", "raise_half_pot", "raise_pot", "all_in") else acted + 1
        if name != "fold" and chips[player] == start[player]:  # all in: it acts no more
            all_in, acted = all_in + 1, acted - 1
        out.append({"seat": _seat(player), "action": name, "round": street, "chips": put})
        if acted + all_in >= len(chips):
            street, acted = street + 1, 0
    return out


def _revealed(raw: Any, done: bool, viewer: str | None, reveal: Collection[str]) -> dict[str, bool]:
    """Which seats' hole cards this viewer may see now."""
    players = _game(raw).players
    folded = [_folded(p) for p in players]
    showdown = done and not any(folded)
    return {
        _seat(i): seat == viewer or (showdown and not folded[i]) or seat in reveal
        for i, seat in ((i, _seat(i)) for i in range(len(players)))
    }


def _legal_actions(raw: Any, names: tuple[str, ...], legal: list[int]) -> list[dict[str, Any]]:
    """The legal actions of the seat to move, named, with the chips each puts in now."""
    game = _game(raw)
    mover = game.players[game.game_pointer]
    chips = [p.in_chips for p in game.players]
    to_call = max(chips) - mover.in_chips
    out = []
    for index in legal:
        name = names[index]
        entry: dict[str, Any] = {"action": index, "name": name, "amount": _amount(game, name, to_call)}
        if name in ("call", "check_call"):
            entry["label"] = "check" if to_call == 0 else f"call {to_call}"
        out.append(entry)
    return out


def _amount(game: Any, name: str, to_call: int) -> int:
    if name in ("fold", "check"):
        return 0
    if name in ("call", "check_call"):
        return int(to_call)
    if name == "raise":  # limit: call, then raise by the round's fixed amount
        return int(to_call + game.round.raise_amount)
    pot = int(game.dealer.pot)
    mover = game.players[game.game_pointer]
    return {"raise_half_pot": pot // 2, "raise_pot": pot, "all_in": int(mover.remained_chips)}[name]


def poker_view(
    raw: Any,
    viewer: str | None,
    *,
    done: bool,
    legal: list[int],
    names: tuple[str, ...],
    reveal: Collection[str] = (),
) -> dict[str, Any]:
    """The hand as ``viewer`` (a seat, or ``None`` for a spectator) may see it."""
    game = _game(raw)
    shown = _revealed(raw, done, viewer, reveal)
    players = game.players
    stacks = {_seat(i): int(p.remained_chips) for i, p in enumerate(players) if hasattr(p, "remained_chips")}
    return {
        "viewer": viewer,
        "hands": {_seat(i): _cards(p.hand) if shown[_seat(i)] else None for i, p in enumerate(players)},
        "board_cards": board_cards(raw),
        "bets": {_seat(i): int(p.in_chips) for i, p in enumerate(players)},
        "pot": int(sum(p.in_chips for p in players)),
        "stacks": stacks or None,
        "small_blind": small_blind_seat(raw),
        "folded": next((_seat(i) for i, p in enumerate(players) if _folded(p)), None),
        "showdown": done and not any(_folded(p) for p in players),
        "history": _history(raw, names),
        "actions": _legal_actions(raw, names, legal) if legal else [],
    }


def revealed_at_end(raw: Any, *, show_folded: bool) -> frozenset[str]:
    """The seats whose cards a finished hand's replay may show: both after a showdown; after a fold
    (or a resignation) neither, unless ``show_folded`` (those cards were never shown at the table)."""
    game = _game(raw)
    players = game.players
    if show_folded or (game.is_over() and not any(_folded(p) for p in players)):
        return frozenset(SEATS[: len(players)])
    return frozenset()


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def poker_move(raw: Any, names: tuple[str, ...], payload: Mapping[str, Any]) -> int:
    """``{"move": "fold" | "check" | "call" | "raise" | ..., "amount": n}`` as a legal action index.

    ``amount`` (the chips the move puts in now) is required where a name allows several sizes (a
    no-limit ``raise``) and must equal a legal size; a wrong one is refused, naming the legal ones.
    """
    unknown = set(payload) - {"move", "amount"}
    if unknown or "move" not in payload:
        raise IllegalMoveError('send {"move": NAME} or {"move": "raise", "amount": CHIPS}')
    if _game(raw).is_over():
        raise IllegalMoveError("the hand is over")
    legal = [int(a) for a in np.flatnonzero(raw.observe(raw.agent_selection)["action_mask"])]
    name, amount = payload["move"], payload.get("amount")
    if amount is not None and (not _is_int(amount) or amount < 0):
        raise IllegalMoveError(f"amount must be a non-negative whole number of chips, got {amount!r}")
    options = [a for a in _legal_actions(raw, names, legal) if _matches(a, name)]
    if not options:
        offered = ", ".join(_describe(a) for a in _legal_actions(raw, names, legal)) or "none"
        raise IllegalMoveError(f"{name!r} is not a legal move here; legal: {offered}")
    if amount is not None:
        options = [a for a in options if a["amount"] == amount]
        if not options:
            sizes = ", ".join(_describe(a) for a in _legal_actions(raw, names, legal) if _matches(a, name))
            raise IllegalMoveError(f"{name} of {amount} chips is not a legal size here; legal: {sizes}")
    if len(options) > 1:
        sizes = ", ".join(str(a["amount"]) for a in options)
        raise IllegalMoveError(f"say how many chips to {name}: one of {sizes}")
    return int(options[0]["action"])


def _matches(action: Mapping[str, Any], name: object) -> bool:
    if action["name"] == name:
        return True
    if action["name"] == "check_call":
        return name == ("check" if action["amount"] == 0 else "call")
    return name in ("raise", "bet") and action["name"] in ("raise", "raise_half_pot", "raise_pot", "all_in")


def _describe(action: Mapping[str, Any]) -> str:
    if action["name"] in ("fold", "check"):
        return str(action["name"])
    label = action.get("label") or action["name"].replace("_", " ")
    return label if action["name"] in ("call", "check_call") else f"{label} {action['amount']}"


def describe_action(names: tuple[str, ...], action: int) -> str:
    """An action index as its name (``raise (action 1)``)."""
    name = names[action] if 0 <= action < len(names) else "?"
    return f"{name.replace('_', ' ')} (action {action})"
