// The status bar on every page (APRS-IS link, packets/s, clients) and the units and time switches.
import { number, setTimeZone, setUnits, timeZone, units } from "./common.js";

const POLL_EVERY = 5000;

function linkState(link) {
  if (link.state === "off") return gettext("off (no APRS-IS uplink on this node)");
  if (link.state === "standby") return gettext("standby (another node holds the uplink)");
  if (link.state === "leader") return gettext("leading (local radio only, no APRS-IS uplink)");
  if (link.stale) return gettext("stale");
  const STATES = {
    verified: gettext("connected, verified"), unverified: gettext("connected, unverified"),
    idle: gettext("idle"), connecting: gettext("connecting"), connected: gettext("connected, logging in"),
    disconnected: gettext("disconnected"), stopped: gettext("stopped"),
  };
  const state = STATES[link.state] ?? link.state;
  return link.demo ? interpolate(gettext("%(state)s (DEMO feed)"), { state }, true) : state;
}

async function poll() {
  const linkNode = document.getElementById("status-link");
  try {
    const response = await fetch("/api/status", { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const status = await response.json();
    linkNode.textContent = linkState(status.link);
    linkNode.dataset.state = status.link.stale ? "stale" : status.link.state;
    document.getElementById("status-rate").textContent = number(status.link.packets_per_second || 0, 1);
    document.getElementById("status-clients").textContent = status.online;  // every page open here
  } catch (error) {
    linkNode.textContent = gettext("status unavailable");
    linkNode.dataset.state = "unknown";
  }
}

// The language switcher posts to Django's set_language as soon as a language is picked.
const language = document.getElementById("language");
language.addEventListener("change", () => language.form.submit());
document.querySelector("#language-form .no-script").hidden = true;

const select = document.getElementById("units");
select.value = units();
select.addEventListener("change", () => setUnits(select.value));
const zone = document.getElementById("time-zone");
zone.value = timeZone();
zone.addEventListener("change", () => setTimeZone(zone.value));
poll();
setInterval(poll, POLL_EVERY);
