// Play page: a person against an agent over ws/play/<id>/. The board takes clicks, taps and keys when it
// is the person's turn; a move is sent as {"type": "move", "ply": n, "move": {"action": a}} and the
// board changes only when the server's numbered events come back (the same stream spectators get).
// Beside it: a heat map of the agent's last evaluation and its win probability over the game.
import { renderBoard, renderHeatmap } from "./board.js";
import { LineChart } from "./chart.js";
import { LiveSocket, statusDot } from "./live.js";
import { handOutcome, renderPokerScores } from "./poker_table.js";

const root = document.getElementById("play");
const boardNode = root.querySelector("[data-board]");
const errorNode = root.querySelector("[data-error]");
const seat = root.dataset.seat;
const snapshot = JSON.parse(document.getElementById("play-snapshot").textContent);
let match = snapshot.match; // {status, seats, state, moves, result, winner, reason, analysis, render_hint}
const hint = match.render_hint;
// What the page says when a person picks a move that is not legal, per board.
const REFUSALS = {
  connect_four: "That column is full.",
  tictactoe: "That cell is taken.",
  go: "That point is not playable (taken, suicide or ko).",
  chess: "That is not a legal move here.",
};
let pending = false; // a move sent and not yet answered
let focus = null; // the focused action, kept across redraws
// Whole move numbers, and a probability axis pinned to 0..1 whatever the points are.
const chart = new LineChart(root.querySelector('[data-chart="win"]'), {
  xLabel: "move",
  height: 180,
  yRange: [0, 1],
  xInteger: true,
});
// Where the agent's chance comes from (the server's `win_source`, see marl/winprob.py).
const WIN_SOURCES = {
  exact: "exact: the position's value under perfect play from both sides (tic-tac-toe is solved)",
  value: "from its value network, trained on game outcomes",
  q: "from its best Q-value (an outcome estimate, clipped to −1…1)",
  search: "from its search's root value (the mean outcome of its simulations)",
  proven: "its search proved a forced win or loss",
};

// A rated game's end is followed by a `rating` message (a worker rates the game): the socket stays
// open for it, for a while at most.
const RATING_WAIT_MS = 30000;
let ratingTimer;

function awaitRating() {
  clearTimeout(ratingTimer);
  ratingTimer = setTimeout(() => {
    ratingTimer = undefined;
    closeWhenDone();
  }, RATING_WAIT_MS);
}

// The channel layer can lose a message (channels_redis 4.3: a cancelled receive's BZPOPMIN pops one
// when another socket of the same server process closes), and a lost reply would leave the page waiting
// for ever: when a move has had no answer for a while, the page fetches the game as it stands.
const REPLY_WAIT_MS = 5000;
let replyTimer;

function awaitReply() {
  clearTimeout(replyTimer);
  replyTimer = setTimeout(() => {
    if (pending || (isRunning() && match.state.to_move !== seat)) live.resync();
  }, REPLY_WAIT_MS);
}

function replied() {
  if (isRunning() && match.state.to_move !== seat) return awaitReply(); // a long search: keep watching
  clearTimeout(replyTimer);
  replyTimer = undefined;
}

function closeWhenDone() {
  if (!isRunning() && ratingTimer === undefined) live.close();
}

const live = new LiveSocket(root.dataset.socket, {
  onStatus: (state) => {
    statusDot(state);
    if (state === "unauthorized") showError("Your session ended: log in again to play.");
  },
  onSnapshot: (msg) => {
    match = msg.match;
    pending = false;
    if (replyTimer !== undefined) replied();
    show();
    closeWhenDone();
  },
  onEvent: (msg) => {
    pending = false;
    if (msg.event === "move") {
      match.state = msg.state;
      match.moves = msg.state.moves;
      const analysis = (match.analysis || []).slice(0, msg.ply - 1);
      while (analysis.length < msg.ply - 1) analysis.push(null);
      analysis.push(msg.analysis || null);
      match.analysis = analysis;
    } else if (msg.event === "finished") {
      Object.assign(match, { status: "finished", result: msg.result, winner: msg.result?.winner, reason: msg.result?.reason });
      if (msg.state) match.state = msg.state;
    } else if (msg.event === "failed") {
      match.status = "failed";
    }
    showError("");
    show();
    if (replyTimer !== undefined) replied();
    if (msg.event === "finished" && msg.rating_pending) awaitRating();
    // A poker hand's events never carry the agent's evaluation (it saw its own cards); once the hand
    // is over the snapshot does: fetch it, and the snapshot closes the socket.
    if (hint === "poker" && msg.event === "finished") live.resync();
    else closeWhenDone();
  },
  onMessage: (msg) => {
    if (msg.type === "rating") {
      if (msg.rating) showRating(msg.rating);
      clearTimeout(ratingTimer);
      ratingTimer = undefined;
      closeWhenDone();
      return;
    }
    if (msg.type !== "error") return;
    pending = false;
    showError(msg.error);
    // Our view was behind the server's: fetch the game as it stands.
    if (msg.code === "stale_ply" || msg.code === "not_your_turn") live.resync();
    show();
  },
});

function isRunning() {
  return match.status === "running" || match.status === "pending";
}

function myTurn() {
  return isRunning() && match.state.to_move === seat && !pending;
}

function showError(text) {
  errorNode.textContent = text;
}

function describeResult() {
  if (match.status === "failed") return "The game failed.";
  if (match.status === "aborted") return "The game was aborted.";
  if (match.status !== "finished") return "";
  // A poker hand the rules ended (a fold or a showdown) says it in chips; a resigned one as any game.
  const hand = hint === "poker" ? handOutcome(match.state) : null;
  if (hand) {
    const chips = `${hand.chips} chip${hand.chips === 1 ? "" : "s"}`;
    if (!hand.winner) return "Split pot: no chips change hands.";
    return hand.winner === seat ? `You win ${chips}!` : `The agent wins ${chips}.`;
  }
  const result = match.result || match.state.result || {};
  const winner = match.winner || result.winner;
  const reason = (match.reason || result.reason || "").replace("_", " ");
  if (!winner) return "Draw.";
  const how = reason && reason !== "win" ? ` (${reason})` : "";
  return winner === seat ? `You win${how}!` : `The agent wins${how}.`;
}

function pick(action) {
  if (!isRunning()) return showError("The game is over.");
  if (pending || match.state.to_move !== seat) return showError("Wait for the agent's move.");
  if (!(match.state.legal_moves || []).includes(action)) {
    // Refused here; the server would refuse it too. The board stays as it is.
    return showError(REFUSALS[hint] || "That move is not legal here.");
  }
  focus = action;
  send({ action });
}

// A move in the game's own words (poker: {"move": "raise", "amount": 6}): the server checks it and
// answers an illegal one with an error that names the legal ones.
function sendMove(move) {
  if (!isRunning()) return showError("The game is over.");
  if (pending || match.state.to_move !== seat) return showError("Wait for the agent's move.");
  send(move);
}

function send(move) {
  if (!live.ws || live.ws.readyState !== WebSocket.OPEN) return showError("Reconnecting… try again in a moment.");
  pending = true;
  showError("");
  live.send({ type: "move", ply: match.state.moves.length, move });
  awaitReply();
  show();
}

function lastAnalysis() {
  const all = match.analysis || [];
  for (let ply = all.length; ply >= 1; ply--) if (all[ply - 1]) return [ply, all[ply - 1]];
  return [null, null];
}

function showThinking() {
  const [ply, analysis] = lastAnalysis();
  const heat = root.querySelector("[data-heat]");
  const caption = root.querySelector("[data-heat-caption]");
  if (hint === "poker") {
    // Drawn from the agent's own cards, so the server sends it only once the hand is over.
    renderPokerScores(heat, match.game, analysis?.scores, match.moves[ply - 1]);
    caption.textContent = analysis
      ? `Before move ${ply}, its ${analysis.kind === "q" ? "Q-value" : "score"} for each action; it chose the marked one.`
      : isRunning()
        ? "Its evaluation comes from its own cards: it is shown once the hand is over."
        : "No evaluation of its moves to show.";
  } else if (analysis && Array.isArray(analysis.scores)) {
    const kinds = {
      q: "Q-values (expected return)",
      logits: "move probabilities",
      search: "search values",
      visits: "search's share of simulations per move",
    };
    const chosen = match.moves[ply - 1];
    renderHeatmap(heat, hint, analysis.scores, { chosen });
    const win = analysis.win_probability;
    const value = typeof analysis.value === "number" ? ` (search value ${analysis.value.toFixed(2)})` : "";
    const exact = analysis.win_source === "exact";
    caption.textContent =
      `Before move ${ply}, its ${kinds[analysis.kind] || analysis.kind}; it chose the outlined one` +
      (typeof win !== "number"
        ? "."
        : exact
          ? `; with perfect play from here the position is worth ${Math.round(win * 100)}% to it${value}.`
          : ` and gave itself a ${Math.round(win * 100)}% chance${value}.`);
  } else {
    heat.replaceChildren();
    // An agent without move scores (a random bot) still gets the exact value of a solved game.
    if (analysis) caption.textContent = "It scores no moves; the chart below still values its position.";
  }
  const points = (match.analysis || [])
    .map((a, i) => [i + 1, a?.win_probability])
    .filter(([, p]) => typeof p === "number");
  chart.setSeries({ "agent's win probability": points });
  const source = [...(match.analysis || [])].reverse().find((a) => a?.win_source)?.win_source;
  root.querySelector("[data-win-source]").textContent = source
    ? `A draw counts half; ${WIN_SOURCES[source] || source}.`
    : "This agent gives no calibrated value of the position (a heuristic score or move probabilities " +
      "only), so there is no line.";
}

// The finished game is rated by a worker, whose `rating` message carries the rating it earned: the line
// the server renders (templates/arena/play/detail.html), redrawn from its numbers without a reload.
function showRating({ fit, provisional }) {
  const value = root.querySelector("[data-my-rating-value]");
  if (!value) return;
  if (fit) {
    const elo = document.createElement("strong");
    elo.textContent = String(fit.elo);
    const interval = document.createElement("span");
    interval.className = "muted";
    interval.textContent = `(95%: ${fit.low} … ${fit.high})`;
    value.replaceChildren(elo, " Elo ", interval);
  } else if (provisional) {
    const games = `${provisional.games} game${provisional.games === 1 ? "" : "s"}`;
    value.textContent = `${provisional.elo} ±${provisional.spread} provisional after ${games}`;
  }
}

function show() {
  const running = isRunning();
  const other = Object.keys(match.seats || {}).find((s) => s !== seat);
  renderBoard(boardNode, hint, match.state, {
    enabled: myTurn(),
    over: !running,
    seat,
    names: { [seat]: "You", [other]: match.seats?.[other] || "The agent" },
    onPick: pick,
    onMove: sendMove,
    focus,
    onFocus: (action) => (focus = action),
    label: `${match.game} board, you play ${seat}`,
    flip: seat !== Object.keys(match.seats || {}).sort()[0], // the second seat sees the board from its side
  });
  const turn = root.querySelector("[data-turn]");
  if (!running) turn.textContent = "";
  else if (pending) turn.textContent = "Sending your move…";
  else if (match.state.to_move === seat) turn.textContent = "Your move.";
  else turn.textContent = "The agent is thinking…";
  root.querySelector("[data-result]").textContent = describeResult();
  root.querySelector("[data-resign]").hidden = !running;
  root.querySelector("[data-rematch]").hidden = running;
  root.querySelector("[data-replay-link]").hidden = running;
  showThinking();
}

root.querySelector("[data-resign]").addEventListener("click", () => {
  if (isRunning() && window.confirm("Resign this game?")) live.send({ type: "resign" });
});

show();
if (isRunning()) live.connect();
