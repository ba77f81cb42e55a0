// Line charts drawn by uPlot (vendored under vendor/uplot/, MIT): several series, a legend, axes
// whose ticks and ranges come from the library, not from hand-rolled arithmetic.
//
//   const chart = new LineChart(div, { xLabel: "env steps" });
//   chart.setSeries({ "win rate": [[0, 0.1], [1000, 0.4]] });
//   chart.addPoint("win rate", 2000, 0.55);   // redraws on the next animation frame
//
// Options: `height`; `yRange: [lo, hi]` pins the y axis (probabilities: [0, 1]); `xInteger`
// forces (true) or forbids (false) whole-number x ticks, which are otherwise used whenever every x
// is a whole number (moves, versions, ticks).
// After each draw the container's `data-points` holds {series name: number of points} and `data-ticks`
// the axes' tick values, so a page (or a browser test) can tell what is drawn without reading the canvas.
import uPlot from "./vendor/uplot/uPlot.esm.js";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04"];
// Tick steps for whole-number axes: 1, 2, 5 times a power of ten, never a fraction.
const INTEGER_INCRS = Array.from({ length: 10 }, (_, p) => [1, 2, 5].map((m) => m * 10 ** p)).flat();

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

const finite = ([x, y]) => Number.isFinite(x) && Number.isFinite(y);

// uPlot wants one shared x array and one y array per series (null where a series has no point).
function aligned(series) {
  const xs = [...new Set([...series.values()].flat().map((p) => p[0]))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = [...series.values()].map((points) => {
    const column = new Array(xs.length).fill(null);
    for (const [x, y] of points) column[index.get(x)] = y;
    return column;
  });
  return [xs, ...ys];
}

// A scale that never collapses to one value: a lone point sits in the middle of a unit span.
const spread = (_u, min, max) => (min === max ? [min - 1, max + 1] : [min, max]);

export class LineChart {
  constructor(container, { xLabel = "env steps", height = 220, yRange = null, xInteger = null } = {}) {
    this.container = container;
    this.xLabel = xLabel;
    this.height = height;
    this.yRange = yRange;
    this.xInteger = xInteger;
    this.series = new Map(); // name -> [[x, y], ...] sorted by x
    this.pending = false;
    this.plot = null;
    this.shape = "";
    new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: this.height })).observe(container);
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

  width() {
    return Math.max(240, this.container.clientWidth || 480);
  }

  options(integerX) {
    const yRange = this.yRange;
    return {
      width: this.width(),
      height: this.height,
      scales: {
        x: { time: false, range: spread },
        y: yRange ? { range: () => yRange } : { range: (u, min, max) => uPlot.rangeNum(min, max, 0.1, true) },
      },
      axes: [
        {
          label: this.xLabel,
          ...(integerX ? { incrs: INTEGER_INCRS } : {}),
          values: (_u, splits) => this.ticked("x", splits),
        },
        { values: (_u, splits) => this.ticked("y", splits), size: 56 },
      ],
      series: [
        { label: this.xLabel, value: (_u, v) => (v == null ? "–" : formatNumber(v)) },
        ...[...this.series.keys()].map((name, i) => ({
          label: name,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          spanGaps: true,
          value: (_u, v) => (v == null ? "–" : formatNumber(v)),
        })),
      ],
      cursor: { drag: { x: false, y: false } },
      legend: { live: false },
    };
  }

  // An axis's tick values as drawn, kept in `data-ticks` ({x: [...], y: [...]}) like `data-points`.
  ticked(axis, splits) {
    const ticks = JSON.parse(this.container.dataset.ticks || "{}");
    ticks[axis] = splits;
    this.container.dataset.ticks = JSON.stringify(ticks);
    return splits.map(formatNumber);
  }

  draw() {
    for (const [name, points] of this.series) this.series.set(name, points.filter(finite));
    const counts = Object.fromEntries([...this.series].map(([name, points]) => [name, points.length]));
    this.container.dataset.points = JSON.stringify(counts);
    if (![...this.series.values()].some((points) => points.length)) {
      this.plot?.destroy();
      this.plot = null;
      this.shape = "";
      const empty = document.createElement("p");
      empty.className = "chart-empty muted";
      empty.textContent = "no data yet";
      this.container.replaceChildren(empty);
      return;
    }
    const data = aligned(this.series);
    const integerX = this.xInteger ?? data[0].every(Number.isInteger);
    const shape = JSON.stringify([[...this.series.keys()], integerX]);
    if (this.plot && shape === this.shape) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.container.replaceChildren();
    this.plot = new uPlot(this.options(integerX), data, this.container);
    this.shape = shape;
  }
}
