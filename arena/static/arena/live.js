// A small reconnecting WebSocket client for Arena's live protocol.
//
// The server sends {"type": "snapshot", "seq": n, ...} on connect, then {"type": "event", "seq": n+1, ...}.
// Events with seq <= the current one are stale and dropped; a gap means we missed something, so we ask
// {"type": "resync"} and ignore events until the fresh snapshot arrives. Other messages (stats,
// runs_changed, ...) carry no seq and go to onMessage. On a drop we reconnect with exponential backoff
// and full jitter, so a restarted server is not hit by every browser at the same instant. Close codes
// 4404 (no such object), 4401 (not signed in) and close() stop the reconnecting; 4429 (too many sockets
// from this address or user) waits longer before the next try.

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 30000;
const PING_MS = 25000; // below common proxy idle timeouts

export function socketUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

export class LiveSocket {
  constructor(path, { onSnapshot = () => {}, onEvent = () => {}, onMessage = () => {}, onStatus = () => {} } = {}) {
    this.path = path;
    this.handlers = { onSnapshot, onEvent, onMessage, onStatus };
    this.seq = null; // null until the first snapshot
    this.resyncing = false;
    this.attempt = 0;
    this.stopped = false;
    this.ws = null;
    this.timer = null;
    this.pinger = null;
  }

  connect() {
    this.stopped = false;
    this.handlers.onStatus("connecting");
    const ws = new WebSocket(socketUrl(this.path));
    this.ws = ws;
    ws.onopen = () => {
      this.pinger = setInterval(() => this.send({ type: "ping" }), PING_MS);
    };
    ws.onmessage = (frame) => {
      let msg;
      try {
        msg = JSON.parse(frame.data);
      } catch {
        return;
      }
      this.handle(msg);
    };
    ws.onclose = (close) => {
      clearInterval(this.pinger);
      if (this.ws !== ws) return; // an old socket we already replaced
      this.ws = null;
      // 4404: no such object; 4401: not signed in (the play socket). Reconnecting would not help.
      if (this.stopped || close.code === 4404 || close.code === 4401) {
        this.handlers.onStatus({ 4404: "gone", 4401: "unauthorized" }[close.code] || "closed");
        return;
      }
      this.handlers.onStatus("reconnecting");
      if (close.code === 4429) this.attempt = Math.max(this.attempt, 5);
      const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** this.attempt);
      this.attempt += 1;
      this.timer = setTimeout(() => this.connect(), Math.random() * ceiling);
    };
    return this;
  }

  handle(msg) {
    if (msg.type === "snapshot") {
      this.attempt = 0; // a snapshot means the server is healthy again
      this.resyncing = false;
      if (typeof msg.seq === "number") this.seq = msg.seq;
      this.handlers.onStatus("live");
      this.handlers.onSnapshot(msg);
    } else if (msg.type === "event" && typeof msg.seq === "number") {
      if (this.seq === null || this.resyncing || msg.seq <= this.seq) return;
      if (msg.seq > this.seq + 1) {
        this.resync();
        return;
      }
      this.seq = msg.seq;
      this.handlers.onEvent(msg);
    } else if (msg.type === "pong") {
      // A keep-alive, and on a match's stream the latest event's number: a last event lost on its way
      // (the channel layer can drop one) shows as being behind, and a resync fetches it.
      if (typeof msg.seq === "number" && this.seq !== null && !this.resyncing && msg.seq > this.seq) this.resync();
    } else {
      this.handlers.onMessage(msg);
    }
  }

  resync() {
    this.resyncing = true;
    this.send({ type: "resync" });
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000);
  }
}

// Shows the connection state on a page's "live" dot.
export function statusDot(state) {
  for (const dot of document.querySelectorAll("[data-live-status]")) {
    dot.dataset.state = state;
    dot.title = `live updates: ${state}`;
  }
}
