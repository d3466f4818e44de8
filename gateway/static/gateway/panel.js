// A station's info panel: used beside the map and on the station page.
import {
  altitude, distanceAndBearing, el, home, latLon, localTime, maidenhead, rain, speed, temperature, timeAgo, windSpeed,
} from "./common.js";
import { symbolElement } from "./symbols.js";

const WEATHER = [
  ["temperature", "Temperature", temperature],
  ["humidity", "Humidity", (v) => `${v} %`],
  ["pressure", "Pressure", (v) => `${Number(v).toFixed(1)} hPa`],
  ["wind_direction", "Wind from", (v) => `${v}°`],
  ["wind_speed", "Wind", windSpeed],
  ["wind_gust", "Gusts", windSpeed],
  ["rain_1h", "Rain, last hour", rain],
  ["rain_24h", "Rain, 24 h", rain],
  ["rain_since_midnight", "Rain since midnight", rain],
  ["luminosity", "Luminosity", (v) => `${v} W/m²`],
  ["snow", "Snow", rain],
];

function row(label, ...value) {
  return [el("dt", { text: label }), el("dd", {}, ...value)];
}

// heading: the element that names the station (h1 on its page, h2 beside the map).
export function renderStation(container, station, { heading = "h2", link = true, close } = {}) {
  const title = el(heading, { class: "station-title" },
    station.symbol ? symbolElement(station.symbolTable, station.symbol) : null,
    link ? el("a", { href: `/station/${encodeURIComponent(station.name)}/`, text: station.name })
         : el("span", { text: station.name }));
  const facts = el("dl", { class: "facts" });
  if (station.lat !== undefined && station.lat !== null) {
    facts.append(...row("Position", el("span", { text: latLon(station.lat, station.lon) }),
                        " ", el("span", { class: "locator", text: maidenhead(station.lat, station.lon) })));
    if (station.positionAt) facts.append(...row("Position at", el("span", { text: localTime(station.positionAt) })));
    const from = home();
    if (from) facts.append(...row("From home", el("span", { text: distanceAndBearing(from, station.lat, station.lon) })));
  }
  if (typeof station.course === "number") facts.append(...row("Course", el("span", { text: `${station.course}°` })));
  if (typeof station.speed === "number") facts.append(...row("Speed", el("span", { text: speed(station.speed) })));
  if (typeof station.altitude === "number") facts.append(...row("Altitude", el("span", { text: altitude(station.altitude) })));
  if (station.comment) facts.append(...row("Comment", el("span", { class: "comment", text: station.comment })));
  if (station.status) facts.append(...row("Status", el("span", { text: station.status })));
  if (station.device) facts.append(...row("Device", el("span", { text: station.device })));
  if (station.path?.length) facts.append(...row("Path", el("span", { class: "mono", text: station.path.join(",") })));
  if (station.lastHeard) facts.append(...row("Last heard", timeAgo(station.lastHeard)));
  const parts = [title, facts];
  const call = encodeURIComponent(station.name);
  const lookups = [el("a", { href: `/station/${call}/`, text: "its page here" }), " · ",
    el("a", { href: `https://aprs.fi/info/a/${call}`, rel: "noopener", text: "aprs.fi" })];
  if (/^[A-Z0-9]{1,6}(-[A-Z0-9]{1,2})?$/i.test(station.name)) {  // a station, not an object: it can be written to
    lookups.push(" · ", el("a", { href: `https://www.qrz.com/db/${encodeURIComponent(station.name.split("-")[0])}`,
                                  rel: "noopener", text: "QRZ" }));
    parts.push(el("p", {}, el("a", { class: "message-link", href: `/messages/?to=${call}`,
                                     text: `Send ${station.name} an APRS message` })));
  }
  parts.push(el("p", { class: "lookups" }, ...lookups));
  if (station.weather) {
    const weather = el("dl", { class: "facts weather" });
    for (const [key, label, format] of WEATHER) {
      if (typeof station.weather[key] === "number") weather.append(...row(label, el("span", { text: format(station.weather[key]) })));
    }
    parts.push(el("h3", { text: "Weather" }), weather);
  }
  if (station.raw.length) {
    parts.push(el("h3", { text: "Last packets" }), rawList(station.raw));
  }
  if (close) parts.unshift(el("button", { type: "button", class: "close", "aria-label": "Close", text: "×", onclick: close }));
  container.replaceChildren(...parts);
}

export function rawList(raw) {
  return el("ol", { class: "packets raw" }, raw.map((packet) => el("li", { class: packet.error ? "unknown" : "" },
    el("time", { text: localTime(packet.received) }), " ",
    el("span", { class: "mono", text: packet.text }),
    packet.error ? el("span", { class: "reason", text: ` — not decoded: ${packet.error}` }) : null)));
}
