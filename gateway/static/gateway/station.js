// A station's own page: the archive's record when there is one, then live
// packets from the feed (the node's held packets first).
import { jsonData, tickRelativeTimes } from "./common.js";
import { FeedSocket } from "./feedsocket.js";
import { telemetryCharts, weatherCharts } from "./charts.js";
import { createMap, stationIcon, stationMarker, trackLine } from "./mapview.js";
import { renderStation, rawList } from "./panel.js";
import { StationStore } from "./stations.js";

const callsign = jsonData("station-callsign");
const store = new StationStore();
const panel = document.getElementById("panel");
const history = document.getElementById("history");
const HISTORY_KEPT = 200; // rows: the page can stay open for days
const charts = document.getElementById("weather-charts");
const telemetry = document.getElementById("telemetry-charts");
const chartHours = document.getElementById("chart-hours");
const map = createMap("map", { zoom: 11 });
let marker = null;
let track = null;
let centred = false;

function draw() {
  const station = store.get(callsign);
  if (!station) return;
  renderStation(panel, station, { heading: "h1", link: false });
  if (station.lat === undefined || station.lat === null) return;
  const icon = stationIcon(station, station.course);
  if (marker) marker.setLatLng([station.lat, station.lon]).setIcon(icon);
  else marker = stationMarker(station, icon).addTo(map);
  if (station.track.length > 1) {
    if (track) track.setLatLngs(station.track);
    else track = trackLine(station.track).addTo(map);
  }
  if (!centred) {  // the whole track in view, or the station
    if (station.track.length > 1) map.fitBounds(L.latLngBounds(station.track), { maxZoom: 14, padding: [20, 20] });
    else map.setView([station.lat, station.lon], 12);
    centred = true;
  }
}

async function fromArchive() {
  const response = await fetch(`/api/stations/${encodeURIComponent(callsign)}/`);
  if (!response.ok) return false; // 404: the archive has not seen it (or is off)
  const live = store.get(callsign);
  if (!live) store.seed(await response.json());
  const packets = await fetch(`/api/packets/?callsign=${encodeURIComponent(callsign)}&limit=50`);
  if (packets.ok) {
    const page = await packets.json();
    history.replaceChildren(...rawList(page.packets.map((p) => ({ received: p.received, text: p.text, error: p.error })))
      .children);
    document.getElementById("history-source").textContent = gettext("(from the archive)");
  }
  draw();
  drawCharts();
  return true;
}
// The range chosen applies to the track as well as to the charts.
function drawCharts() {
  weatherCharts(charts, callsign, Number(chartHours.value));
  telemetryCharts(telemetry, callsign, Number(chartHours.value));
}
document.addEventListener("unitschange", drawCharts);
chartHours.addEventListener("change", async () => {
  drawCharts();
  const since = new Date(Date.now() - Number(chartHours.value) * 3600 * 1000).toISOString();
  const response = await fetch(`/api/stations/${encodeURIComponent(callsign)}/?since=${since}`);
  const station = store.get(callsign);
  if (!response.ok || !station) return;
  station.track = (await response.json()).track.map((point) => [point.lat, point.lon]);
  if (track) track.setLatLngs(station.track);
  else if (station.track.length > 1) track = trackLine(station.track).addTo(map);
  if (station.track.length > 1) map.fitBounds(L.latLngBounds(station.track), { maxZoom: 14, padding: [20, 20] });
});

function received(items) {
  let mine = false;
  for (const item of items) {
    if (store.add(item)?.name === callsign) mine = true;
    history.prepend(...rawList([{ received: item.received, text: item.text, error: item.packet?.error }]).children);
  }
  while (history.children.length > HISTORY_KEPT) history.lastChild.remove();
  if (mine) draw();
}

fromArchive().then((archived) => {
  if (!archived) document.getElementById("history-source").textContent = gettext("(what this gateway holds in memory; the archive has none)");
});
const feed = new FeedSocket({ onPackets: received });
feed.subscribe(`b/${callsign} o/${callsign}`, 200);
setInterval(tickRelativeTimes, 5000);
