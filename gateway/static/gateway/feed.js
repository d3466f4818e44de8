// The packet feed page: raw packets as they arrive, filterable and pausable.
import { el, localTime, notDecoded, number } from "./common.js";
import { FeedSocket } from "./feedsocket.js";

const MAX_ROWS = 500;
const MAX_HELD = 2000; // packets kept while paused; older ones are let go
const RATE_WINDOW = 5; // seconds the packets/s counter averages over

const list = document.getElementById("packets");
const input = document.getElementById("filter");
const errorBox = document.getElementById("filter-error");
const pauseButton = document.getElementById("pause");
const pausedCount = document.getElementById("paused-count");
let paused = false;
let held = [];
let heldDropped = 0;
const arrivals = [];

function row(item) {
  const text = item.text;
  const source = item.packet?.from || text.split(">", 1)[0];
  const rest = text.startsWith(source) ? text.slice(source.length) : text;
  const unknown = item.packet?.format === "unknown";
  return el("li", { class: unknown ? "unknown" : "" },
    el("time", { text: localTime(item.received) }), " ",
    el("a", { class: "call", href: `/station/${encodeURIComponent(source)}/`, text: source }),
    el("span", { class: "mono", text: rest }),
    unknown ? el("span", { class: "reason", text: ` — ${notDecoded(item.packet.error)}` }) : null,
    item.raw_b64 ? el("span", { class: "reason", text: ` — ${gettext("not UTF-8: shown with � for the bad bytes")}` }) : null);
}

function show(items) {
  const rows = items.map(row).reverse();
  list.prepend(...rows);
  while (list.children.length > MAX_ROWS) list.lastChild.remove();
}

let liveSince = Infinity; // the server's time of the subscription: older packets are the held ones

function received(items, dropped) {
  const now = Date.now() / 1000;
  for (const item of items) if (item.received >= liveSince) arrivals.push(now);  // packets/s: live ones only
  if (dropped) {
    const text = interpolate(ngettext("(%(n)s packet dropped: this browser fell behind)",
                                      "(%(n)s packets dropped: this browser fell behind)", dropped), { n: dropped }, true);
    show([{ received: now, text, packet: {} }]);
  }
  if (paused) {
    held.push(...items);
    if (held.length > MAX_HELD) {
      heldDropped += held.length - MAX_HELD;
      held = held.slice(-MAX_HELD);
    }
    showHeld();
  } else {
    show(items);
  }
}

function showHeld() {
  const waiting = interpolate(ngettext("paused: %(n)s new packet waiting", "paused: %(n)s new packets waiting", held.length),
                              { n: held.length }, true);
  const letGo = interpolate(ngettext("(%(n)s older one let go)", "(%(n)s older ones let go)", heldDropped),
                            { n: heldDropped }, true);
  pausedCount.textContent = heldDropped ? `${waiting} ${letGo}` : waiting;
}

function setPaused(value) {
  paused = value;
  pauseButton.setAttribute("aria-pressed", String(paused));
  pauseButton.textContent = paused ? gettext("Resume") : gettext("Pause");
  if (!paused) {
    show(held);
    held = [];
    heldDropped = 0;
    pausedCount.textContent = "";
  } else {
    showHeld();
  }
}

function updateRate() {
  const since = Date.now() / 1000 - RATE_WINDOW;
  while (arrivals.length && arrivals[0] < since) arrivals.shift();
  document.getElementById("feed-rate").textContent = number(arrivals.length / RATE_WINDOW, 1);
}

const feed = new FeedSocket({
  onPackets: received,
  onSubscribed: (filter, errors, at) => {
    liveSince = at ?? 0;
    // The parts that could not be read are named; the others apply.
    errorBox.textContent = errors.length ? interpolate(gettext("ignored: %(errors)s"), { errors: errors.join("; ") }, true) : "";
    if (errors.length) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    list.replaceChildren();
    const url = new URL(location.href);
    if (filter) url.searchParams.set("filter", filter);
    else url.searchParams.delete("filter");
    history.replaceState(null, "", url);
  },
  onError: (reason) => {
    errorBox.textContent = reason;
    input.setAttribute("aria-invalid", "true");
  },
  onState: (state) => { document.getElementById("socket-state").textContent = state; },
});

document.getElementById("filter-form").addEventListener("submit", (event) => {
  event.preventDefault();
  feed.subscribe(input.value.trim(), 50);
});
pauseButton.addEventListener("click", () => setPaused(!paused));
input.value = new URL(location.href).searchParams.get("filter") || "";
feed.subscribe(input.value.trim(), 50);
setInterval(updateRate, 1000);
