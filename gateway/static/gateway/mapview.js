// The Leaflet pieces the live map and the station page share.
import { pageSettings } from "./common.js";
import { symbolElement } from "./symbols.js";

const MAX_ZOOM = 19;

const DETAILED_FROM_ZOOM = 4; // Natural Earth 1:50m from here, 1:110m below
const NAMES_BETWEEN = [3, 6]; // zooms at which country names are shown

// A map with the offline basemap and, above it, the configured tiles (none when MAP_TILE_URL
// is empty); ``options`` add to Leaflet's.
export function createMap(id, options = {}) {
  const settings = pageSettings();
  const map = L.map(id, { center: settings.center, zoom: settings.zoom, maxZoom: MAX_ZOOM, zoomControl: false, ...options });
  L.control.zoom({ zoomInTitle: gettext("Zoom in"), zoomOutTitle: gettext("Zoom out") }).addTo(map);
  addBasemap(map, settings.atlasUrl);
  if (settings.tileUrl) {
    L.tileLayer(settings.tileUrl, { attribution: settings.tileAttribution, maxZoom: MAX_ZOOM }).addTo(map);
  }
  return map;
}

// Land, coastlines, borders and country names from Natural Earth (the world-atlas package,
// served by this gateway): the map shows where things are with no tile server reachable,
// as on a club laptop offline. Tiles, when they load, cover it.
let atlas = null; // fetched once per page: [1:110m, 1:50m] TopoJSON
function loadAtlas(url) {
  atlas ??= Promise.all(["countries-110m", "countries-50m"].map(
    (name) => fetch(`${url}${name}.json`).then((response) => response.json())));
  return atlas;
}

// A ring that crosses 180° (Chukotka, Fiji) would be drawn across the whole world:
// its western longitudes are moved east of 180° instead.
function acrossTheAntimeridian(collection) {
  const mend = (ring) => {
    if (!ring.some(([lon]) => lon > 150) || !ring.some(([lon]) => lon < -150)) return ring;
    return ring.map(([lon, lat]) => [lon < 0 ? lon + 360 : lon, lat]);
  };
  for (const { geometry } of collection.features) {
    if (geometry?.type === "Polygon") geometry.coordinates = geometry.coordinates.map(mend);
    if (geometry?.type === "MultiPolygon") geometry.coordinates = geometry.coordinates.map((rings) => rings.map(mend));
  }
  return collection;
}

function addBasemap(map, url) {
  map.getContainer().classList.add("with-basemap");
  map.attributionControl?.addAttribution("Natural Earth");
  map.createPane("basemap").style.zIndex = 150; // under the tiles (200) and everything else
  map.createPane("basemap-names").style.zIndex = 250;
  map.getPane("basemap-names").style.pointerEvents = "none";
  loadAtlas(url).then(([coarse, detailed]) => {
    const land = (topology) => L.geoJSON(acrossTheAntimeridian(topojson.feature(topology, topology.objects.countries)), {
      pane: "basemap", className: "basemap-land", weight: 0.7, interactive: false,
    });
    const layers = { coarse: land(coarse), detailed: land(detailed) };
    const names = L.layerGroup(layers.coarse.getLayers().map((country) => L.marker(country.getBounds().getCenter(), {
      pane: "basemap-names", interactive: false, keyboard: false,
      icon: L.divIcon({ className: "basemap-name", html: "", iconSize: null }),
    }).on("add", (event) => { event.target.getElement().textContent = country.feature.properties.name; })));
    const show = () => {
      const zoom = map.getZoom();
      const [wanted, unwanted] = zoom >= DETAILED_FROM_ZOOM ? ["detailed", "coarse"] : ["coarse", "detailed"];
      layers[unwanted].remove();
      layers[wanted].addTo(map);
      if (zoom >= NAMES_BETWEEN[0] && zoom <= NAMES_BETWEEN[1]) names.addTo(map);
      else names.remove();
    };
    map.on("zoomend", show);
    show();
  }).catch(() => { map.getContainer().classList.add("basemap-missing"); });
}

// The station's symbol as a marker icon, its callsign beside it; ``course`` turns a vehicle to it.
export function stationIcon(station, course) {
  const html = document.createElement("div");
  html.append(symbolElement(station.symbolTable, station.symbol, course),
              Object.assign(document.createElement("span"), { className: "aprs-label", textContent: station.name }));
  return L.divIcon({ html, className: "aprs-marker", iconSize: [30, 30], iconAnchor: [15, 15] });
}

// Callsign labels that would overlap one drawn before them are hidden: ``first`` (the
// selected station's marker element) is drawn first, then the others as they come.
export function declutterLabels(container, first) {
  const drawn = [];
  const labels = [...container.querySelectorAll(".aprs-marker .aprs-label")];
  const wanted = first?.querySelector(".aprs-label");
  if (wanted) labels.unshift(labels.splice(labels.indexOf(wanted), 1)[0]);
  for (const label of labels) {
    label.classList.remove("aprs-label-hidden");
    const box = label.getBoundingClientRect();
    const overlaps = drawn.some((other) => box.left < other.right && box.right > other.left
                                          && box.top < other.bottom && box.bottom > other.top);
    if (overlaps && label !== wanted) label.classList.add("aprs-label-hidden");
    else drawn.push(box);
  }
}

export function stationMarker(station, icon, options = {}) {
  return L.marker([station.lat, station.lon], { icon, title: station.name, alt: station.name, ...options });
}

export function trackLine(points) {
  return L.polyline(points, { className: "track", weight: 2 });
}
