// Helpers every page shares: safe DOM building, units, times, Maidenhead.
// Untrusted text (callsigns, comments, chat) only ever goes in via textContent.

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

export function pageSettings() {
  return JSON.parse(document.getElementById("page-settings").textContent);
}

export function jsonData(id) {
  return JSON.parse(document.getElementById(id).textContent);
}

// --- language ------------------------------------------------------------
// The page's language (<html lang>, chosen by Django from the cookie or Accept-Language);
// words come from Django's JavaScript catalogue (/jsi18n/: gettext, ngettext, interpolate),
// numbers and dates from Intl in the same language (vi: 12,5 with a decimal comma).
export const language = document.documentElement.lang || "en";

const numberFormats = new Map();
export function number(value, digits = 0) {
  if (!numberFormats.has(digits)) {
    numberFormats.set(digits, new Intl.NumberFormat(language, { minimumFractionDigits: digits, maximumFractionDigits: digits }));
  }
  return numberFormats.get(digits).format(value);
}

// Why a line was not decoded: the decoder's own words (data, as sent), introduced in the page's language.
export function notDecoded(reason) {
  return interpolate(gettext("not decoded: %(reason)s"), { reason }, true);
}

// --- units ---------------------------------------------------------------
const UNITS_KEY = "aprs-gateway.units";

export function units() {
  const chosen = localStorage.getItem(UNITS_KEY);
  if (chosen === "metric" || chosen === "imperial") return chosen;
  return language === "en" && navigator.language === "en-US" ? "imperial" : "metric";
}

export function setUnits(value) {
  localStorage.setItem(UNITS_KEY, value);
  document.dispatchEvent(new CustomEvent("unitschange", { detail: value }));
}

export function speed(kmh) {
  return units() === "metric" ? `${number(kmh)} km/h` : `${number(kmh / 1.609344)} mph`;
}

export function altitude(metres) {
  return units() === "metric" ? `${number(metres)} m` : `${number(metres / 0.3048)} ft`;
}

export function temperature(celsius) {
  return units() === "metric" ? `${number(celsius, 1)} °C` : `${number(celsius * 9 / 5 + 32, 1)} °F`;
}

export function windSpeed(metresPerSecond) {
  return units() === "metric" ? `${number(metresPerSecond * 3.6)} km/h` : `${number(metresPerSecond * 2.236936)} mph`;
}

export function rain(mm) {
  return units() === "metric" ? `${number(mm, 1)} mm` : `${number(mm / 25.4, 2)} in`;
}

// --- times -----------------------------------------------------------------
// Times arrive as Unix seconds (the feed) or ISO 8601 (the API): shown compact
// (13:07:24, the date only when not today), 24-hour, in the browser's time zone
// or in UTC, as the user chose in the header (hams log in UTC).
const TIME_KEY = "aprs-gateway.time";

export function timeZone() {
  return localStorage.getItem(TIME_KEY) === "utc" ? "utc" : "local";
}

export function setTimeZone(value) {
  localStorage.setItem(TIME_KEY, value === "utc" ? "utc" : "local");
  document.dispatchEvent(new Event("timechange"));
}

export function toDate(value) {
  return typeof value === "number" ? new Date(value * 1000) : new Date(value);
}

function parts(date, utc) {
  const format = new Intl.DateTimeFormat("en-CA", {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
    hourCycle: "h23", ...(utc ? { timeZone: "UTC" } : {}),
  });
  return Object.fromEntries(format.formatToParts(date).map((part) => [part.type, part.value]));
}

export function localTime(value, now = new Date()) {
  const utc = timeZone() === "utc";
  const when = parts(toDate(value), utc);
  const today = parts(now, utc);
  const clock = `${when.hour}:${when.minute}:${when.second}`;
  const day = when.year === today.year && when.month === today.month && when.day === today.day
    ? "" : `${when.year}-${when.month}-${when.day} `;
  return `${day}${clock}${utc ? " UTC" : ""}`;
}

export function relativeTime(value, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - toDate(value).getTime()) / 1000));
  const ago = (text, values) => interpolate(text, values, true);
  if (seconds < 60) return ago(gettext("%(s)s s ago"), { s: seconds });
  if (seconds < 3600) return ago(gettext("%(min)s min ago"), { min: Math.floor(seconds / 60) });
  if (seconds < 86400) {
    return ago(gettext("%(h)s h %(min)s min ago"), { h: Math.floor(seconds / 3600), min: Math.floor(seconds % 3600 / 60) });
  }
  return ago(gettext("%(d)s d ago"), { d: Math.floor(seconds / 86400) });
}

// A <time> that keeps saying how long ago it was (see tickRelativeTimes).
export function timeAgo(value) {
  const date = toDate(value);
  return el("time", { class: "ago", datetime: date.toISOString(), title: localTime(value),
                      text: relativeTime(value) });
}

export function tickRelativeTimes() {
  for (const node of document.querySelectorAll("time.ago")) {
    node.textContent = relativeTime(node.getAttribute("datetime"));
  }
}

// --- places ----------------------------------------------------------------
// Where the user is (the browser's location, or a point they chose), remembered by the page.
const HOME_KEY = "aprs-gateway.home";

export function home() {
  try {
    const value = JSON.parse(localStorage.getItem(HOME_KEY));
    return typeof value?.lat === "number" && typeof value?.lon === "number" ? value : null;
  } catch {
    return null;
  }
}

export function setHome(lat, lon) {
  localStorage.setItem(HOME_KEY, JSON.stringify({ lat, lon }));
  document.dispatchEvent(new Event("homechange"));
}

const COMPASS = ["N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW"];

// Great-circle distance and initial bearing from ``from`` to (lat, lon), as text in the user's units.
export function distanceAndBearing(from, lat, lon) {
  const rad = Math.PI / 180;
  const [p1, p2, dl] = [from.lat * rad, lat * rad, (lon - from.lon) * rad];
  const a = Math.sin((p2 - p1) / 2) ** 2 + Math.cos(p1) * Math.cos(p2) * Math.sin(dl / 2) ** 2;
  const km = 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(a)));
  const y = Math.sin(dl) * Math.cos(p2);
  const x = Math.cos(p1) * Math.sin(p2) - Math.sin(p1) * Math.cos(p2) * Math.cos(dl);
  const bearing = (Math.atan2(y, x) / rad + 360) % 360;
  const distance = units() === "metric" ? `${number(km, 1)} km` : `${number(km / 1.609344, 1)} mi`;
  return `${distance}, ${Math.round(bearing)}° ${COMPASS[Math.round(bearing / 22.5) % 16]}`;
}

export function maidenhead(lat, lon) {
  let x = lon + 180;
  let y = lat + 90;
  const A = "A".charCodeAt(0);
  let locator = String.fromCharCode(A + Math.floor(x / 20), A + Math.floor(y / 10));
  x %= 20; y %= 10;
  locator += `${Math.floor(x / 2)}${Math.floor(y)}`;
  x %= 2; y %= 1;
  locator += String.fromCharCode(A + 32 + Math.floor(x * 12), A + 32 + Math.floor(y * 24));
  return locator;
}

export function latLon(lat, lon) {
  const ns = lat >= 0 ? "N" : "S";
  const ew = lon >= 0 ? "E" : "W";
  return `${number(Math.abs(lat), 4)}° ${ns} ${number(Math.abs(lon), 4)}° ${ew}`;
}

// Retry delays for a dropped websocket: 1, 2, 4 ... 30 s, with jitter so a
// restarted server is not hit by every browser at once.
export class Backoff {
  constructor(first = 1000, max = 30000) {
    this.first = first;
    this.max = max;
    this.reset();
  }
  reset() { this.delay = this.first; }
  next() {
    const delay = this.delay;
    this.delay = Math.min(this.max, this.delay * 2);
    return delay / 2 + Math.random() * delay / 2;
  }
}

export function socketUrl(path) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${path}`;
}
