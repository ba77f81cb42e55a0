// SVG boards drawn from a game's state_json: board rows top to bottom, 0 empty, 1 first seat,
// 2 second seat. Each piece is an element with data-piece, so tests (and people) can count them.

import { renderChess } from "./chess_board.js";
import { drawGo, goHeatCells, goPanel, goTargets } from "./board_go.js";
import { renderPoker } from "./poker_table.js";

const SVG = "http://www.w3.org/2000/svg";

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

// The [row, col] the last move filled, or null. Tic-tac-toe's action a is column a // 3, row a % 3;
// connect four's action is a column, and the piece sits at its highest filled cell.
export function lastMoveCell(hint, board, moves) {
  if (!moves || moves.length === 0) return null;
  const action = moves[moves.length - 1];
  if (hint === "tictactoe") return [action % 3, Math.floor(action / 3)];
  if (hint === "connect_four") {
    for (let row = 0; row < board.length; row++) if (board[row][action]) return [row, action];
  }
  return null;
}

// The cells of the first line of `k` same pieces (rows, columns, both diagonals), or null: the line
// that won the game, marked on the board once it is over.
export function winningLine(board, k) {
  const rows = board.length;
  const cols = rows ? board[0].length : 0;
  for (const [dr, dc] of [[0, 1], [1, 0], [1, 1], [1, -1]]) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const piece = board[r][c];
        if (!piece) continue;
        const cells = [];
        for (let i = 0; i < k; i++) {
          const [rr, cc] = [r + dr * i, c + dc * i];
          if (rr < 0 || rr >= rows || cc < 0 || cc >= cols || board[rr][cc] !== piece) break;
          cells.push([rr, cc]);
        }
        if (cells.length === k) return cells;
      }
    }
  }
  return null;
}

function markLine(svg, cells, size) {
  if (!cells) return;
  const [[r0, c0], [r1, c1]] = [cells[0], cells[cells.length - 1]];
  const at = (v) => v * size + size / 2;
  el("line", { x1: at(c0), y1: at(r0), x2: at(c1), y2: at(r1), class: "win-line", "data-win-line": cells.map((c) => c.join(",")).join(" ") }, svg);
}

function drawTicTacToe(svg, board, last) {
  const size = 100;
  el("rect", { x: 0, y: 0, width: 300, height: 300, class: "bg" }, svg);
  for (let i = 1; i < 3; i++) {
    el("line", { x1: i * size, y1: 8, x2: i * size, y2: 292, class: "grid" }, svg);
    el("line", { x1: 8, y1: i * size, x2: 292, y2: i * size, class: "grid" }, svg);
  }
  board.forEach((cells, row) =>
    cells.forEach((value, col) => {
      const cx = col * size + size / 2;
      const cy = row * size + size / 2;
      const isLast = last && last[0] === row && last[1] === col;
      if (isLast) el("rect", { x: col * size + 6, y: row * size + 6, width: 88, height: 88, class: "last" }, svg);
      if (value === 1) {
        const g = el("g", { class: "p1", "data-piece": "1" }, svg);
        el("line", { x1: cx - 28, y1: cy - 28, x2: cx + 28, y2: cy + 28 }, g);
        el("line", { x1: cx + 28, y1: cy - 28, x2: cx - 28, y2: cy + 28 }, g);
      } else if (value === 2) {
        el("circle", { cx, cy, r: 30, class: "p2", "data-piece": "2" }, svg);
      }
    }),
  );
  markLine(svg, winningLine(board, 3), size);
}

function drawConnectFour(svg, board, last) {
  const rows = board.length;
  const cols = board[0].length;
  const size = 50;
  svg.setAttribute("viewBox", `0 0 ${cols * size} ${rows * size}`);
  el("rect", { x: 0, y: 0, width: cols * size, height: rows * size, rx: 10, class: "c4" }, svg);
  board.forEach((cells, row) =>
    cells.forEach((value, col) => {
      const attrs = { cx: col * size + size / 2, cy: row * size + size / 2, r: 19, class: "hole" };
      if (value) Object.assign(attrs, { class: `p${value} disc`, "data-piece": String(value) });
      const disc = el("circle", attrs, svg);
      if (last && last[0] === row && last[1] === col) disc.classList.add("last-disc");
    }),
  );
  markLine(svg, winningLine(board, 4), size);
}

// Replaces `container`'s content with the board of `state` ({board, moves, ...}). With `play`
// ({enabled, onPick(action), focus}) the board takes moves: one focusable target per action (a cell, or
// a column in connect four) with an aria label, legal ones marked while `enabled`; click, tap, or the
// arrow keys then Enter/Space call onPick(action). Whether a move is legal is the caller's call.
export function renderBoard(container, hint, state, play = null) {
  if (hint === "chess") return renderChess(container, state, play);
  if (hint === "poker") return renderPoker(container, state, play);
  const svg = el("svg", { viewBox: "0 0 300 300", role: "img", class: `board-svg ${hint}` });
  const board = state.board || [];
  const last = lastMoveCell(hint, board, state.moves);
  if (hint === "connect_four") drawConnectFour(svg, board, last);
  else if (hint === "go") drawGo(svg, state);
  else drawTicTacToe(svg, board, last);
  const title = el("title", {}, svg);
  title.textContent = `${hint} board after ${state.ply ?? (state.moves || []).length} moves`;
  if (play) addTargets(svg, hint, state, play);
  const hadFocus = container.contains(document.activeElement);
  // Go also shows captures, passes and the count, and a Pass button when a person plays.
  container.replaceChildren(svg, ...(hint === "go" ? [goPanel(state, play)] : []));
  if (play && hadFocus) svg.querySelector('[tabindex="0"]')?.focus();
}

const PIECE_NAMES = { 0: "empty", 1: "X", 2: "O" };

// The actions as rectangles in board coordinates, with what a screen reader says about each.
export function actionTargets(hint, board) {
  if (hint === "go") return goTargets(board);
  if (hint === "connect_four") {
    const rows = board.length || 6;
    return Array.from({ length: (board[0] || []).length || 7 }, (_, col) => ({
      action: col,
      rect: { x: col * 50, y: 0, width: 50, height: rows * 50 },
      label: `Column ${col + 1}${board.length && board[0][col] ? ", full" : ""}`,
      grid: [0, col],
    }));
  }
  // Tic-tac-toe: action a is row a % 3, column a // 3.
  return Array.from({ length: 9 }, (_, action) => {
    const [row, col] = [action % 3, Math.floor(action / 3)];
    const piece = PIECE_NAMES[(board[row] || [])[col] || 0];
    return {
      action,
      rect: { x: col * 100, y: row * 100, width: 100, height: 100 },
      label: `Row ${row + 1}, column ${col + 1}, ${piece}`,
      grid: [row, col],
    };
  });
}

function addTargets(svg, hint, state, play) {
  const legal = new Set(play.enabled ? state.legal_moves || [] : []);
  const targets = actionTargets(hint, state.board || []);
  const focus = targets.some((t) => t.action === play.focus) ? play.focus : (state.legal_moves || [0])[0] ?? 0;
  svg.setAttribute("role", "grid");
  svg.setAttribute("aria-label", play.label || "game board");
  const nodes = new Map();
  for (const t of targets) {
    const cls = `target${legal.has(t.action) ? " legal" : ""}`;
    const node = el("rect", { ...t.rect, class: cls, role: "button", "data-action": String(t.action) }, svg);
    node.setAttribute("tabindex", t.action === focus ? "0" : "-1");
    node.setAttribute("aria-label", t.label + (legal.has(t.action) ? "" : play.enabled ? ", not playable" : ""));
    if (!legal.has(t.action)) node.setAttribute("aria-disabled", "true");
    if (legal.has(t.action) && hint !== "connect_four") {
      const { x, y, width, height } = t.rect;
      const [cx, cy] = t.centre || [x + width / 2, y + height / 2];
      el("circle", { cx, cy, r: hint === "go" ? 4 : 7, class: "legal-dot" }, svg);
    } else if (legal.has(t.action)) {
      // Connect four: ring the hole the disc would drop into.
      const board = state.board || [];
      let row = board.length - 1;
      while (row > 0 && board[row][t.action]) row -= 1;
      el("circle", { cx: t.action * 50 + 25, cy: row * 50 + 25, r: 19, class: "legal-drop" }, svg);
    }
    node.addEventListener("click", () => play.onPick(t.action));
    nodes.set(t.action, { node, grid: t.grid });
  }
  // Legal-move dots sit under the targets in paint order only if drawn first: raise the targets.
  for (const { node } of nodes.values()) svg.appendChild(node);
  svg.addEventListener("keydown", (event) => {
    const current = Number(document.activeElement?.dataset?.action);
    if (!nodes.has(current)) return;
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      play.onPick(current);
      return;
    }
    const [row, col] = nodes.get(current).grid;
    const step = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[event.key];
    if (!step) return;
    event.preventDefault();
    const next = [...nodes.entries()].find(([, v]) => v.grid[0] === row + step[0] && v.grid[1] === col + step[1]);
    if (!next) return;
    nodes.get(current).node.setAttribute("tabindex", "-1");
    next[1].node.setAttribute("tabindex", "0");
    next[1].node.focus();
    play.focus = next[0];
    play.onFocus?.(next[0]);
  });
}

// A heat map of an agent's scores over the board: cells (tic-tac-toe) or columns (connect four),
// coloured from the lowest to the highest score among the scored ones; null scores stay grey.
export function renderHeatmap(container, hint, scores, { chosen = null } = {}) {
  // Cells or columns only: a chess policy's 4,672 scores have no picture on the board here.
  if (hint !== "tictactoe" && hint !== "connect_four") return container.replaceChildren();
  const c4 = hint === "connect_four";
  const go = hint === "go" ? goHeatCells(scores) : null; // a 9x9 grid and the pass below it
  const [cols, rows, size] = c4 ? [scores.length, 1, 50] : go ? [9, 10, 40] : [3, 3, 100];
  const svg = el("svg", { viewBox: `0 0 ${cols * size} ${rows * size}`, class: `heat-svg${c4 ? " c4" : go ? " go" : ""}`, role: "img" });
  const finite = scores.filter((v) => typeof v === "number" && Number.isFinite(v));
  const [lo, hi] = [Math.min(...finite), Math.max(...finite)];
  scores.forEach((value, action) => {
    const [row, col] = c4 ? [0, action] : go ? [go[action].row, go[action].col] : [action % 3, Math.floor(action / 3)];
    const scored = typeof value === "number" && Number.isFinite(value);
    const t = scored ? (hi > lo ? (value - lo) / (hi - lo) : 1) : 0;
    // Blue (worst) to red (best) through pale yellow, so it reads without a legend.
    const hue = 220 - 220 * t;
    const fill = scored ? `hsl(${hue}, 80%, ${75 - 20 * Math.abs(t - 0.5)}%)` : "#e5e7eb";
    const g = el("g", { "data-heat-cell": String(action), "data-score": scored ? String(value) : "" }, svg);
    el("rect", { x: col * size + 2, y: row * size + 2, width: size - 4, height: size - 4, rx: 6, fill }, g);
    if (action === chosen) {
      el("rect", { x: col * size + 4, y: row * size + 4, width: size - 8, height: size - 8, rx: 5, class: "chosen" }, g);
    }
    const text = el("text", { x: col * size + size / 2, y: row * size + size / 2 + 5, "text-anchor": "middle" }, g);
    text.textContent = scored ? formatScore(value) : "–";
  });
  const title = el("title", {}, svg);
  title.textContent = "the agent's score for each move";
  container.replaceChildren(svg);
}

function formatScore(value) {
  const abs = Math.abs(value);
  if (abs >= 1e4) return value > 0 ? "win" : "loss"; // a search's score for a forced end
  // At most five characters ("-0.12", "-25"), so a connect four column's number fits its cell.
  return abs >= 10 ? value.toFixed(0) : value.toFixed(2);
}

export function pieceCount(state) {
  return (state.board || []).flat().filter((value) => value !== 0 && value !== ".").length;
}
