// Live packet list: subscribes to ws/aprs/ and renders packets as text.
const MAX_ROWS = 200;
const list = document.getElementById("packets");
const form = document.getElementById("filter-form");
const errorBox = document.getElementById("filter-error");
let socket;

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/aprs/`);
  socket.onopen = () => subscribe(document.getElementById("filter").value);
  socket.onmessage = (event) => handle(JSON.parse(event.data));
  socket.onclose = () => setTimeout(connect, 3000);
}

function subscribe(filter) {
  socket.send(JSON.stringify({ type: "subscribe", filter }));
}

function handle(frame) {
  if (frame.type === "error") errorBox.textContent = frame.reason;
  else if (frame.type === "subscribed") errorBox.textContent = "";
  else if (frame.type === "packets") frame.packets.forEach(show);
}

function show(item) {
  const row = document.createElement("li");
  row.textContent = item.text;
  if (item.packet.format === "unknown") {
    row.classList.add("unknown");
    row.title = item.packet.error;
  }
  list.prepend(row);
  while (list.children.length > MAX_ROWS) list.lastChild.remove();
}

async function pollStatus() {
  try {
    const status = await (await fetch("/api/status")).json();
    const link = status.link;
    const demo = link.demo ? " (DEMO feed)" : "";
    document.getElementById("link").textContent =
      `APRS-IS: ${link.state}${demo}, ${(link.packets_per_second || 0).toFixed(1)} packets/s, ${status.feed.clients} clients`;
  } catch (e) {
    document.getElementById("link").textContent = "APRS-IS: status unavailable";
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  subscribe(document.getElementById("filter").value);
});
connect();
pollStatus();
setInterval(pollStatus, 5000);
