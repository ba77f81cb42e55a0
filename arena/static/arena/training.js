// Agent and run pages: learning curves from the snapshot's history, extended by live stats.
import { LineChart } from "./chart.js";
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
    error.hidden = false;
  }
}

new LiveSocket(root.dataset.socket, {
  onStatus: statusDot,
  onSnapshot: (msg) => {
    setHistory(msg.history || []);
    for (const run of msg.runs || (msg.run ? [msg.run] : [])) showRun(run);
  },
  onMessage: (msg) => {
    if (msg.type !== "stats") return;
    const stats = msg.stats || {};
    addStats(stats);
    showRun({
      id: msg.run_id,
      status: msg.status,
      env_steps_done: stats.env_steps,
      env_steps_total: stats.env_steps_total,
      error: stats.error,
    });
  },
}).connect();
