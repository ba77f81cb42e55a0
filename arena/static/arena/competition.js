// Tournament, league and leaderboard pages: charts from <script type="application/json"> series, and
// live refresh: a message on the page's socket refetches its HTML fragment (the DB is the truth).
import { LineChart } from "./chart.js";
import { LiveSocket, statusDot } from "./live.js";

function drawCharts(root) {
  for (const node of root.querySelectorAll("[data-series]")) {
    const data = document.getElementById(node.dataset.series);
    if (!data) continue;
    const chart = new LineChart(node, { xLabel: node.dataset.xLabel || "" });
    chart.setSeries(JSON.parse(data.textContent));
  }
}

drawCharts(document);

const live = document.querySelector("#live-fragment[data-socket]");
if (live) {
  let pending = null;
  const refresh = () => {
    // Coalesce bursts (a batch finishing many matches) into one fetch.
    if (pending) return;
    pending = setTimeout(async () => {
      pending = null;
      const response = await fetch(live.dataset.fragment, { headers: { "X-Requested-With": "fetch" } });
      if (!response.ok) return;
      // Preserve which rounds are expanded across refreshes.
      const open = [...live.querySelectorAll("details")].map((d) => d.open);
      live.innerHTML = await response.text();
      live.querySelectorAll("details").forEach((d, i) => { if (i < open.length) d.open = open[i]; });
      drawCharts(live);
    }, 300);
  };
  const socket = new LiveSocket(live.dataset.socket, {
    onSnapshot: refresh,
    onMessage: refresh,
    onStatus: statusDot,
  });
  socket.connect();
}
