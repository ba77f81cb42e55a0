// Chess board drawn from a chess state_json: `board` rows from rank 8 down ("." empty, FEN letters),
// `legal` moves as {uci, action, san}, `last_move`, `check`, `checkmate`, `san`. Pieces are the vendored
// cm-chessboard sprite (Cburnett's pieces). With `play` ({enabled, onPick(action), flip, label}) the 64
// squares take moves: pick a piece, then its destination (and the piece a pawn promotes to), by
// click, tap, or arrow keys and Enter/Space (Escape drops the picked piece).

const SVG = "http://www.w3.org/2000/svg";
const SPRITE = new URL("./vendor/cm-chessboard/pieces.svg", import.meta.url).href;
const SIZE = 40; // the sprite's pieces are 40x40
const FILES = "abcdefgh";
const NAMES = { p: "pawn", n: "knight", b: "bishop", r: "rook", q: "queen", k: "king" };
const PROMOTIONS = ["q", "r", "b", "n"];

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

function squareName(row, col) {
  return `${FILES[col]}${8 - row}`;
}

function pieceWords(letter) {
  if (!letter || letter === ".") return "empty";
  return `${letter === letter.toUpperCase() ? "white" : "black"} ${NAMES[letter.toLowerCase()]}`;
}

// Where a square is drawn: white at the bottom unless the board is flipped for black.
function position(row, col, flip) {
  return flip ? { x: (7 - col) * SIZE, y: (7 - row) * SIZE } : { x: col * SIZE, y: row * SIZE };
}

// The picked square and focus survive redraws (each event redraws the board) until the position changes.
const memory = new WeakMap();

function remembered(container, state) {
  const key = state.fen || "";
  let mem = memory.get(container);
  if (!mem || mem.fen !== key) {
    mem = { fen: key, from: null, promotion: null, focus: mem?.focus ?? "e2" };
    memory.set(container, mem);
  }
  return mem;
}

export function renderChess(container, state, play = null) {
  const flip = Boolean(play?.flip);
  const board = state.board || [];
  const mem = remembered(container, state);
  const svg = el("svg", { viewBox: "0 0 320 320", role: "img", class: "board-svg chess" });
  const last = state.last_move ? [state.last_move.slice(0, 2), state.last_move.slice(2, 4)] : [];
  const kingInCheck = state.check ? (state.turn === "white" ? "K" : "k") : null;
  const legal = play?.enabled ? state.legal || [] : [];
  const targets = new Set(legal.filter((m) => m.uci.startsWith(mem.from || "--")).map((m) => m.uci.slice(2, 4)));
  for (let row = 0; row < 8; row++) {
    for (let col = 0; col < 8; col++) {
      const name = squareName(row, col);
      const { x, y } = position(row, col, flip);
      const letter = (board[row] || [])[col] || ".";
      const classes = [(row + col) % 2 ? "dark" : "light"];
      if (last.includes(name)) classes.push("last");
      if (letter === kingInCheck) classes.push(state.checkmate ? "mate" : "check");
      if (name === mem.from) classes.push("picked");
      el("rect", { x, y, width: SIZE, height: SIZE, class: `sq ${classes.join(" ")}`, "data-square": name }, svg);
      if (letter !== ".") {
        const id = `${letter === letter.toUpperCase() ? "w" : "b"}${letter.toLowerCase()}`;
        el("use", { href: `${SPRITE}#${id}`, x, y, width: SIZE, height: SIZE, "data-piece": id, class: "piece" }, svg);
      }
      if (targets.has(name)) el("circle", { cx: x + SIZE / 2, cy: y + SIZE / 2, r: 6, class: "legal-dot" }, svg);
    }
  }
  drawCoordinates(svg, flip);
  const title = el("title", {}, svg);
  title.textContent = `chess board after ${state.ply ?? (state.moves || []).length} moves${state.checkmate ? ", checkmate" : state.check ? ", check" : ""}`;
  if (play) addSquares(svg, container, state, play, mem, board, flip);
  const hadFocus = container.contains(document.activeElement);
  const nodes = [svg, moveList(state)];
  if (play && mem.promotion) nodes.push(promotionChooser(container, state, play, mem));
  container.replaceChildren(...nodes);
  if (play && hadFocus) (container.querySelector("[data-promotion]") || svg.querySelector('[tabindex="0"]'))?.focus();
}

function drawCoordinates(svg, flip) {
  for (let i = 0; i < 8; i++) {
    const file = el("text", { x: (flip ? 7 - i : i) * SIZE + SIZE - 3, y: 317, class: "coord", "text-anchor": "end" }, svg);
    file.textContent = FILES[i];
    const rank = el("text", { x: 2, y: (flip ? 7 - i : i) * SIZE + 10, class: "coord" }, svg);
    rank.textContent = String(8 - i);
  }
}

// The game so far in SAN, numbered by move ("1. e4 e5 2. Nf3").
function moveList(state) {
  const list = document.createElement("ol");
  list.className = "san-list";
  list.dataset.sanList = "";
  const san = state.san || [];
  for (let i = 0; i < san.length; i += 2) {
    const item = document.createElement("li");
    item.textContent = san.slice(i, i + 2).join(" ");
    list.appendChild(item);
  }
  return list;
}

function addSquares(svg, container, state, play, mem, board, flip) {
  const legal = play.enabled ? state.legal || [] : [];
  const movable = new Set(legal.map((m) => m.uci.slice(0, 2)));
  svg.setAttribute("role", "grid");
  svg.setAttribute("aria-label", play.label || "chess board");
  const redraw = () => renderChess(container, state, play);
  const choose = (name) => {
    const moves = legal.filter((m) => m.uci.slice(0, 4) === `${mem.from}${name}`);
    if (moves.length === 1) {
      mem.from = null;
      play.onPick(moves[0].action);
      return;
    }
    if (moves.length > 1) {
      mem.promotion = name; // a pawn reaching the last rank: ask what it becomes
    } else if (movable.has(name)) {
      mem.from = mem.from === name ? null : name;
    } else if (mem.from === null) {
      play.onPick(-1); // not a piece that can move: let the page say so
      return;
    } else {
      mem.from = null;
    }
    redraw();
  };
  for (let row = 0; row < 8; row++) {
    for (let col = 0; col < 8; col++) {
      const name = squareName(row, col);
      const { x, y } = position(row, col, flip);
      const destination = mem.from !== null && legal.some((m) => m.uci.startsWith(mem.from + name));
      const playable = movable.has(name) || destination;
      const node = el("rect", { x, y, width: SIZE, height: SIZE, role: "button", "data-square": name }, svg);
      node.setAttribute("class", `target${playable ? " legal" : ""}${destination ? " dest" : ""}`);
      node.setAttribute("tabindex", name === mem.focus ? "0" : "-1");
      node.setAttribute("aria-label", `${name}, ${pieceWords((board[row] || [])[col])}${playable ? "" : ", not playable"}`);
      node.addEventListener("click", () => {
        mem.focus = name;
        choose(name);
      });
    }
  }
  svg.addEventListener("keydown", (event) => {
    const name = document.activeElement?.dataset?.square;
    if (!name) return;
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      mem.focus = name;
      choose(name);
      return;
    }
    if (event.key === "Escape") {
      mem.from = null;
      return redraw();
    }
    const step = { ArrowUp: [0, 1], ArrowDown: [0, -1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] }[event.key];
    if (!step) return;
    event.preventDefault();
    const sign = flip ? -1 : 1;
    const file = FILES.indexOf(name[0]) + sign * step[0];
    const rank = Number(name[1]) + sign * step[1];
    if (file < 0 || file > 7 || rank < 1 || rank > 8) return;
    mem.focus = `${FILES[file]}${rank}`;
    svg.querySelectorAll("[data-square][tabindex]").forEach((n) => n.setAttribute("tabindex", n.dataset.square === mem.focus ? "0" : "-1"));
    svg.querySelector(`[tabindex][data-square="${mem.focus}"]`)?.focus();
  });
}

// Four buttons for the piece a pawn promotes to; Escape or "cancel" takes the pawn back.
function promotionChooser(container, state, play, mem) {
  const box = document.createElement("div");
  box.className = "promotion";
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", "promote the pawn to");
  const white = state.turn === "white";
  for (const piece of PROMOTIONS) {
    const uci = `${mem.from}${mem.promotion}${piece}`;
    const move = (state.legal || []).find((m) => m.uci === uci);
    if (!move) continue;
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.promotion = piece;
    button.textContent = NAMES[piece];
    button.setAttribute("aria-label", `promote to ${white ? "white" : "black"} ${NAMES[piece]}`);
    button.addEventListener("click", () => {
      mem.from = mem.promotion = null;
      play.onPick(move.action);
    });
    box.appendChild(button);
  }
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.textContent = "cancel";
  cancel.addEventListener("click", () => {
    mem.from = mem.promotion = null;
    renderChess(container, state, play);
  });
  box.appendChild(cancel);
  return box;
}
