// SVG boards drawn from a game's state_json: board rows top to bottom, 0 empty, 1 first seat,
// 2 second seat. Each piece is an element with data-piece, so tests (and people) can count them.

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
}

// Replaces `container`'s content with the board of `state` ({board, moves, ...}).
export function renderBoard(container, hint, state) {
  const svg = el("svg", { viewBox: "0 0 300 300", role: "img", class: `board-svg ${hint}` });
  const board = state.board || [];
  const last = lastMoveCell(hint, board, state.moves);
  if (hint === "connect_four") drawConnectFour(svg, board, last);
  else drawTicTacToe(svg, board, last);
  const title = el("title", {}, svg);
  title.textContent = `${hint} board after ${state.ply ?? (state.moves || []).length} moves`;
  container.replaceChildren(svg);
}

export function pieceCount(state) {
  return (state.board || []).flat().filter((value) => value !== 0).length;
}
