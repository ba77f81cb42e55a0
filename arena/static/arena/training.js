// Agent and run pages: learning curves from the snapshot's history, extended by live stats. The run
// page also draws the run's sampled training games, position by position, as they stream in.
import { renderBoard } from "./board.js";
import { LineChart } from "./chart.js";
import { showFailure } from "./failure.js";
import { LiveSocket, statusDot } from "./live.js";

const root = document.querySelector("[data-socket]");
const charts = {};
for (const node of root.querySelectorAll("[data-chart]")) charts[node.dataset.chart] = new LineChart(node);

// Series of one stats record (an epoch's progress report), by chart.
function seriesOf(stats) {
  const out = { return: {}, rates: {}, losses: {} };
  const put = (chart, name, value) => {
    if (typeof value === "number" && Number.isFinite(value)) out[chart][name] = value;
  };
  put("return", "mean return", stats.mean_return);
  put("rates", "win", stats.win_rate);
  put("rates", "draw", stats.draw_rate);
  put("rates", "loss", stats.loss_rate);
  for (const [key, value] of Object.entries(stats.losses || {})) put("losses", key, value);
  return out;
}

function addStats(stats) {
  const x = stats.env_steps;
  if (typeof x !== "number") return;
  for (const [chart, values] of Object.entries(seriesOf(stats))) {
    for (const [name, y] of Object.entries(values)) charts[chart].addPoint(name, x, y);
  }
}

function setHistory(history) {
  const all = { return: {}, rates: {}, losses: {} };
  for (const stats of history) {
    for (const [chart, values] of Object.entries(seriesOf(stats))) {
      for (const [name, y] of Object.entries(values)) (all[chart][name] ||= []).push([stats.env_steps, y]);
    }
  }
  for (const [chart, series] of Object.entries(all)) charts[chart].setSeries(series);
}

// Progress rows (data-run="<id>") on the agent and run pages.
function showRun(run) {
  const row = document.querySelector(`[data-run="${run.id}"]`);
  if (!row) return;
  const status = row.querySelector("[data-field=status]");
  status.textContent = run.status.replace("_", " ");
  status.className = `status ${run.status}`;
  const bar = row.querySelector("progress");
  if (run.env_steps_total) bar.max = run.env_steps_total;
  if (typeof run.env_steps_done === "number") bar.value = run.env_steps_done;
  row.querySelector("[data-field=steps]").textContent = `${run.env_steps_done}/${run.env_steps_total}`;
  const cancel = document.querySelector("[data-cancel]");
  if (cancel && !["queued", "running"].includes(run.status)) cancel.hidden = true; // nothing left to cancel
  const error = document.querySelector("[data-run-error]");
  if (error && run.error) {
    error.textContent = run.error;
    error.hidden = Boolean(run.failure && run.failure.what); // the report below says it, and more
  }
  showFailure(run.failure); // a failed or timed-out run's report
}

// Agent page: calibrated Elo and strength over the versions, and each checkpoint's cells, kept live.
const versionCharts = {};
for (const node of document.querySelectorAll("[data-version-chart]")) {
  versionCharts[node.dataset.versionChart] = new LineChart(node, { xLabel: "version" });
}
const curves = document.getElementById("version-curves");
if (curves) {
  const data = JSON.parse(curves.textContent);
  for (const [chart, series] of Object.entries(data)) versionCharts[chart]?.setSeries(series);
}

// The same words as arena.services.calibration.calibration_text.
function calibrationText(c) {
  const rating = c.elo === null ? "" : `${Math.round(c.elo)} ±${Math.round(c.half_width)}`;
  if (c.status === "pending") return rating ? `rating pending (${rating})` : "rating pending";
  if (c.status === "budget_spent") return `${rating} (budget spent)`;
  return rating;
}

function showCalibration(msg) {
  for (const id of msg.checkpoints || []) {
    const cell = document.querySelector(`[data-calibration="${id}"]`);
    if (!cell) continue;
    cell.textContent = calibrationText(msg.calibration);
    cell.dataset.calibrationStatus = msg.calibration.status;
  }
  const c = msg.calibration;
  if (c.status !== "pending" && c.elo !== null) versionCharts.elo?.addPoint("Elo", msg.version, c.elo);
}

function strengthText(s) {
  if (s.kind === "perfect_play") {
    const pct = (x) => `${(100 * x).toFixed(1)}%`;
    return `${pct(s.mistake_share)} mistakes, loses ${pct(s.loss)} vs perfect play`;
  }
  if (s.kind === "alphabeta_ladder") {
    return `vs alpha-beta: ${Object.entries(s.scores).map(([d, v]) => `d${d} ${v.toFixed(2)}`).join(", ")}`;
  }
  return "–";
}

function showStrength(msg) {
  const cell = document.querySelector(`[data-strength="${msg.checkpoint}"]`);
  if (cell) cell.textContent = strengthText(msg.strength);
  const s = msg.strength;
  if (s.kind === "perfect_play") {
    versionCharts.strength?.addPoint(`mistakes ${s.seat}`, msg.version, s.mistake_share);
    versionCharts.strength?.addPoint(`loss ${s.seat}`, msg.version, s.loss);
  }
}

// The same words as arena.services.exploitability.exploitability_summary.
function exploitabilityText(e) {
  if (e.kind !== "exploitability") return "–";
  const uniform = (e.references || {})["uniform random"];
  return `exploitability ${e.value.toFixed(4)} bb/hand${uniform ? ` (random ${uniform.toFixed(3)})` : ""}`;
}

function showExploitability(msg) {
  for (const id of msg.checkpoints || [msg.checkpoint]) {
    const cell = document.querySelector(`[data-exploitability="${id}"]`);
    if (cell) cell.textContent = exploitabilityText(msg.exploitability);
  }
  const e = msg.exploitability;
  if (e.kind !== "exploitability") return;
  versionCharts.exploitability?.addPoint("exploitability", msg.version, e.value);
  for (const [name, value] of Object.entries(e.references || {})) {
    versionCharts.exploitability?.addPoint(name, msg.version, value);
  }
}

// A checkpoint a run just wrote joins the run page's list and the agent page's table (by seat, newest
// version first, as the pages list them); one already there (a message sent twice) is redrawn in place.
function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

function cell(...children) {
  const td = document.createElement("td");
  td.append(...children);
  return td;
}

function muted(text) {
  const span = document.createElement("span");
  span.className = "muted";
  span.textContent = text;
  return span;
}

// Put `cp`'s row (an `li` or a `tr`, built by `fill`) into `list` in the pages' order, show the list
// and hide its "none yet" line.
function placeCheckpoint(list, none, cp, tag, fill) {
  const item = list.querySelector(`[data-checkpoint="${cp.id}"]`) || document.createElement(tag);
  Object.assign(item.dataset, { checkpoint: cp.id, seat: cp.seat, version: cp.version });
  fill(item);
  if (!item.parentNode) {
    const after = (row) =>
      row.dataset.seat > cp.seat || (row.dataset.seat === cp.seat && Number(row.dataset.version) < cp.version);
    list.insertBefore(item, [...list.children].find(after) || null);
  }
  (list.closest("[data-agent-checkpoints-table]") || list).hidden = false;
  if (none) none.hidden = true;
}

function runCheckpointRow(item, cp) {
  item.replaceChildren(
    link(cp.url, cp.label),
    ` · ${cp.env_steps} steps · `,
    link(cp.weights_url, "weights"),
    " · ",
    link(cp.sidecar_url, "sidecar"),
  );
}

// The agent page's columns for a checkpoint just written: not rated, calibrated or measured yet, so
// those cells wait for their own messages (they find the cells by the checkpoint's id).
function agentCheckpointRow(item, cp, exploitability) {
  const calibration = cell(cp.calibration_status === "pending" ? "rating pending" : "–");
  Object.assign(calibration.dataset, { calibration: cp.id, calibrationStatus: cp.calibration_status });
  const strength = cell("–");
  strength.dataset.strength = cp.id;
  const seat = cell(cp.seat_label);
  seat.dataset.seat = cp.seat;
  const metrics = cell();
  metrics.className = "metrics";
  for (const [key, value] of Object.entries(cp.metrics || {})) {
    const chip = muted(`${key} ${Number(value).toFixed(3)}`);
    chip.className = "chip";
    metrics.append(chip, " ");
  }
  const cells = [cell(link(cp.url, `v${cp.version}`)), seat, cell(String(cp.env_steps)), cell(muted("–")), calibration, strength];
  if (exploitability) {
    const measured = cell("–");
    measured.dataset.exploitability = cp.id;
    cells.push(measured);
  }
  cells.push(
    metrics,
    cell(link(cp.export_url, "export"), " · ", link(cp.weights_url, "weights"), " · ", link(cp.sidecar_url, "sidecar")),
    cell(
      link(cp.play_url, "Play against this checkpoint"),
      " ",
      muted(`(you take ${cp.opponent_seat})`),
      " · ",
      link(cp.match_url, "Match it"),
    ),
  );
  item.replaceChildren(...cells);
}

function showCheckpoint(cp) {
  const list = document.querySelector("[data-run-checkpoints]");
  if (list) placeCheckpoint(list, document.querySelector("[data-run-checkpoints-none]"), cp, "li", (li) => runCheckpointRow(li, cp));
  const table = document.querySelector("[data-agent-checkpoints]");
  if (!table) return;
  const exploitability = table.closest("[data-agent-checkpoints-table]").dataset.exploitability === "true";
  const none = document.querySelector("[data-agent-checkpoints-none]");
  placeCheckpoint(table, none, cp, "tr", (tr) => agentCheckpointRow(tr, cp, exploitability));
}

// A sampled training game: every message carries a whole position, so the newest one is drawn and older
// ones (a late or repeated message) are dropped. Order: env steps, then game number, then ply.
const watch = document.querySelector("[data-training-game]");
let shownGame = [-1, -1, -1];

function newer(key, than) {
  for (let i = 0; i < key.length; i++) if (key[i] !== than[i]) return key[i] > than[i];
  return false;
}

function gameResultText(msg) {
  const result = msg.result || msg.state.result;
  if (!result) return "";
  return result.winner ? `${result.winner} won.` : "A draw."; // who played which seat is said below
}

function showTrainingGame(msg) {
  if (!watch) return;
  const key = [msg.env_steps, msg.number, msg.ply];
  if (!newer(key, shownGame)) return;
  shownGame = key;
  // A poker table names its seats, as on a watched match; the other boards take no options when watched.
  const poker = msg.render_hint === "poker" ? { names: msg.players, over: msg.ply === msg.plies } : null;
  renderBoard(watch.querySelector("[data-board]"), msg.render_hint, msg.state, poker);
  Object.assign(watch.dataset, { number: msg.number, ply: msg.ply, plies: msg.plies });
  const steps = msg.env_steps.toLocaleString("en-US");
  const move = msg.ply === 0 ? "the start" : `move ${msg.ply} of ${msg.plies}`;
  const where = `Game ${msg.number}, played at ${steps} env steps: ${move}.`;
  watch.querySelector("[data-training-game-caption]").textContent = `${where} ${gameResultText(msg)}`.trim();
  watch.querySelector("[data-training-game-players]").textContent = Object.entries(msg.players)
    .map(([seat, who]) => `${seat}: ${who}`)
    .join(" · ");
}

new LiveSocket(root.dataset.socket, {
  onStatus: statusDot,
  onSnapshot: (msg) => {
    setHistory(msg.history || []);
    for (const run of msg.runs || (msg.run ? [msg.run] : [])) showRun(run);
    for (const cp of msg.checkpoints || []) showCheckpoint(cp); // those written while the socket was down
  },
  onMessage: (msg) => {
    if (msg.type === "calibration") showCalibration(msg);
    if (msg.type === "strength") showStrength(msg);
    if (msg.type === "exploitability") showExploitability(msg);
    if (msg.type === "training_game") showTrainingGame(msg);
    // The run's group sends the row as `checkpoint`; the agent's sends the checkpoint and its `row`.
    if (msg.type === "checkpoint") showCheckpoint(msg.run_id ? msg.checkpoint : msg.row);
    if (msg.type !== "stats") return;
    const stats = msg.stats || {};
    addStats(stats);
    showRun({
      id: msg.run_id,
      status: msg.status,
      env_steps_done: stats.env_steps,
      env_steps_total: stats.env_steps_total,
      error: stats.error,
      failure: stats.failure,
    });
  },
}).connect();
