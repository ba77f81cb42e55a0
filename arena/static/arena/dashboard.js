// Dashboard: on "runs_changed" / "matches_changed" refetch the matching server-rendered fragment, and
// keep the demo game's board live (liveboard.js, the match page's stream) as one game follows another.
import { LiveSocket, statusDot } from "./live.js";
import { LiveBoard } from "./liveboard.js";

const regions = [...document.querySelectorAll("[data-fragment]")];
const state = new Map(regions.map((region) => [region, { busy: false, dirty: false, timer: null }]));
let demo = null; // the LiveBoard of the demo game shown

function followDemo() {
  const node = document.querySelector("[data-demo-match]");
  const id = node ? Number(node.dataset.demoMatch) : null;
  if (demo && demo.matchId === id && demo.root === node) return;
  if (demo) demo.close();
  demo = node ? new LiveBoard(node, id).start() : null;
}

async function refresh(region) {
  const s = state.get(region);
  if (s.busy) {
    s.dirty = true; // coalesce a burst of notices into one more fetch
    return;
  }
  s.busy = true;
  try {
    const response = await fetch(region.dataset.fragment, { headers: { Accept: "text/html" } });
    if (response.ok) {
      // The demo region keeps its board while the same game goes on: replacing it would blank it.
      const html = await response.text();
      if (!("demoRegion" in region.dataset) || !sameDemo(region, html)) region.innerHTML = html;
      if ("demoRegion" in region.dataset) followDemo();
    }
  } catch {
    // offline for a moment: the next notice or reconnect snapshot refetches
  } finally {
    s.busy = false;
    if (s.dirty) {
      s.dirty = false;
      refresh(region);
    }
  }
}

function sameDemo(region, html) {
  const shown = region.querySelector("[data-demo-match]")?.dataset.demoMatch;
  const next = new DOMParser().parseFromString(html, "text/html").querySelector("[data-demo-match]");
  return Boolean(shown) && shown === next?.dataset.demoMatch;
}

function soon(region) {
  const s = state.get(region);
  clearTimeout(s.timer);
  s.timer = setTimeout(() => refresh(region), 150);
}

followDemo();
new LiveSocket("/ws/dashboard/", {
  onStatus: statusDot,
  onSnapshot: () => regions.forEach(soon), // (re)connected: something may have changed meanwhile
  onMessage: (msg) => regions.filter((r) => r.dataset.on === msg.type).forEach(soon),
}).connect();
