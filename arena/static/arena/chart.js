// A small dependency-free SVG line chart: several series, axes with round ticks, a legend.
//
//   const chart = new LineChart(div, { xLabel: "env steps" });
//   chart.setSeries({ "win rate": [[0, 0.1], [1000, 0.4]] });
//   chart.addPoint("win rate", 2000, 0.55);   // redraws on the next animation frame

const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04"];
const PAD = { left: 52, right: 12, top: 10, bottom: 34 };

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  parent.appendChild(node);
  return node;
}

// About `count` round tick values (1, 2 or 5 times a power of ten) covering [lo, hi].
export function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

export function formatNumber(value) {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  if (abs === 0 || abs >= 1) return `${+value.toFixed(2)}`;
  return `${+value.toPrecision(2)}`;
}

export class LineChart {
  constructor(container, { xLabel = "env steps", height = 220 } = {}) {
    this.container = container;
    this.xLabel = xLabel;
    this.height = height;
    this.series = new Map(); // name -> [[x, y], ...] sorted by x
    this.pending = false;
    this.draw();
  }

  setSeries(seriesByName) {
    this.series = new Map(Object.entries(seriesByName).map(([name, pts]) => [name, [...pts]]));
    this.scheduleDraw();
  }

  addPoint(name, x, y) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    if (!this.series.has(name)) this.series.set(name, []);
    const points = this.series.get(name);
    if (points.length && points[points.length - 1][0] === x) points[points.length - 1] = [x, y];
    else points.push([x, y]);
    this.scheduleDraw();
  }

  scheduleDraw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const width = Math.max(240, this.container.clientWidth || 480);
    const height = this.height;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("class", "line-chart");
    const all = [...this.series.values()].flat().filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (all.length === 0) {
      el("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty" }, svg).textContent =
        "no data yet";
      this.container.replaceChildren(svg);
      return;
    }
    let [xMin, xMax] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
    let [yMin, yMax] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
    if (xMax === xMin) [xMin, xMax] = [xMin - 1, xMax + 1];
    if (yMax === yMin) [yMin, yMax] = [yMin - 0.5, yMax + 0.5];
    const yTicks = niceTicks(yMin, yMax);
    yMin = Math.min(yMin, yTicks[0]);
    yMax = Math.max(yMax, yTicks[yTicks.length - 1]);
    const plotW = width - PAD.left - PAD.right;
    const plotH = height - PAD.top - PAD.bottom;
    const sx = (x) => PAD.left + ((x - xMin) / (xMax - xMin)) * plotW;
    const sy = (y) => PAD.top + (1 - (y - yMin) / (yMax - yMin)) * plotH;

    const axes = el("g", { class: "axes" }, svg);
    for (const t of yTicks) {
      el("line", { x1: PAD.left, x2: width - PAD.right, y1: sy(t), y2: sy(t), class: "gridline" }, axes);
      el("text", { x: PAD.left - 6, y: sy(t) + 4, "text-anchor": "end" }, axes).textContent = formatNumber(t);
    }
    for (const t of niceTicks(xMin, xMax, Math.max(2, Math.floor(plotW / 90)))) {
      el("line", { x1: sx(t), x2: sx(t), y1: PAD.top + plotH, y2: PAD.top + plotH + 4 }, axes);
      el("text", { x: sx(t), y: PAD.top + plotH + 16, "text-anchor": "middle" }, axes).textContent =
        formatNumber(t);
    }
    el("line", { x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: PAD.top + plotH }, axes);
    el("line", { x1: PAD.left, x2: width - PAD.right, y1: PAD.top + plotH, y2: PAD.top + plotH }, axes);
    el("text", { x: PAD.left + plotW / 2, y: height - 4, "text-anchor": "middle", class: "label" }, axes)
      .textContent = this.xLabel;

    [...this.series.entries()].forEach(([name, points], i) => {
      const color = COLORS[i % COLORS.length];
      const good = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
      const d = good.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
      el("polyline", { points: d, fill: "none", stroke: color, "stroke-width": 2, "data-series": name }, svg);
      if (good.length === 1) el("circle", { cx: sx(good[0][0]), cy: sy(good[0][1]), r: 3, fill: color }, svg);
    });

    const legend = document.createElement("ul");
    legend.className = "legend";
    [...this.series.keys()].forEach((name, i) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = COLORS[i % COLORS.length];
      item.append(swatch, name);
      legend.appendChild(item);
    });
    this.container.replaceChildren(svg, legend);
  }
}
