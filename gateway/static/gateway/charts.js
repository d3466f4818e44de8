// Weather and telemetry charts on a station's page, from the archive (docs/api.md: the weather
// and telemetry series), drawn with uPlot (pinned in package.json, served from here: no CDN,
// works offline).
import { el, timeZone, units } from "./common.js";

// [title, quantity, lines]: the archive's readings are °C, m/s, hPa, %, mm (docs/api.md).
const WEATHER = [
  [gettext("Temperature"), "temperature", [["temperature", gettext("temperature"), "#c62828"]]],
  [gettext("Wind"), "wind", [["wind_speed", gettext("wind"), "#1565c0"], ["wind_gust", gettext("gusts"), "#90caf9"]]],
  [gettext("Pressure"), "pressure", [["pressure", gettext("pressure"), "#6a1b9a"]]],
  [gettext("Humidity"), "humidity", [["humidity", gettext("humidity"), "#00838f"]]],
  [gettext("Rain"), "rain", [["rain_1h", gettext("last hour"), "#2e7d32"], ["rain_24h", gettext("24 h"), "#81c784"]]],
];
// quantity -> [unit, from the archive's unit], in the user's units, as the info panel shows them
const IN_UNITS = {
  metric: {
    temperature: ["°C", (c) => c], wind: ["km/h", (ms) => ms * 3.6], pressure: ["hPa", (p) => p],
    humidity: ["%", (h) => h], rain: ["mm", (mm) => mm],
  },
  imperial: {
    temperature: ["°F", (c) => c * 9 / 5 + 32], wind: ["mph", (ms) => ms * 2.236936], pressure: ["hPa", (p) => p],
    humidity: ["%", (h) => h], rain: ["in", (mm) => mm / 25.4],
  },
};
const CHANNEL_COLOURS = ["#c62828", "#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00"];

async function series(callsign, kind, hours) {
  const since = new Date(Date.now() - hours * 3600 * 1000).toISOString();
  const response = await fetch(`/api/stations/${encodeURIComponent(callsign)}/${kind}/?since=${since}`);
  return response.ok ? response.json() : null;
}

// One chart per entry of ``charts`` ([title, [[label, colour, values]...]]) that has a value,
// over ``times`` (Unix seconds); the container is hidden when none has.
function drawCharts(container, times, charts) {
  const area = container.querySelector(".charts");
  area.replaceChildren();
  const drawn = charts.filter(([, lines]) => lines.some(([, , values]) => values.some((value) => value !== null)));
  container.hidden = drawn.length === 0;
  const width = Math.max(280, Math.min(area.clientWidth || 600, 900));
  for (const [title, lines] of drawn) {
    const box = el("figure", { class: "chart" });
    area.append(box);
    // eslint-disable-next-line no-new
    new uPlot({
      title, width, height: 180, ...timeOptions(),
      series: [{ label: gettext("Time") }, ...lines.map(([label, stroke]) => ({ label, stroke, width: 2, spanGaps: true }))],
      axes: [{}, { size: 60 }],
    }, [times, ...lines.map(([, , values]) => values)], box);
  }
}

const timesOf = (rows) => rows.map((row) => Date.parse(row.t) / 1000);

// uPlot's axis labels in the page's own time format: a 24-hour clock, ISO dates, in the time
// zone the user chose (local or UTC), instead of its US defaults (3:30pm, 11/28/26).
const TEMPLATES = [
  [/\{h\}:\{mm\}:\{ss\}\{aa\}/g, "{HH}:{mm}:{ss}"], [/\{h\}:\{mm\}\{aa\}/g, "{HH}:{mm}"], [/\{h\}\{aa\}/g, "{HH}:00"],
  [/\{M\}\/\{D\}\/\{YY\}/g, "{YYYY}-{MM}-{DD}"], [/\{M\}\/\{D\}/g, "{MM}-{DD}"],
];
function timeOptions() {
  return {
    fmtDate: (template) => uPlot.fmtDate(TEMPLATES.reduce((text, [from, to]) => text.replace(from, to), template)),
    tzDate: (seconds) => (timeZone() === "utc" ? uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC") : new Date(seconds * 1000)),
  };
}

// ``callsign``'s weather readings over the last ``hours``.
export async function weatherCharts(container, callsign, hours) {
  const rows = (await series(callsign, "weather", hours))?.weather ?? [];
  drawCharts(container, timesOf(rows), WEATHER.map(([title, quantity, lines]) => {
    const [unit, convert] = IN_UNITS[units()][quantity];
    const value = (reading) => (typeof reading === "number" ? convert(reading) : null);
    return [`${title} (${unit})`, lines.map(([key, label, colour]) => [label, colour, rows.map((row) => value(row[key]))])];
  }));
}

// ``callsign``'s telemetry over the last ``hours``: each analog channel scaled by its equation
// (a·x² + b·x + c) under its name and unit, and the bits of the last report by their names.
export async function telemetryCharts(container, callsign, hours) {
  const answer = await series(callsign, "telemetry", hours);
  const rows = answer?.telemetry ?? [];
  if (!rows.length) {
    container.hidden = true;
    return;
  }
  const channels = [0, 1, 2, 3, 4].map((channel) => {
    const [a, b, c] = answer.equations[channel] ?? [0, 1, 0];
    const name = answer.names[channel] || interpolate(gettext("Channel %(n)s"), { n: channel + 1 }, true);
    const unit = answer.units[channel];
    const values = rows.map(({ analog }) => (typeof analog[channel] === "number" ? a * analog[channel] ** 2 + b * analog[channel] + c : null));
    return [unit ? `${name} (${unit})` : name, [[name, CHANNEL_COLOURS[channel], values]]];
  });
  drawCharts(container, timesOf(rows), channels);
  const bits = container.querySelector(".telemetry-bits");
  const last = rows.at(-1)?.bits;
  bits.hidden = !last;
  if (!last) return;
  bits.replaceChildren(`${answer.project || gettext("Bits")}: `, ...[...last].flatMap((bit, at) => {
    const on = bit === (answer.bits[at] ?? "1");
    const name = answer.names[5 + at] || `B${at + 1}`;
    const text = interpolate(on ? gettext("%(name)s on") : gettext("%(name)s off"), { name }, true);
    return [el("span", { class: on ? "bit-on" : "bit-off" }, text), " "];
  }));
}
