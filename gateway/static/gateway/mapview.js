// The Leaflet pieces the live map and the station page share.
import { pageSettings } from "./common.js";
import { symbolElement } from "./symbols.js";

const MAX_ZOOM = 19;

// A map with the configured tiles (none when MAP_TILE_URL is empty); ``options`` add to Leaflet's.
export function createMap(id, options = {}) {
  const settings = pageSettings();
  const map = L.map(id, { center: settings.center, zoom: settings.zoom, maxZoom: MAX_ZOOM, ...options });
  if (settings.tileUrl) {
    L.tileLayer(settings.tileUrl, { attribution: settings.tileAttribution, maxZoom: MAX_ZOOM }).addTo(map);
  }
  return map;
}

// The station's symbol as a marker icon; ``course`` draws a heading tick.
export function stationIcon(station, course) {
  return L.divIcon({ html: symbolElement(station.symbolTable, station.symbol, course),
                     className: "aprs-marker", iconSize: [32, 32], iconAnchor: [16, 16] });
}

export function stationMarker(station, icon, options = {}) {
  return L.marker([station.lat, station.lon], { icon, title: station.name, alt: station.name, ...options });
}

export function trackLine(points) {
  return L.polyline(points, { className: "track", weight: 2 });
}
