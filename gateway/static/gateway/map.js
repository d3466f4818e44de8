// The live map: stations in the viewport, moving as packets arrive.
// Subscribes to the feed with an a/ (box) filter for what is in view, and
// again (debounced) after every pan or zoom; the selected station is added
// with b/ so its panel stays live when it leaves the view.
import { el, home, latLon, setHome, tickRelativeTimes, timeAgo } from "./common.js";
import { FeedSocket } from "./feedsocket.js";
import { createMap, declutterLabels, stationIcon, stationMarker, trackLine } from "./mapview.js";
import { renderStation } from "./panel.js";
import { StationStore } from "./stations.js";
import { symbolElement } from "./symbols.js";

const RESUBSCRIBE_AFTER = 400; // ms of stillness after a pan or zoom
const RECENT = 500; // held packets asked for with each subscription
const MAX_STATIONS = 3000;
const LIST_SIZE = 50;
const SINCE_KEY = "aprs-gateway.map-since";

const map = createMap("map", { worldCopyJump: true });
const cluster = L.markerClusterGroup({ maxClusterRadius: 40, disableClusteringAtZoom: 14 });
map.addLayer(cluster);
const trackLayer = L.layerGroup().addTo(map);

const store = new StationStore();
const markers = new Map(); // station name -> L.Marker
const tracks = new Map(); // station name -> L.Polyline
const panel = document.getElementById("panel");
let selected = null;
let listDirty = true;

function icon(station) {
  return stationIcon(station, station.speed > 0 ? station.course : undefined);
}

function place(station) {
  if (station.lat === undefined) return;
  let marker = markers.get(station.name);
  const look = `${station.symbolTable}${station.symbol}${station.course}`;
  if (!marker) {
    // The station list (and the search box) is the keyboard path: markers are no Tab stops.
    marker = stationMarker(station, icon(station), { keyboard: false, riseOnHover: true });
    marker.look = look;
    marker.on("click", () => select(station.name));
    markers.set(station.name, marker);
    cluster.addLayer(marker);
  } else {
    marker.setLatLng([station.lat, station.lon]);
    if (marker.look !== look) {
      marker.look = look;
      marker.setIcon(icon(station));
    }
  }
  if (station.track.length > 1) {
    const line = tracks.get(station.name);
    if (line) line.setLatLngs(station.track);
    else tracks.set(station.name, trackLine(station.track).addTo(trackLayer));
  }
}

function forget(name) {
  const marker = markers.get(name);
  if (marker) cluster.removeLayer(marker);
  tracks.get(name)?.remove();
  markers.delete(name);
  tracks.delete(name);
  store.stations.delete(name);
}

function prune() {
  if (store.stations.size <= MAX_STATIONS) return;
  const oldest = [...store.stations.values()].sort((a, b) => a.lastHeard - b.lastHeard);
  for (const station of oldest.slice(0, store.stations.size - MAX_STATIONS)) {
    if (station.name !== selected) forget(station.name);
  }
}

function select(name) {
  const changed = selected !== name;
  selected = name;
  showPanel();
  if (changed) subscribe();
}

// Selected from the list or the search: centred, out of its cluster, the panel in sight.
function goTo(name) {
  const marker = markers.get(name);
  const open = () => {
    select(name);
    if (window.matchMedia("(max-width: 48rem)").matches) panel.scrollIntoView({ block: "start" });
  };
  if (!marker) return open();
  cluster.zoomToShowLayer(marker, () => {
    map.panTo(marker.getLatLng());
    open();
  });
}

function closePanel() {
  selected = null;
  panel.hidden = true;
  subscribe();
}

function showPanel() {
  const station = selected && store.get(selected);
  panel.hidden = !station;
  if (station) renderStation(panel, station, { close: closePanel });
  declutter();  // the selected station's label is always shown
}

function received(items) {
  const changed = new Set();
  for (const item of items) {
    const station = store.add(item);
    if (station) changed.add(station);
  }
  for (const station of changed) place(station);
  if (selected && [...changed].some((station) => station.name === selected)) showPanel();
  prune();
  listDirty = true;
}

// The visible box, longitudes wrapped to -180..180 (west > east across the antimeridian),
// to four decimals: the same for the feed's filter and the archive's query.
function viewBox() {
  const bounds = map.getBounds();
  const wide = bounds.getEast() - bounds.getWest() >= 360;
  const wrap = (lon) => L.Util.wrapNum(lon, [-180, 180], true);
  const f = (value) => Number(value.toFixed(4));
  return {
    north: f(Math.min(90, bounds.getNorth())), south: f(Math.max(-90, bounds.getSouth())),
    west: f(wide ? -180 : wrap(bounds.getWest())), east: f(wide ? 180 : wrap(bounds.getEast())),
  };
}

// The visible box as an a/latN/lonW/latS/lonE filter (docs/feed.md).
function viewFilter() {
  const { north, west, south, east } = viewBox();
  let filter = `a/${north}/${west}/${south}/${east}`;
  const station = selected && store.get(selected);
  if (station?.from && /^[A-Z0-9-]{1,9}$/.test(station.from)) filter += ` b/${station.from}`;
  return filter;
}

function subscribe() {
  const filter = viewFilter();
  document.getElementById("map-filter").textContent = filter;
  feed.subscribe(filter, RECENT);
  loadArchived();
}

// Every station the archive knows in the view, heard within the chosen time: the feed's held
// packets only cover the last minutes. With the archive off the answer is empty: the feed is all.
const since = document.getElementById("since");
since.value = localStorage.getItem(SINCE_KEY) || since.value;
async function loadArchived() {
  const { north, west, south, east } = viewBox();
  try {
    const response = await fetch(`/api/stations/?bbox=${west},${south},${east},${north}&hours=${since.value}`);
    if (!response.ok) return;
    for (const row of (await response.json()).stations) {
      const station = store.fromArchive(row);
      if (station) place(station);
    }
    listDirty = true;
  } catch {
    // offline or the node is restarting: the live feed still fills the map
  }
}
since.addEventListener("change", () => {
  localStorage.setItem(SINCE_KEY, since.value);
  loadArchived();
});

function declutter() {
  declutterLabels(map.getContainer(), selected && markers.get(selected)?.getElement());
}

const list = document.getElementById("station-list");
const listOrder = document.getElementById("list-order");
const ORDER_KEY = "aprs-gateway.list-order";
const kilometres = (station) => {  // from home, for ordering only (equirectangular is plenty)
  const at = home();
  if (!at) return 0;
  const x = (station.lon - at.lon) * Math.cos(((station.lat + at.lat) / 2) * Math.PI / 180);
  return Math.hypot(x, station.lat - at.lat);
};
const ORDERS = {
  heard: (a, b) => b.lastHeard - a.lastHeard || a.name.localeCompare(b.name),
  call: (a, b) => a.name.localeCompare(b.name),
  distance: (a, b) => kilometres(a) - kilometres(b) || a.name.localeCompare(b.name),
};
listOrder.value = localStorage.getItem(ORDER_KEY) || "heard";
listOrder.addEventListener("change", () => {
  localStorage.setItem(ORDER_KEY, listOrder.value);
  listDirty = true;
  renderList();
});
let pointerOnList = false; // the list keeps its order while the pointer (or focus) is on it
list.addEventListener("pointerenter", () => { pointerOnList = true; });
list.addEventListener("pointerleave", () => { pointerOnList = false; });

function renderList() {
  if (!listDirty || pointerOnList || list.contains(document.activeElement)) return;
  listDirty = false;
  declutter();
  const bounds = map.getBounds();
  const visible = [...store.stations.values()]
    .filter((station) => station.lat !== undefined && bounds.contains([station.lat, station.lon]))
    .sort(ORDERS[listOrder.value] || ORDERS.heard);
  document.getElementById("station-count").textContent = `(${visible.length})`;
  document.getElementById("station-list").replaceChildren(...visible.slice(0, LIST_SIZE).map((station) =>
    el("li", {}, el("button", { type: "button", class: "station-button", onclick: () => { goTo(station.name); } },
      symbolElement(station.symbolTable, station.symbol),
      el("span", { class: "call", text: station.name }), " ", timeAgo(station.lastHeard)))));
}

// Search: a callsign (objects and items too) goes to the station, asking the archive when this
// page has not seen it; SP9* lists the matches this page knows.
const searchBox = document.getElementById("search");
const matches = document.getElementById("search-matches");
searchBox.addEventListener("input", () => {
  const prefix = searchBox.value.trim().toUpperCase().replace(/\*$/, "");
  const found = prefix ? [...store.stations.keys()].filter((name) => name.startsWith(prefix)).sort().slice(0, 20) : [];
  document.getElementById("search-names").replaceChildren(...found.map((name) => el("option", { value: name })));
});
document.getElementById("search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const wanted = searchBox.value.trim().toUpperCase();
  matches.replaceChildren();
  if (!wanted) return;
  if (wanted.endsWith("*")) {
    const found = [...store.stations.keys()].filter((name) => name.startsWith(wanted.slice(0, -1))).sort();
    matches.replaceChildren(...found.slice(0, LIST_SIZE).map((name) => el("li", {},
      el("button", { type: "button", class: "station-button", onclick: () => goTo(name), text: name }))));
    if (!found.length) matches.append(el("li", { class: "muted", text: interpolate(gettext("nothing heard matches %(pattern)s"), { pattern: wanted }, true) }));
    return;
  }
  if (!store.get(wanted)) {
    const response = await fetch(`/api/stations/${encodeURIComponent(wanted)}/`).catch(() => null);
    if (response?.ok) place(store.seed(await response.json()));
  }
  if (store.get(wanted)) goTo(wanted);
  else matches.append(el("li", { class: "muted", text: interpolate(gettext("%(call)s: not heard"), { call: wanted }, true) }));
});

const feed = new FeedSocket({
  onPackets: received,
  onState: (state) => { document.getElementById("socket-state").textContent = state; },
  onError: (reason) => { document.getElementById("socket-state").textContent = interpolate(gettext("error: %(reason)s"), { reason }, true); },
});

cluster.on("animationend", declutter);
let resubscribeTimer = null;
map.on("moveend", () => {
  listDirty = true;
  clearTimeout(resubscribeTimer);
  resubscribeTimer = setTimeout(subscribe, RESUBSCRIBE_AFTER);
});
document.addEventListener("unitschange", showPanel);
document.addEventListener("timechange", showPanel);
document.addEventListener("homechange", showPanel);
// Home: asked of the browser only on this button (a permission prompt), or the map's centre.
const homeState = document.getElementById("home-state");
const showHome = () => { const at = home(); homeState.textContent = at ? latLon(at.lat, at.lon) : gettext("not set"); };
document.addEventListener("homechange", showHome);
showHome();
document.getElementById("home-centre").addEventListener("click", () => {
  const centre = map.getCenter();
  setHome(centre.lat, L.Util.wrapNum(centre.lng, [-180, 180], true));
});
document.getElementById("home-here").addEventListener("click", () => {
  if (!navigator.geolocation) { homeState.textContent = gettext("this browser cannot tell its location"); return; }
  navigator.geolocation.getCurrentPosition(
    (position) => setHome(position.coords.latitude, position.coords.longitude),
    (error) => { homeState.textContent = interpolate(gettext("location unavailable: %(reason)s"), { reason: error.message }, true); },
  );
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && selected) closePanel();
});
subscribe();
setInterval(renderList, 1000);
setInterval(tickRelativeTimes, 5000);
