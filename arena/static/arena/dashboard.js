// Dashboard: on "runs_changed" / "matches_changed" refetch the matching server-rendered fragment.
import { LiveSocket, statusDot } from "./live.js";

const regions = [...document.querySelectorAll("[data-fragment]")];
const state = new Map(regions.map((region) => [region, { busy: false, dirty: false, timer: null }]));

async function refresh(region) {
  const s = state.get(region);
  if (s.busy) {
    s.dirty = true; // coalesce a burst of notices into one more fetch
    return;
  }
  s.busy = true;
  try {
    const response = await fetch(region.dataset.fragment, { headers: { Accept: "text/html" } });
    if (response.ok) region.innerHTML = await response.text();
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

function soon(region) {
  const s = state.get(region);
  clearTimeout(s.timer);
  s.timer = setTimeout(() => refresh(region), 150);
}

new LiveSocket("/ws/dashboard/", {
  onStatus: statusDot,
  onSnapshot: () => regions.forEach(soon), // (re)connected: something may have changed meanwhile
  onMessage: (msg) => regions.filter((r) => r.dataset.on === msg.type).forEach(soon),
}).connect();
