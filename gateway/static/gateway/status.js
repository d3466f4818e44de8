// The status bar on every page (APRS-IS link, packets/s, clients) and the units and time switches.
import { setTimeZone, setUnits, timeZone, units } from "./common.js";

const POLL_EVERY = 5000;

function linkState(link) {
  if (link.state === "off") return "off (no APRS-IS uplink on this node)";
  if (link.state === "standby") return "standby (another node holds the uplink)";
  if (link.state === "leader") return "leading (local radio only, no APRS-IS uplink)";
  if (link.stale) return "stale";
  const state = link.state === "verified" || link.state === "unverified" ? `connected, ${link.state}` : link.state;
  return link.demo ? `${state} (DEMO feed)` : state;
}

async function poll() {
  const linkNode = document.getElementById("status-link");
  try {
    const response = await fetch("/api/status", { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const status = await response.json();
    linkNode.textContent = linkState(status.link);
    linkNode.dataset.state = status.link.stale ? "stale" : status.link.state;
    document.getElementById("status-rate").textContent = (status.link.packets_per_second || 0).toFixed(1);
    document.getElementById("status-clients").textContent = status.online;  // every page open here
  } catch (error) {
    linkNode.textContent = "status unavailable";
    linkNode.dataset.state = "unknown";
  }
}

const select = document.getElementById("units");
select.value = units();
select.addEventListener("change", () => setUnits(select.value));
const zone = document.getElementById("time-zone");
zone.value = timeZone();
zone.addEventListener("change", () => setTimeZone(zone.value));
poll();
setInterval(poll, POLL_EVERY);
