// Weather charts on a station's page, from the archive (docs/api.md: the weather series),
// drawn with uPlot (pinned in package.json, served from here: no CDN, works offline).
import { el } from "./common.js";

const CHARTS = [
  ["Temperature", "°C", [["temperature", "temperature", "#c62828"]]],
  ["Wind", "m/s", [["wind_speed", "wind", "#1565c0"], ["wind_gust", "gusts", "#90caf9"]]],
  ["Pressure", "hPa", [["pressure", "pressure", "#6a1b9a"]]],
  ["Humidity", "%", [["humidity", "humidity", "#00838f"]]],
  ["Rain", "mm", [["rain_1h", "last hour", "#2e7d32"], ["rain_24h", "24 h", "#81c784"]]],
];

// Draw the charts of ``callsign``'s readings over the last ``hours`` into ``container``
// (hidden when the archive has none).
export async function weatherCharts(container, callsign, hours) {
  const since = new Date(Date.now() - hours * 3600 * 1000).toISOString();
  const response = await fetch(`/api/stations/${encodeURIComponent(callsign)}/weather/?since=${since}`);
  const rows = response.ok ? (await response.json()).weather : [];
  const area = container.querySelector(".charts");
  area.replaceChildren();
  container.hidden = rows.length === 0;
  if (!rows.length) return;
  const times = rows.map((row) => Date.parse(row.t) / 1000);
  const width = Math.max(280, Math.min(area.clientWidth || 600, 900));
  for (const [title, unit, lines] of CHARTS) {
    const values = lines.map(([key]) => rows.map((row) => (typeof row[key] === "number" ? row[key] : null)));
    if (!values.some((series) => series.some((value) => value !== null))) continue;
    const box = el("figure", { class: "chart" });
    area.append(box);
    // eslint-disable-next-line no-new
    new uPlot({
      title: `${title} (${unit})`, width, height: 180,
      series: [{}, ...lines.map(([, label, stroke]) => ({ label, stroke, width: 2, spanGaps: true }))],
      axes: [{}, { size: 60 }],
    }, [times, ...values], box);
  }
}
