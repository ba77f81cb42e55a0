// The go board: a 9x9 grid with GTP coordinates (columns A-J without I, rows 9 at the top to 1), stones
// as circles with data-piece (1 black, 2 white), the last move ringed, and below it the captures, the
// passes, the area count explained and, when a person plays, a Pass button. Action 9 * row + col; 81
// is a pass. The state comes from the go entry's state_json (board, captures, last_move, passes, score).

const SVG = "http://www.w3.org/2000/svg";
export const GO_COLUMNS = "ABCDEFGHJ";
const CELL = 40;
const MARGIN = 30;

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

export function goSize(state) {
  return state.size || (state.board || []).length || 9;
}

export function goPoint(action, size = 9) {
  return action >= size * size ? null : [Math.floor(action / size), action % size];
}

export function goVertex(action, size = 9) {
  const point = goPoint(action, size);
  return point ? `${GO_COLUMNS[point[1]]}${size - point[0]}` : "pass";
}

// Board coordinates of the centre of a point.
function at(index) {
  return MARGIN + index * CELL;
}

export function drawGo(svg, state) {
  const size = goSize(state);
  const span = MARGIN * 2 + CELL * (size - 1);
  svg.setAttribute("viewBox", `0 0 ${span} ${span}`);
  el("rect", { x: 0, y: 0, width: span, height: span, rx: 6, class: "go-bg" }, svg);
  for (let i = 0; i < size; i++) {
    el("line", { x1: at(0), y1: at(i), x2: at(size - 1), y2: at(i), class: "go-line" }, svg);
    el("line", { x1: at(i), y1: at(0), x2: at(i), y2: at(size - 1), class: "go-line" }, svg);
    const col = el("text", { x: at(i), y: MARGIN / 2 + 4, class: "go-coord", "text-anchor": "middle" }, svg);
    col.textContent = GO_COLUMNS[i];
    const row = el("text", { x: MARGIN / 2, y: at(i) + 4, class: "go-coord", "text-anchor": "middle" }, svg);
    row.textContent = String(size - i);
  }
  for (const [r, c] of [[2, 2], [2, 6], [4, 4], [6, 2], [6, 6]]) {
    if (r < size && c < size) el("circle", { cx: at(c), cy: at(r), r: 3, class: "go-star" }, svg);
  }
  const last = state.last_move && goPoint(state.last_move.action, size);
  (state.board || []).forEach((cells, row) =>
    cells.forEach((value, col) => {
      if (!value) return;
      const cls = value === 1 ? "go-black" : "go-white";
      el("circle", { cx: at(col), cy: at(row), r: CELL / 2 - 2, class: `go-stone ${cls}`, "data-piece": String(value) }, svg);
      if (last && last[0] === row && last[1] === col) {
        el("circle", { cx: at(col), cy: at(row), r: CELL / 5, class: `go-last ${cls}`, "data-last-move": "" }, svg);
      }
    }),
  );
}

// One focusable square per point, as board.js's targets expect: {action, rect, label, grid}.
export function goTargets(board) {
  const size = board.length || 9;
  const names = { 0: "empty", 1: "black stone", 2: "white stone" };
  const targets = [];
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      const action = row * size + col;
      targets.push({
        action,
        rect: { x: at(col) - CELL / 2, y: at(row) - CELL / 2, width: CELL, height: CELL },
        label: `${goVertex(action, size)}, ${names[(board[row] || [])[col] || 0]}`,
        grid: [row, col],
        centre: [at(col), at(row)],
      });
    }
  }
  return targets;
}

function seatName(seat) {
  return seat && seat.startsWith("black") ? "Black" : "White";
}

// The line under the board: captures, passes, and the count (final once the game has a result).
export function goSummary(state) {
  const caps = state.captures || {};
  const [black, white] = Object.keys(caps);
  const parts = [`Captures: black ${caps[black] ?? 0}, white ${caps[white] ?? 0}`];
  if (state.last_move) parts.push(`last move ${state.last_move.gtp}`);
  if (state.passes) parts.push(state.passes === 1 ? "one pass" : `${state.passes} passes`);
  const score = state.score;
  if (score && state.result) {
    parts.push(
      `Final count (area): black ${score.black}, white ${score.white} + komi ${score.komi} = ` +
        `${score.white + score.komi}; ${seatName(score.winner)} wins by ${score.margin} (${score.text})`,
    );
  }
  return parts.join(" · ");
}

// The text and Pass button below the board; `play` as renderBoard takes it.
export function goPanel(state, play) {
  const panel = document.createElement("div");
  panel.className = "go-panel";
  const info = document.createElement("p");
  info.className = "go-info";
  info.setAttribute("data-go-info", "");
  info.textContent = goSummary(state);
  panel.appendChild(info);
  if (play) {
    const pass = goSize(state) ** 2;
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Pass";
    button.setAttribute("data-pass", "");
    button.disabled = !(play.enabled && (state.legal_moves || []).includes(pass));
    button.addEventListener("click", () => play.onPick(pass));
    panel.appendChild(button);
  }
  return panel;
}

// The heat map for go: a 9x9 grid of scores and the pass's score beside it, coloured by `fill`.
export function goHeatCells(scores) {
  const size = Math.round(Math.sqrt(scores.length - 1)) || 9;
  return scores.map((_, action) => {
    const point = goPoint(action, size);
    return point ? { row: point[0], col: point[1] } : { row: size, col: 0, pass: true };
  });
}
