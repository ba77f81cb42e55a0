// Match page: the live board (liveboard.js) with the move list, and a replay slider once the match
// is over.
import { renderBoard } from "./board.js";
import { showFailure } from "./failure.js";
import { statusDot } from "./live.js";
import { LiveBoard } from "./liveboard.js";
import { historyWords } from "./poker_table.js";

const root = document.getElementById("match");
const boardNode = root.querySelector("[data-board]");
const snapshot = JSON.parse(document.getElementById("match-snapshot").textContent);
let replay = JSON.parse(document.getElementById("match-replay").textContent);
let board = null;

// The first `opening_plies` moves were the opening (random or given plies the game started from), not
// the players' choices: they are shown apart, greyed.
function showMoves(state) {
  // A game with a notation of its own (chess: SAN, poker: the actions' names) lists its moves in it,
  // else as action indices.
  const moves = state.san || (state.poker ? historyWords(state.poker).map((w) => `${w};`) : state.moves) || [];
  const node = root.querySelector("[data-moves]");
  const opening = moves.slice(0, board.match.opening_plies || 0);
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
    const poker = board.match.render_hint === "poker" ? { names: board.match.seats || {} } : null;
    renderBoard(boardNode, board.match.render_hint, states[ply], poker);
    showMoves(states[ply]);
    const inOpening = ply > 0 && ply <= (board.match.opening_plies || 0);
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

// A match that failed while the page was open: its report, as the page shows it on a reload (or, without
// one, its error).
function showFailed(match) {
  showFailure(match.failure);
  const error = root.querySelector("[data-match-error]");
  if (error && match.error && !match.failure?.what) {
    error.textContent = match.error;
    error.hidden = false;
  }
}

board = new LiveBoard(root, snapshot.match.id, {
  onStatus: statusDot,
  onChange: (match, state) => {
    showMoves(state);
    // The queue place is the server's as the page was made: once the match moves, it is over.
    const queued = root.querySelector("[data-queue-place]");
    if (queued && match.status !== "pending") queued.hidden = true;
    if (match.status === "failed") showFailed(match);
  },
  onOver: () => (replay ? setupReplay(replay) : loadReplay()),
});
board.start(snapshot.match);
