// What the page knows about each station, folded from the packets it sees.
// Objects and items are stations of their own, named by their name.

const TRACK_POINTS = 100;
const RAW_KEPT = 10;

export function stationName(packet) {
  const name = packet.object_name ?? packet.item_name;
  return (typeof name === "string" && name.trim()) || packet.from || null;
}

export class StationStore {
  constructor() {
    this.stations = new Map();
  }

  get(name) {
    return this.stations.get(name);
  }

  // Fold one feed item ({received, text, packet}) in; the station it changed, or null.
  add(item) {
    const packet = item.packet || {};
    const name = stationName(packet);
    if (!name) return null;
    let station = this.stations.get(name);
    if (!station) {
      station = { name, from: packet.from, track: [], raw: [], lastHeard: item.received };
      this.stations.set(name, station);
    }
    station.lastHeard = Math.max(station.lastHeard, item.received);
    // A packet seen again (the held ones come back with each new subscription) is listed once.
    if (station.raw.some((known) => known.received === item.received && known.text === item.text)) return station;
    station.raw.unshift({ received: item.received, text: item.text, format: packet.format, error: packet.error });
    station.raw.length = Math.min(station.raw.length, RAW_KEPT);
    station.path = packet.path;
    if (typeof packet.latitude === "number" && typeof packet.longitude === "number") {
      const moved = station.lat !== packet.latitude || station.lon !== packet.longitude;
      Object.assign(station, {
        lat: packet.latitude, lon: packet.longitude, positionAt: item.received,
        symbolTable: packet.symbol_table, symbol: packet.symbol,
        course: packet.course, speed: packet.speed, altitude: packet.altitude,
      });
      if (moved) {
        station.track.push([packet.latitude, packet.longitude]);
        if (station.track.length > TRACK_POINTS) station.track.shift();
      }
    }
    if (packet.comment) station.comment = packet.comment;
    if (packet.status) station.status = packet.status;
    if (packet.device) station.device = packet.device;
    if (packet.weather && typeof packet.weather === "object") {
      station.weather = packet.weather;
      station.weatherAt = item.received;
    }
    return station;
  }

  // A station the archive knows (docs/api.md: STATION) and this page does not yet; null if it does.
  fromArchive(row) {
    if (this.stations.has(row.callsign) || typeof row.latitude !== "number") return null;
    const station = { ...archived(row), track: [[row.latitude, row.longitude]] };
    this.stations.set(station.name, station);
    return station;
  }

  // Seed a station from the archive API (docs/api.md: station and track).
  seed(data) {
    const station = { ...archived(data.station), track: data.track.map((point) => [point.lat, point.lon]) };
    this.stations.set(station.name, station);
    return station;
  }
}

// The page's form of an archived station (docs/api.md: STATION), its track aside.
function archived(row) {
  return {
    name: row.callsign, from: row.callsign, raw: [], lat: row.latitude ?? undefined, lon: row.longitude ?? undefined,
    positionAt: row.position_at, lastHeard: Date.parse(row.last_heard) / 1000,
    symbolTable: row.symbol?.[0], symbol: row.symbol?.[1], course: row.course ?? undefined,
    speed: row.speed ?? undefined, altitude: row.altitude ?? undefined, comment: row.comment, status: row.status,
    path: row.path ? row.path.split(",") : [], device: row.device || undefined, weather: row.weather ?? undefined,
    weatherAt: row.weather_at,
  };
}
