// Poker table drawn from a poker state_json's `poker` view (marl/games_poker.py `poker_view`): the
// viewer's hole cards, the opponent's as card backs until the server shows them (it never sends them
// earlier, so there is nothing here to hide), the board, pot, bets and stacks, whose turn, the hand's
// history and, once it is over, the outcome in chips. `play.names` ({seat: name}) names the seats and
// `play.over` says the match has ended (a resignation stops a hand the rules have not ended); with
// `play.onPick` ({enabled, seat, onPick(action), onMove(move)}) the table also offers the legal actions
// as buttons, and for no-limit an amount form; keys: F fold, C or K check/call, R raise (no-limit: the
// amount box), A all in.

const SUITS = { S: ["♠", "spades"], H: ["♥", "hearts"], D: ["♦", "diamonds"], C: ["♣", "clubs"] };
const RANKS = {
  A: "ace", K: "king", Q: "queen", J: "jack", T: "ten", 9: "nine", 8: "eight", 7: "seven",
  6: "six", 5: "five", 4: "four", 3: "three", 2: "two",
};
const RAISES = new Set(["raise", "raise_half_pot", "raise_pot", "all_in"]);
const WORDS = {
  fold: "fold", check: "check", call: "call", raise: "raise", check_call: "check or call",
  raise_half_pot: "raise half the pot", raise_pot: "raise the pot", all_in: "all in",
};

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

// Leduc deals one hole card and one board card; hold'em two and five.
const holeCount = (game) => (game === "leduc_holdem" ? 1 : 2);
const boardCount = (game) => (game === "leduc_holdem" ? 1 : 5);
const plural = (n) => `${n} chip${n === 1 ? "" : "s"}`;

// "SK" (suit, then rank; T is ten) as "king of spades".
export function cardName(card) {
  return `${RANKS[card[1]] || card[1]} of ${SUITS[card[0]]?.[1] || card[0]}`;
}

function cardNode(card) {
  if (!card) return h("span", { class: "playing-card back", "data-card": "hidden", role: "img", "aria-label": "face-down card" });
  const [symbol] = SUITS[card[0]] || ["?"];
  const red = card[0] === "H" || card[0] === "D";
  return h(
    "span",
    { class: `playing-card${red ? " red" : ""}`, "data-card": card, role: "img", "aria-label": cardName(card) },
    h("span", { class: "rank", "aria-hidden": "true" }, card[1] === "T" ? "10" : card[1]),
    h("span", { class: "suit", "aria-hidden": "true" }, symbol),
  );
}

function seatsOf(view) {
  return Object.keys(view.bets || {}).sort();
}

// The chips the seat to move still has to put in to call.
function toCall(view, seat) {
  const bets = Object.values(view.bets || {});
  return Math.max(0, ...bets) - (view.bets?.[seat] || 0);
}

// What a button says: the server's label for a call, else the action and the chips it puts in now.
export function actionLabel(entry, owed) {
  if (entry.name === "fold") return "Fold";
  if (entry.name === "check") return "Check";
  if (entry.name === "call" || entry.name === "check_call") return entry.label === "check" ? "Check" : `Call ${entry.amount}`;
  if (entry.name === "raise") return `${owed === 0 ? "Bet" : "Raise"} ${entry.amount}`;
  if (entry.name === "raise_half_pot") return `Raise ½ pot: ${entry.amount}`;
  if (entry.name === "raise_pot") return `Raise pot: ${entry.amount}`;
  if (entry.name === "all_in") return `All in: ${entry.amount}`;
  return `${entry.name} ${entry.amount}`;
}

// {winner, chips, text} of a hand the rules ended (a fold or a showdown); null while it runs. In
// heads-up play the winner takes the loser's chips in the pot; a split pot moves none.
export function handOutcome(state, name = (seat) => seat) {
  const view = state.poker;
  if (!view || !state.result) return null;
  const seats = seatsOf(view);
  if (view.folded) {
    const winner = seats.find((s) => s !== view.folded);
    const chips = view.bets[view.folded];
    return { winner, chips, text: `${name(view.folded)} folded: ${name(winner)} won ${plural(chips)}.` };
  }
  const winner = state.result.winner;
  if (!winner) return { winner: null, chips: 0, text: "Showdown: a split pot." };
  const loser = seats.find((s) => s !== winner);
  const chips = view.bets[loser];
  return { winner, chips, text: `Showdown: ${name(winner)} won ${plural(chips)}.` };
}

const ROUNDS = {
  leduc_holdem: ["First round", "Second round, the board card out"],
  hold_em: ["Pre-flop", "Flop", "Turn", "River"],
};

// One action of the history ({seat, action, round, chips}) in words: "call 2", "raise 4 (the pot)".
function actionWords({ action, chips }) {
  if (typeof chips !== "number") return WORDS[action] || action;
  if (action === "call" || action === "check_call") return chips ? `call ${chips}` : "check";
  if (action === "raise") return `raise ${chips}`;
  if (action === "raise_half_pot") return `raise ${chips} (half the pot)`;
  if (action === "raise_pot") return `raise ${chips} (the pot)`;
  if (action === "all_in") return `all in: ${chips}`;
  return WORDS[action] || action;
}

// The hand's actions as "player_1: raise 4", for the history and the match page's move list.
export function historyWords(view, name = (seat) => seat) {
  return (view.history || []).map((entry) => `${name(entry.seat)}: ${actionWords(entry)}`);
}

// The history under a heading per betting round.
function historyLog(state, name) {
  const view = state.poker;
  const titles = ROUNDS[state.game] || ROUNDS.hold_em;
  const words = historyWords(view, name);
  const rounds = new Map();
  (view.history || []).forEach((entry, i) => {
    const round = entry.round ?? 0;
    if (!rounds.has(round)) rounds.set(round, []);
    rounds.get(round).push(h("li", {}, words[i]));
  });
  return h(
    "div",
    { class: "poker-history", "data-history": "", "aria-label": "the hand so far" },
    ...[...rounds].map(([round, items]) =>
      h("section", { "data-round": round }, h("h4", {}, titles[round] || `Round ${round + 1}`), h("ol", {}, ...items)),
    ),
  );
}

function seatBox(state, seat, { mine, name, over }) {
  const view = state.poker;
  const acting = !over && state.to_move === seat;
  const hand = view.hands?.[seat];
  const cards = hand ? hand.map(cardNode) : Array.from({ length: holeCount(state.game) }, () => cardNode(null));
  const big = seatsOf(view).find((s) => s !== view.small_blind);
  const tags = [
    seat === view.small_blind ? "small blind" : seat === big ? "big blind" : null,
    acting ? "to act" : null,
    view.folded === seat ? "folded" : null,
  ].filter(Boolean);
  const stack = view.stacks ? h("span", { "data-stack": seat }, `stack ${view.stacks[seat]}`) : null;
  return h(
    "section",
    {
      class: `poker-seat${mine ? " mine" : ""}${acting ? " acting" : ""}${view.folded === seat ? " folded" : ""}`,
      "data-seat": seat,
      "aria-label": `${name(seat)}'s seat`,
    },
    h("div", { class: "seat-name" }, h("strong", {}, name(seat)), tags.length ? ` · ${tags.join(" · ")}` : ""),
    h("div", { class: "cards-row", "data-hand": seat }, ...cards),
    h("div", { class: "chips-row" }, h("span", { "data-bet": seat }, `in the pot ${view.bets?.[seat] ?? 0}`), stack ? " · " : "", stack),
  );
}

function centre(state, outcome) {
  const view = state.poker;
  const dealt = (view.board_cards || []).map(cardNode);
  const slots = Array.from({ length: Math.max(0, boardCount(state.game) - dealt.length) }, () =>
    h("span", { class: "playing-card slot", "aria-hidden": "true" }),
  );
  return h(
    "div",
    { class: "poker-centre" },
    h("div", { class: "cards-row", "data-board-cards": "", "aria-label": dealt.length ? "board cards" : "no board cards yet" }, ...dealt, ...slots),
    h("p", { class: "pot", "data-pot": "" }, `Pot ${view.pot}`),
    outcome ? h("p", { class: "outcome", "data-outcome": "", "aria-live": "polite" }, outcome.text) : null,
  );
}

// Per table: the typed raise amount (kept across redraws, such as the one an error brings) and the
// ply it was typed at.
const memory = new WeakMap();
let keys = null; // the shortcuts of the table taking moves now: {container, handler}

function onKey(event) {
  if (!keys || !keys.container.isConnected) return;
  const tag = event.target?.tagName;
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
  keys.handler(event);
}

function actionsPanel(container, state, play) {
  const view = state.poker;
  const panel = h("div", { class: "poker-actions", "data-poker-actions": "" });
  if (!play.enabled) return panel;
  const owed = toCall(view, play.seat);
  const mem = memory.get(container);
  // Fold, then check or call, then the raises from the smallest.
  const rank = (e) => (e.name === "fold" ? -2 : RAISES.has(e.name) ? e.amount : -1);
  const buttons = [...view.actions].sort((a, b) => rank(a) - rank(b)).map((entry) => {
    const button = h(
      "button",
      { type: "button", "data-move": entry.name, "data-amount": entry.amount, title: entry.amount ? `puts ${plural(entry.amount)} in the pot now` : null },
      actionLabel(entry, owed),
    );
    button.addEventListener("click", () => play.onPick(entry.action));
    panel.append(button);
    return [entry, button];
  });
  const raises = view.actions.filter((e) => RAISES.has(e.name) && e.name !== "raise");
  let amountBox = null;
  if (raises.length) {
    // No-limit: any amount may be typed; the server refuses one that is not a legal size and says which are.
    const sizes = raises.map((e) => e.amount).sort((a, b) => a - b);
    amountBox = h("input", {
      type: "number", inputmode: "numeric", min: 0, step: 1, name: "amount", "data-raise-amount": "",
      "aria-label": "raise amount: the chips you put in now", list: "poker-raise-sizes",
    });
    amountBox.value = mem.amount ?? String(sizes[0]);
    amountBox.addEventListener("input", () => (mem.amount = amountBox.value));
    const form = h(
      "form",
      { class: "raise-form", "data-raise-form": "" },
      h("label", {}, "Raise ", amountBox, " chips"),
      h("datalist", { id: "poker-raise-sizes" }, ...sizes.map((s) => h("option", { value: s }))),
      h("button", { type: "submit", "data-raise-submit": "" }, "Raise"),
      h("span", { class: "muted" }, ` legal: ${sizes.join(", ")}`),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const amount = Number(amountBox.value);
      // Sent as typed: a whole number the server checks; the named size when one matches (raise pot
      // and all in can be the same chips).
      const match = raises.find((e) => e.amount === amount);
      play.onMove(match ? { move: match.name, amount } : { move: "raise", amount: Number.isInteger(amount) ? amount : amountBox.value });
    });
    panel.append(form);
  }
  const byName = (...names) => buttons.find(([e]) => names.includes(e.name) || (names.includes("check") && e.label === "check"));
  keys = {
    container,
    handler: (event) => {
      const key = event.key.toLowerCase();
      const target =
        key === "f" ? byName("fold")
        : key === "c" || key === "k" ? byName("check", "call", "check_call")
        : key === "a" ? byName("all_in")
        : key === "r" && !amountBox ? byName("raise")
        : null;
      if (key === "r" && amountBox) {
        event.preventDefault();
        amountBox.focus();
        amountBox.select();
      } else if (target) {
        event.preventDefault();
        target[1].click();
      }
    },
  };
  return panel;
}

// Replaces `container`'s content with the table of `state`; `play` as the header says.
export function renderPoker(container, state, play = null) {
  const view = state.poker;
  if (!view) return container.replaceChildren(h("p", { class: "muted" }, "No hand to show."));
  const ply = (state.moves || []).length;
  if (!memory.has(container) || memory.get(container).ply !== ply) memory.set(container, { ply, amount: null });
  const viewer = play?.seat || view.viewer || seatsOf(view)[0];
  const other = seatsOf(view).find((s) => s !== viewer);
  const names = play?.names || {};
  const name = (seat) => names[seat] || seat;
  const outcome = handOutcome(state, name);
  // Over by the rules, or given up (a resignation ends the match mid-hand: nobody is to act then).
  const over = Boolean(state.result) || Boolean(play?.over);
  const focused = container.contains(document.activeElement) ? document.activeElement : null;
  const focusKey = focused?.dataset?.move || (focused?.hasAttribute?.("data-raise-amount") ? "amount" : null);
  if (keys?.container === container) keys = null;
  const table = h(
    "div",
    { class: "poker-table", "data-poker": "", "data-over": state.result ? "true" : "false" },
    seatBox(state, other, { mine: false, name, over }),
    centre(state, outcome),
    seatBox(state, viewer, { mine: Boolean(play?.seat), name, over }),
  );
  const log = historyLog(state, name);
  const big = seatsOf(view).find((s) => s !== view.small_blind);
  const blinds = h("p", { class: "muted blinds" }, `${name(view.small_blind)}: small blind; ${name(big)}: big blind.`);
  container.replaceChildren(
    table,
    ...(play?.onPick ? [actionsPanel(container, state, play)] : []),
    h("div", { class: "poker-log" }, h("h3", {}, "This hand"), blinds, log),
  );
  restoreFocus(container, focused ? focusKey || "first" : null);
}

// The table's keyboard focus when its buttons went away (a move sent), to give back on the next turn.
const lostFocus = new WeakMap();

// A redraw keeps the keyboard where it was: the same action, the amount box, or the first action. The
// buttons are gone while the agent moves; they get the focus back when they return (never the amount
// box then: on a phone that would open the keyboard unasked).
function restoreFocus(container, focusKey) {
  const key = focusKey || lostFocus.get(container);
  if (!key) return;
  const again =
    (focusKey === "amount" && container.querySelector("[data-raise-amount]")) ||
    container.querySelector(`[data-poker-actions] button[data-move="${key}"]`) ||
    container.querySelector("[data-poker-actions] button");
  if (again) again.focus();
  if (!again && container.querySelector('[data-poker][data-over="false"]')) lostFocus.set(container, key);
  else lostFocus.delete(container);
}

// The action indices' names, as marl/games_poker.py orders them (RLCard's order).
const ACTION_NAMES = {
  leduc_holdem: ["call", "raise", "fold", "check"],
  texas_holdem: ["call", "raise", "fold", "check"],
  texas_holdem_no_limit: ["fold", "check_call", "raise_half_pot", "raise_pot", "all_in"],
};

// The agent's score for each action it could take, the chosen one marked; nothing without scores.
export function renderPokerScores(container, game, scores, chosen = null) {
  if (!Array.isArray(scores)) return container.replaceChildren();
  const names = ACTION_NAMES[game] || [];
  const rows = scores
    .map((value, action) => [action, value])
    .filter(([, value]) => typeof value === "number" && Number.isFinite(value))
    .map(([action, value]) =>
      h(
        "tr",
        { "data-heat-cell": action, class: action === chosen ? "chosen" : null },
        h("td", {}, WORDS[names[action]] || `action ${action}`, action === chosen ? " ✓" : ""),
        h("td", { class: "num" }, value.toFixed(2)),
      ),
    );
  container.replaceChildren(rows.length ? h("table", { class: "list poker-scores" }, ...rows) : "");
}

document.addEventListener("keydown", onKey);
