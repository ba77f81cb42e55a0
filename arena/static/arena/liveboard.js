// A live board for any page: it follows one match over ws/matches/<id>/ (snapshot, then numbered
// events) and draws it with board.js. The match page and the dashboard's demo game both use it.
import { renderBoard } from "./board.js";
import { LiveSocket } from "./live.js";
import { handOutcome } from "./poker_table.js";

const words = (reason) => (reason || "").replace("_", " ");

// "demo-dqn:player_1@v3 (player_1) wins." — the player's name first, its seat beside it.
export function describeResult(m) {
  if (m.status === "failed") return "The match failed.";
  if (m.status === "aborted") return "The match was aborted.";
  if (m.status !== "finished") return "";
  // A poker hand the rules ended says who won how many chips.
  const hand = m.render_hint === "poker" ? handOutcome(m.state, (s) => (m.seats[s] ? `${m.seats[s]} (${s})` : s)) : null;
  if (hand) return hand.text;
  const result = m.result || m.state.result || {};
  const winner = m.winner || result.winner;
  const reason = m.reason || result.reason || "";
  if (!winner) return `Draw${reason && reason !== "draw" ? ` (${words(reason)})` : ""}.`;
  const name = m.seats[winner] ? `${m.seats[winner]} (${winner})` : winner;
  return `${name} wins${reason && reason !== "win" ? ` by ${words(reason)}` : ""}.`;
}

export function describeTurn(m, state) {
  if (m.status === "pending") return "Waiting for a worker to start the match…";
  if (m.hands > 1 && m.status === "running") return `Playing ${m.hands} hands… ${m.played || 0} played`;
  if (state.to_move && m.status === "running") return `${m.seats[state.to_move] || "?"} (${state.to_move}) to move`;
  return "";
}

export class LiveBoard {
  // `root` holds [data-board], and optionally [data-turn] and [data-result]; `onChange(match)` runs
  // after every redraw (the match page adds its move list and replay).
  constructor(root, matchId, { onStatus = () => {}, onChange = () => {}, onOver = () => {} } = {}) {
    this.root = root;
    this.matchId = matchId;
    this.match = null;
    this.onChange = onChange;
    this.onOver = onOver;
    this.socket = new LiveSocket(`/ws/matches/${matchId}/`, {
      onStatus,
      onSnapshot: (msg) => this.update(msg.match),
      onEvent: (msg) => this.event(msg),
    });
  }

  start(match = null) {
    if (match) this.update(match);
    if (!match || this.isLive()) this.socket.connect();
    return this;
  }

  isLive() {
    return this.match && (this.match.status === "pending" || this.match.status === "running");
  }

  event(msg) {
    const m = this.match;
    if (!m) return;
    if (msg.event === "started" || msg.event === "move" || msg.event === "hands") m.status = "running";
    if (msg.event === "hands") m.played = msg.played;
    if (msg.event === "finished") {
      Object.assign(m, { status: "finished", result: msg.result, winner: msg.result?.winner, reason: msg.result?.reason });
    }
    if (msg.event === "failed") Object.assign(m, { status: "failed", error: msg.error, failure: msg.failure });
    if (msg.state) m.state = msg.state;
    this.update(m);
  }

  update(match) {
    this.match = match;
    this.draw(match.state);
    if (!this.isLive()) {
      this.socket.close(); // nothing more will happen
      this.onOver(match);
    }
  }

  draw(state) {
    // A poker table names its seats by their players; the other boards take no options when watched.
    const poker = this.match.render_hint === "poker" ? { names: this.match.seats || {}, over: !this.isLive() } : null;
    renderBoard(this.root.querySelector("[data-board]"), this.match.render_hint, state, poker);
    const turn = this.root.querySelector("[data-turn]");
    if (turn) turn.textContent = describeTurn(this.match, state);
    const result = this.root.querySelector("[data-result]");
    if (result) result.textContent = describeResult(this.match);
    this.onChange(this.match, state);
  }

  close() {
    this.socket.close();
  }
}
