"""The agent's side of a human game: its loaded agents kept warm per process, and its replies through
the match loop, each move with the agent's analysis of it."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import marl.agents
from arena.heap import heap_freeze
from arena.models import Match, MatchSeat, Player
from arena.services.play_analysis import move_analysis, search_analysis
from arena.services.play_events import PlayError, play_finish, play_move_event
from arena.services.players import player_agent
from marl.errors import EngineError
from marl.match import MatchState, Step, advance, close_agents
from marl.search import SearchAgent


class WarmAgents:
    """The checkpoint agents in play, kept loaded per process (a bounded LRU): loading one reads and
    hashes its files, and a reply must never wait for that. Keyed by the player's checkpoint (id and
    sha256: a checkpoint's files never change under its hash), the seat it plays and the search on
    top, so a hit costs no query either; the entrant's checkpoint for the seat is looked up on a miss."""

    def __init__(self, size: int) -> None:
        self.size, self.loads = size, 0
        self._agents: OrderedDict[tuple[int, str, str, str], marl.agents.Agent] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, player: Player, seed: int, seat: str) -> marl.agents.Agent:
        if player.kind == Player.BOT:
            return player_agent(player=player, seed=seed)
        key = (player.checkpoint_id, player.checkpoint.sha256, seat, player.search)
        with self._lock:
            agent = self._agents.get(key)
            if agent is not None:
                self._agents.move_to_end(key)
                return agent
        agent = player_agent(player=player, seed=seed, seat=seat, value=True)  # its value: the chart
        with self._lock:
            self.loads += 1
            self._agents[key] = agent
            while len(self._agents) > self.size:
                self._agents.popitem(last=False)
        heap_freeze()  # the agent (and torch, on the first load) lives on: out of the full passes
        return agent

    def clear(self) -> None:
        with self._lock:
            self._agents.clear()


warm_agents = WarmAgents(size=32)


def agents_reply(
    match: Match, seats: list[MatchSeat], state: MatchState | None = None
) -> list[dict[str, Any]]:
    """Let the agent seats move (through the match loop) until a human is to move or the game ends."""
    state = state or MatchState(
        match.game.name, seed=match.seed, moves=match.moves, opening_plies=match.opening_plies
    )
    reply = _Reply(match)
    agents = {
        s.seat: _Thinking(warm_agents.get(s.player, match.seed, s.seat), state, reply.notes)
        for s in seats
        if s.player.kind != Player.HUMAN
    }
    try:
        advance(state, agents, on_step=reply.on_step)
    except EngineError as exc:  # the move rolls back with the transaction; the next try starts afresh
        raise PlayError("engine_failed", f"the opponent's engine failed: {exc}") from None
    finally:
        close_agents(agents)  # an engine's process lives for one reply: the history is sent each time
    if state.done:
        reply.events.append(play_finish(match, state, seats))
    return reply.events


class _Thinking:
    """Wraps an agent so its evaluation of the position is noted as it moves."""

    def __init__(self, agent: marl.agents.Agent, state: MatchState, notes: dict[str, Any]) -> None:
        self.agent, self.state, self.notes = agent, state, notes
        self.needs_moves = marl.agents.needs_moves(agent)  # an engine is handed the move history

    def act(self, observation: Any, mask: Any) -> int:
        if isinstance(self.agent, SearchAgent):  # one search gives both the move and its heat map
            result = self.agent.search(observation, mask)
            self.notes["analysis"] = search_analysis(result, self.state)
            return result.action
        both = getattr(self.agent, "scores_and_act", None)
        if both is not None:  # a policy network: one forward pass gives the scores and the move
            values, action = both(observation, mask)
            self.notes["analysis"] = move_analysis(self.agent, self.state, values)
            return action
        self.notes["analysis"] = move_analysis(self.agent, self.state)
        return self.agent.act(observation, mask)

    def act_moves(self, moves: list[int], observation: Any, mask: Any) -> int:
        self.notes["analysis"] = move_analysis(self.agent, self.state)
        return self.agent.act_moves(moves, observation, mask)  # type: ignore[attr-defined]

    def close(self) -> None:
        close = getattr(self.agent, "close", None)
        if callable(close):
            close()


class _Reply:
    """The agents' moves as events, each with the analysis noted just before it."""

    def __init__(self, match: Match) -> None:
        self.match, self.events, self.notes = match, [], {}

    def on_step(self, step: Step) -> None:
        match = self.match
        match.moves = list(step.state.moves)
        match.seq += 1
        analysis = self.notes.pop("analysis", None)
        self.events.append(play_move_event(match, step.state, step.seat, int(step.action), analysis))
