// Match page: the board drawn from the snapshot, moved on by live events, and a replay slider once
// the match is over.
import { renderBoard } from "./board.js";
import { LiveSocket, statusDot } from "./live.js";

const root = document.getElementById("match");
const boardNode = root.querySelector("[data-board]");
const snapshot = JSON.parse(document.getElementById("match-snapshot").textContent);
let match = snapshot.match; // {status, seats, state, result, reason, winner, render_hint, ...}
let replay = JSON.parse(document.getElementById("match-replay").textContent);
const hint = match.render_hint;

function describeResult(m) {
  if (m.status === "failed") return "The match failed.";
  if (m.status === "aborted") return "The match was aborted.";
  if (m.status !== "finished") return "";
  const result = m.result || m.state.result || {};
  const winner = m.winner || result.winner;
  const reason = m.reason || result.reason || "";
  if (!winner) return `Draw${reason && reason !== "draw" ? ` (${reason.replace("_", " ")})` : ""}.`;
  const who = m.seats[winner] ? ` (${m.seats[winner]})` : "";
  return `${winner}${who} wins${reason && reason !== "win" ? ` by ${reason.replace("_", " ")}` : ""}.`;
}

// The first `opening_plies` moves were the opening (random or given plies the game started from), not
// the players' choices: they are shown apart, greyed.
function showMoves(moves) {
  const node = root.querySelector("[data-moves]");
  const opening = moves.slice(0, match.opening_plies || 0);
  const played = moves.slice(opening.length);
  node.replaceChildren();
  if (opening.length) {
    const span = document.createElement("span");
    span.className = "muted opening";
    span.dataset.opening = "";
    span.textContent = `opening ${opening.join(" ")}`;
    node.append(span, played.length ? " · " : "");
  }
  node.append(played.join(" ") || (opening.length ? "" : "none yet"));
}

function show(state) {
  renderBoard(boardNode, hint, state);
  showMoves(state.moves || []);
  const turn = root.querySelector("[data-turn]");
  if (match.status === "pending") turn.textContent = "Waiting for a worker to start the match…";
  else if (state.to_move && match.status === "running") {
    turn.textContent = `${state.to_move} (${match.seats[state.to_move] || "?"}) to move`;
  } else turn.textContent = "";
  root.querySelector("[data-result]").textContent = describeResult(match);
}

// "Take over from move N" follows the slider; the last position is over, so it steps back from there.
function syncTakeOver(ply, last) {
  const input = root.querySelector("[data-take-over-ply]");
  if (input) input.value = String(Math.min(ply, Math.max(0, last - 1)));
}

function setupReplay(states) {
  replay = states;
  const box = root.querySelector("[data-replay]");
  const slider = root.querySelector("[data-replay-slider]");
  const label = root.querySelector("[data-replay-label]");
  slider.max = String(states.length - 1);
  slider.value = slider.max;
  label.textContent = `move ${slider.value} of ${slider.max}`;
  slider.oninput = () => {
    const ply = Number(slider.value);
    renderBoard(boardNode, hint, states[ply]);
    showMoves(states[ply].moves);
    const inOpening = ply > 0 && ply <= (match.opening_plies || 0);
    label.textContent = `move ${ply} of ${slider.max}${inOpening ? " (opening)" : ""}`;
    syncTakeOver(ply, states.length - 1);
  };
  box.hidden = false;
}

async function loadReplay() {
  try {
    const response = await fetch(root.dataset.replayUrl);
    if (response.ok) setupReplay((await response.json()).states);
  } catch {
    // the final board is still shown; the slider is a bonus
  }
}

show(match.state);
if (replay) setupReplay(replay);

const live = new LiveSocket(root.dataset.socket, {
  onStatus: statusDot,
  onSnapshot: (msg) => {
    match = msg.match;
    show(match.state);
    if (match.status !== "pending" && match.status !== "running") {
      live.close(); // nothing more will happen
      if (!replay) loadReplay();
    }
  },
  onEvent: (msg) => {
    if (msg.event === "started" || msg.event === "move") match.status = "running";
    if (msg.event === "finished") {
      Object.assign(match, { status: "finished", result: msg.result, winner: msg.result?.winner, reason: msg.result?.reason });
    }
    if (msg.event === "failed") Object.assign(match, { status: "failed", error: msg.error });
    if (msg.state) match.state = msg.state;
    show(match.state);
    if (msg.event === "finished" || msg.event === "failed") {
      live.close();
      loadReplay();
    }
  },
});
if (match.status === "pending" || match.status === "running") live.connect();
