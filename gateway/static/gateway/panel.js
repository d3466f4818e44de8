// A station's info panel: used beside the map and on the station page.
import {
  altitude, distanceAndBearing, el, home, latLon, localTime, maidenhead, notDecoded, number, rain, speed, temperature,
  timeAgo, windSpeed,
} from "./common.js";
import { symbolElement } from "./symbols.js";

const WEATHER = [
  ["temperature", gettext("Temperature"), temperature],
  ["humidity", gettext("Humidity"), (v) => `${number(v)} %`],
  ["pressure", gettext("Pressure"), (v) => `${number(v, 1)} hPa`],
  ["wind_direction", gettext("Wind from"), (v) => `${number(v)}°`],
  ["wind_speed", gettext("Wind"), windSpeed],
  ["wind_gust", gettext("Gusts"), windSpeed],
  ["rain_1h", gettext("Rain, last hour"), rain],
  ["rain_24h", gettext("Rain, 24 h"), rain],
  ["rain_since_midnight", gettext("Rain since midnight"), rain],
  ["luminosity", gettext("Luminosity"), (v) => `${number(v)} W/m²`],
  ["snow", gettext("Snow"), rain],
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
    facts.append(...row(gettext("Position"), el("span", { text: latLon(station.lat, station.lon) }),
                        " ", el("span", { class: "locator", text: maidenhead(station.lat, station.lon) })));
    if (station.positionAt) facts.append(...row(gettext("Position at"), el("span", { text: localTime(station.positionAt) })));
    const from = home();
    if (from) facts.append(...row(gettext("From home"), el("span", { text: distanceAndBearing(from, station.lat, station.lon) })));
  }
  if (typeof station.course === "number") facts.append(...row(gettext("Course"), el("span", { text: `${number(station.course)}°` })));
  if (typeof station.speed === "number") facts.append(...row(gettext("Speed"), el("span", { text: speed(station.speed) })));
  if (typeof station.altitude === "number") facts.append(...row(gettext("Altitude"), el("span", { text: altitude(station.altitude) })));
  if (station.comment) facts.append(...row(gettext("Comment"), el("span", { class: "comment", text: station.comment })));
  if (station.status) facts.append(...row(gettext("Status"), el("span", { text: station.status })));
  if (station.device) facts.append(...row(gettext("Device"), el("span", { text: station.device })));
  if (station.path?.length) facts.append(...row(gettext("Path"), el("span", { class: "mono", text: station.path.join(",") })));
  if (station.lastHeard) facts.append(...row(gettext("Last heard"), timeAgo(station.lastHeard)));
  const parts = [title, facts];
  const call = encodeURIComponent(station.name);
  const lookups = [el("a", { href: `/station/${call}/`, text: gettext("its page here") }), " · ",
    el("a", { href: `https://aprs.fi/info/a/${call}`, rel: "noopener", text: "aprs.fi" })];
  if (/^[A-Z0-9]{1,6}(-[A-Z0-9]{1,2})?$/i.test(station.name)) {  // a station, not an object: it can be written to
    lookups.push(" · ", el("a", { href: `https://www.qrz.com/db/${encodeURIComponent(station.name.split("-")[0])}`,
                                  rel: "noopener", text: "QRZ" }));
    parts.push(el("p", {}, el("a", { class: "message-link", href: `/messages/?to=${call}`,
                                     text: interpolate(gettext("Send %(call)s an APRS message"), { call: station.name }, true) })));
  }
  parts.push(el("p", { class: "lookups" }, ...lookups));
  if (station.weather) {
    const weather = el("dl", { class: "facts weather" });
    for (const [key, label, format] of WEATHER) {
      if (typeof station.weather[key] === "number") weather.append(...row(label, el("span", { text: format(station.weather[key]) })));
    }
    parts.push(el("h3", { text: gettext("Weather") }), weather);
  }
  if (station.raw.length) {
    parts.push(el("h3", { text: gettext("Last packets") }), rawList(station.raw));
  }
  if (close) parts.unshift(el("button", { type: "button", class: "close", "aria-label": gettext("Close"), text: "×", onclick: close }));
  container.replaceChildren(...parts);
}

export function rawList(raw) {
  return el("ol", { class: "packets raw" }, raw.map((packet) => el("li", { class: packet.error ? "unknown" : "" },
    el("time", { text: localTime(packet.received) }), " ",
    el("span", { class: "mono", text: packet.text }),
    packet.error ? el("span", { class: "reason", text: ` — ${notDecoded(packet.error)}` }) : null)));
}
