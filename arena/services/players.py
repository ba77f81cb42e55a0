"""Players: what sits in a seat (an agent version, a reference bot or a person), and turning one into a
`marl` agent that can move in that seat.

An agent version is an **entrant**: the agent's checkpoint for each seat at that version. A checkpoint
player stands for its entrant; in a game it plays each seat with the entrant's checkpoint for that seat
(the checkpoint itself in the seat it learned, a sibling of the same version elsewhere). An entrant with
no policy for a seat is refused for it, naming the seats it learned.

Any checkpoint or agent version may play with tree search on top: `checkpoint:<id> + mcts:N` (PUCT with
the network's prior and value, N simulations a move, at most ARENA_MAX_SEARCH_SIMULATIONS). It is a
player of its own (`Player.search`), rated apart from the bare checkpoint.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError

from arena.models import Agent as AgentRow
from arena.models import Checkpoint, Game, Player
from arena.services.agents import agent_check_active
from marl.agents import Agent
from marl.bots import make_bot
from marl.errors import MarlError
from marl.fastgames import fast_game
from marl.games import GameSpec, get_game
from marl.match import MatchResult, opening_for_seed, play_matches
from marl.poker_match import play_poker_match

SEARCH_SUFFIX = re.compile(r"^(?P<base>.*?)\s*\+\s*mcts:(?P<n>\S*)$", re.IGNORECASE)


def player_for_checkpoint(*, checkpoint: Checkpoint, search: int = 0) -> Player:
    """The checkpoint's player, bare or (`search` > 0) with that many simulations of search on top."""
    player, _ = Player.objects.get_or_create(
        game=checkpoint.agent.game, kind=Player.CHECKPOINT, checkpoint=checkpoint, search=search
    )
    return player


def search_budget_check(*, game: Game, simulations: object) -> int:
    """A search budget as a whole number of simulations from 1 to ARENA_MAX_SEARCH_SIMULATIONS, for a
    game with a fast core (search runs on those); ValidationError otherwise."""
    limit = settings.ARENA_MAX_SEARCH_SIMULATIONS
    try:
        n = int(str(simulations))
    except ValueError:
        raise ValidationError(f"mcts:N needs a whole number of simulations, got {simulations!r}") from None
    if not 1 <= n <= limit:
        raise ValidationError(
            f"a search budget must be 1 to {limit} simulations a move (ARENA_MAX_SEARCH_SIMULATIONS), got {n}"
        )
    try:
        fast_game(game.name)
    except MarlError:
        raise ValidationError(f"search is not available for {game.name}: it has no fast game core") from None
    return n


def _split_search(game: Game, spec: str) -> tuple[str, int]:
    """`<player> + mcts:N` as the player's spec and the checked budget; a plain spec with budget 0."""
    found = SEARCH_SUFFIX.match(spec.strip())
    if found is None:
        return spec.strip(), 0
    return found.group("base"), search_budget_check(game=game, simulations=found.group("n"))


def player_for_bot(*, game: Game, bot: str) -> Player:
    """The player for a bot spec, checked when it is entered (a bad spec never reaches a worker)."""
    bot = str(bot).strip().lower()[:80]
    if bot.startswith("mcts:"):
        search_budget_check(game=game, simulations=bot.removeprefix("mcts:"))
    try:
        make_bot(game.name, bot)  # cheap: builds the bot, searches nothing
    except MarlError as exc:
        raise ValidationError(str(exc)[:300]) from None
    player, _ = Player.objects.get_or_create(game=game, kind=Player.BOT, bot=bot)
    return player


def player_for_user(*, game: Game, user) -> Player:
    player, _ = Player.objects.get_or_create(game=game, kind=Player.HUMAN, user=user)
    return player


def player_from_spec(*, game: Game, spec: str, user=None, seat: str | None = None) -> Player:
    """Parse a seat spec: `checkpoint:<id>`, `agent:<id>@<version>` (either with ` + mcts:N` for search
    on top), `bot:<name>` or `human` (the requesting user). With `seat`, a checkpoint must be one learned
    for that seat, and an agent version must have a policy for it."""
    base, search = _split_search(game, str(spec))
    player = _player_from_base(game, base, user, seat)
    if not search:
        return player
    if player.kind != Player.CHECKPOINT:
        raise ValidationError(
            "search (+ mcts:N) goes on top of a checkpoint or an agent version; the search bot is bot:mcts:N"
        )
    return player_for_checkpoint(checkpoint=player.checkpoint, search=search)


def _player_from_base(game: Game, spec: str, user, seat: str | None) -> Player:
    kind, _, value = spec.partition(":")
    if kind == "agent":
        player = player_for_entrant(game=game, spec=value)
        if seat is not None:
            entrant_checkpoint(checkpoint=player.checkpoint, seat=seat)
        return player
    if kind == "checkpoint":
        try:
            checkpoint = Checkpoint.objects.select_related("agent__game").get(pk=int(value))
        except (ValueError, Checkpoint.DoesNotExist):
            raise ValidationError(f"no checkpoint {value!r}") from None
        if checkpoint.agent.game_id != game.pk:
            raise ValidationError(
                f"checkpoint {checkpoint.pk} is for {checkpoint.agent.game.name}, not {game.name}"
            )
        agent_check_active(agent=checkpoint.agent)
        if seat is not None and checkpoint.seat != seat:
            raise ValidationError(
                f"checkpoint {checkpoint.label} learned {checkpoint.seat}, not {seat}: "
                f"put it in {checkpoint.seat}, or enter agent:{checkpoint.agent_id}@{checkpoint.version}"
            )
        return player_for_checkpoint(checkpoint=checkpoint)
    if kind == "bot":
        return player_for_bot(game=game, bot=value)
    if kind == "human":
        if user is None or not user.is_authenticated:
            raise ValidationError("a human seat needs a signed-in user")
        return player_for_user(game=game, user=user)
    raise ValidationError(
        f"bad seat {spec!r}: use checkpoint:<id>, agent:<id>@<version> (either + mcts:N), bot:<name> or human"
    )


def player_for_entrant(*, game: Game, spec: str) -> Player:
    """The player for `<agent id>@<version>`: the version's checkpoint in the agent's first seat."""
    agent_part, _, version_part = str(spec).partition("@")
    try:
        agent = AgentRow.objects.select_related("game").get(pk=int(agent_part))
        version = int(version_part)
    except (ValueError, AgentRow.DoesNotExist):
        raise ValidationError(f"bad entrant {spec!r}: use agent:<id>@<version>") from None
    if agent.game_id != game.pk:
        raise ValidationError(f"agent {agent.name} plays {agent.game.name}, not {game.name}")
    checkpoints = entrant_checkpoints(agent=agent, version=version)
    if not checkpoints:
        raise ValidationError(f"agent {agent.name} has no checkpoint at version {version}")
    return player_for_checkpoint(checkpoint=next(iter(checkpoints.values())))


def entrant_checkpoints(*, agent: AgentRow, version: int) -> dict[str, Checkpoint]:
    """The agent's checkpoint for each seat at `version`, in the game's seat order."""
    rows = {c.seat: c for c in agent.checkpoints.filter(version=version).select_related("agent__game")}
    return {seat: rows[seat] for seat in agent.game.seats if seat in rows}


def entrant_checkpoint(*, checkpoint: Checkpoint, seat: str) -> Checkpoint:
    """The checkpoint that plays `seat` for `checkpoint`'s entrant (its agent at its version).

    Raises ValidationError naming the seats the entrant learned when it has no policy for `seat`.
    """
    if checkpoint.seat == seat:
        return checkpoint
    siblings = entrant_checkpoints(agent=checkpoint.agent, version=checkpoint.version)
    if seat not in siblings:
        raise ValidationError(
            f"{checkpoint.agent.name}@v{checkpoint.version} has no policy for {seat}: "
            f"it learned {', '.join(siblings) or checkpoint.seat}"
        )
    return siblings[seat]


def player_seats(*, player: Player) -> list[str]:
    """The seats this player can take: every seat for a bot or a person, an entrant's learned seats."""
    seats = list(player.game.seats)
    if player.kind != Player.CHECKPOINT:
        return seats
    checkpoint = player.checkpoint
    return list(entrant_checkpoints(agent=checkpoint.agent, version=checkpoint.version)) or [checkpoint.seat]


def player_check_seats(*, player: Player, seats: Sequence[str]) -> None:
    """Refuse a player that has no policy for one of `seats` (a tournament plays both seats)."""
    for seat in seats:
        if player.kind == Player.CHECKPOINT:
            entrant_checkpoint(checkpoint=player.checkpoint, seat=seat)


def player_agent(
    *, player: Player, seed: int | None = None, seat: str | None = None, value: bool = False
) -> Agent:
    """A `marl` agent that plays `seat` for this player. Checkpoints are loaded (and verified) from disk:
    in `seat`, the entrant's checkpoint for it (without `seat`, the player's own checkpoint), with the
    player's search on top when it has one; with `value`, a policy network's value network too (the
    play page's win probability), where its training state holds one."""
    if player.kind == Player.BOT:
        return make_bot(player.game.name, player.bot, seed=seed)
    if player.kind == Player.CHECKPOINT:
        checkpoint = (
            player.checkpoint if seat is None else entrant_checkpoint(checkpoint=player.checkpoint, seat=seat)
        )
        if player.search:
            from marl.search import checkpoint_search_agent  # lazy: torch

            return checkpoint_search_agent(player.game.name, checkpoint.absolute_path(), player.search)
        from marl.checkpoints import load_agent  # lazy: torch

        return load_agent(checkpoint.absolute_path(), value=value)
    raise ValueError(f"{player} is a person; people move through the play service")


def player_agents(
    *, player: Player, seats: Sequence[str] | None = None, seed: int | None = None
) -> dict[str, Agent]:
    """A `marl` agent per seat this player can take (of `seats`, all the game's by default); a bot is one
    agent for every seat."""
    can_take = player_seats(player=player)
    wanted = [s for s in (seats or player.game.seats) if s in can_take]
    if player.kind == Player.BOT:
        bot = player_agent(player=player, seed=seed)
        return dict.fromkeys(wanted, bot)
    return {seat: player_agent(player=player, seed=seed, seat=seat) for seat in wanted}


# ------------------------------------------------------------------------------------- game pairs
@dataclass(frozen=True)
class EntrantGame:
    """One game between two entrants: `a_seat` is the seat entrant A played; `score` is A's."""

    opening: int
    a_seat: str
    result: MatchResult

    @property
    def score(self) -> float:
        return self.result.score(self.a_seat)


def entrants_play(
    game: str,
    a: Mapping[str, Agent],
    b: Mapping[str, Agent],
    seeds: Sequence[int],
    *,
    plies: int | None = None,
    hands: bool = False,
) -> list[EntrantGame]:
    """The games of the pool between two entrants, one unit per seed: each seed's opening played once
    per seat A can take against B in the other seat, a game pair (seats swapped) when both have
    policies for both seats. Two-player games; batched per seat.

    In poker (a game whose match is many hands: `poker_matches.poker_game_is`) a unit is one poker
    match of the game's `hands_per_match` hands from the seed, scored as one game by
    `PokerMatch.match_result` (a win only when A's mbb/hand interval excludes 0): duplicate, A in the
    first seat, when both entrants play both seats (duplicate already swaps the seats inside it, so one
    match per seed, not two), else one match per seat A can take, each deal played once. With `hands`,
    poker is played as board games are, one hand a game (the gates' SPRT counts duplicate deals)."""
    spec = get_game(game)
    if spec.hands_per_match > 1 and not hands:
        return _poker_matches_play(spec, a, b, seeds)
    one, two = spec.seats[:2]
    openings = [opening_for_seed(spec, seed, plies) for seed in seeds]
    played: list[EntrantGame] = []
    for a_seat, b_seat in ((one, two), (two, one)):
        if a_seat not in a or b_seat not in b:
            continue
        results = play_matches(spec, {a_seat: a[a_seat], b_seat: b[b_seat]}, list(seeds), openings=openings)
        played += [EntrantGame(i, a_seat, r) for i, r in enumerate(results)]
    if not played:
        raise ValidationError("these two entrants have no seats to play each other in")
    return played


def _poker_matches_play(
    spec: GameSpec, a: Mapping[str, Agent], b: Mapping[str, Agent], seeds: Sequence[int]
) -> list[EntrantGame]:
    """One poker match per seed (per seat A can take, unless both play both seats: one duplicate)."""
    one, two = spec.seats[:2]
    both = {one, two} <= set(a) and {one, two} <= set(b)
    seats = [one] if both else [s for s, t in ((one, two), (two, one)) if s in a and t in b]
    if not seats:
        raise ValidationError("these two entrants have no seats to play each other in")
    deals = spec.hands_per_match // 2 if both else spec.hands_per_match
    played: list[EntrantGame] = []
    for a_seat in seats:
        first, second = (a, b) if a_seat == one else (b, a)
        for i, seed in enumerate(seeds):
            match = play_poker_match(spec, first, second, deals=deals, seed=seed, duplicate=both)
            played.append(EntrantGame(i, a_seat, match.match_result()))
    return played


def pair_scores(games: Sequence[EntrantGame]) -> list[float]:
    """A's points per opening over both seats (0..2), for openings played in both seats."""
    by_opening: dict[int, list[float]] = {}
    for g in games:
        by_opening.setdefault(g.opening, []).append(g.score)
    return [sum(scores) for scores in by_opening.values() if len(scores) == 2]
