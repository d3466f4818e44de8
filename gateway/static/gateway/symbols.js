// APRS symbols drawn by us (no sprite sheets): each symbol code falls in a
// class with its own shape and colour, and carries a short glyph, so a car,
// a house, a digipeater or a weather station is told apart at a glance.
// Alternate-table symbols with an overlay character show that character.

const SVG = "http://www.w3.org/2000/svg";

// class: [shape, colour]
const CLASSES = {
  vehicle: ["rounded", "#1f6feb"],
  fixed: ["house", "#2da44e"],
  relay: ["diamond", "#8250df"],
  weather: ["circle", "#0a9396"],
  air: ["triangle", "#d97706"],
  water: ["circle", "#0969da"],
  person: ["circle", "#bf3989"],
  emergency: ["octagon", "#cf222e"],
  radio: ["square", "#57606a"],
  other: ["circle", "#6e7781"],
};

// Primary table (/): code -> [class, glyph]
const PRIMARY = {
  ">": ["vehicle", "Car"], "<": ["vehicle", "Mc"], "=": ["vehicle", "Tr"], "U": ["vehicle", "Bus"],
  "j": ["vehicle", "4x4"], "k": ["vehicle", "Trk"], "u": ["vehicle", "Trk"], "v": ["vehicle", "Van"],
  "R": ["vehicle", "RV"], "b": ["vehicle", "Bk"], "p": ["vehicle", "Rvr"], "!": ["emergency", "Pol"],
  "a": ["emergency", "Amb"], "f": ["emergency", "Fire"], "o": ["emergency", "EOC"], "+": ["emergency", "RC"],
  "-": ["fixed", "QTH"], "y": ["fixed", "Yagi"], ";": ["fixed", "Camp"], "h": ["fixed", "Hosp"],
  "K": ["fixed", "Sch"], "r": ["radio", "Rpt"], "#": ["relay", "Digi"], "&": ["relay", "GW"],
  "I": ["relay", "IP"], "n": ["relay", "Node"], "_": ["weather", "WX"], "W": ["weather", "NWS"],
  "^": ["air", "Air"], "'": ["air", "Pln"], "X": ["air", "Heli"], "O": ["air", "Bln"], "g": ["air", "Gld"],
  "s": ["water", "Boat"], "Y": ["water", "Yht"], "C": ["water", "Cnoe"], "[": ["person", "Hkr"],
  "e": ["person", "Hrs"], "$": ["radio", "Tel"], "l": ["radio", "PC"], "/": ["other", "•"],
};

// Alternate table (\ or an overlay character): code -> [class, glyph]
const ALTERNATE = {
  "#": ["relay", "Digi"], "&": ["relay", "GW"], "_": ["weather", "WX"], "-": ["fixed", "QTH"],
  ">": ["vehicle", "Car"], "k": ["vehicle", "Trk"], "u": ["vehicle", "Trk"], "v": ["vehicle", "Van"],
  "^": ["air", "Air"], "s": ["water", "Ship"], "a": ["emergency", "ARRL"], "!": ["emergency", "!"],
  "'": ["emergency", "Crsh"], "n": ["emergency", "Tri"], "r": ["radio", "Rst"], "m": ["radio", "Mic"],
};

export function symbolClass(table, code) {
  const known = (table === "/" ? PRIMARY : ALTERNATE)[code];
  const [klass, glyph] = known || ["other", code || "?"];
  const overlay = table && table !== "/" && table !== "\\" ? table : "";
  return { klass, glyph: overlay || glyph, overlay };
}

const SHAPES = {
  circle: () => shape("circle", { cx: 16, cy: 16, r: 13 }),
  rounded: () => shape("rect", { x: 3, y: 6, width: 26, height: 20, rx: 6 }),
  square: () => shape("rect", { x: 4, y: 4, width: 24, height: 24, rx: 2 }),
  diamond: () => shape("polygon", { points: "16,2 30,16 16,30 2,16" }),
  triangle: () => shape("polygon", { points: "16,2 30,29 2,29" }),
  house: () => shape("polygon", { points: "16,2 30,14 27,14 27,30 5,30 5,14 2,14" }),
  octagon: () => shape("polygon", { points: "10,2 22,2 30,10 30,22 22,30 10,30 2,22 2,10" }),
};

function shape(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}

// An SVG element for a symbol; `course` (degrees) adds a heading tick.
export function symbolElement(table, code, course) {
  const { klass, glyph } = symbolClass(table, code);
  const [shapeName, colour] = CLASSES[klass];
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 32 32");
  svg.setAttribute("width", "32");
  svg.setAttribute("height", "32");
  svg.setAttribute("class", `aprs-symbol aprs-${klass}`);
  svg.setAttribute("aria-hidden", "true");
  const body = SHAPES[shapeName]();
  body.setAttribute("fill", colour);
  body.setAttribute("stroke", "#fff");
  body.setAttribute("stroke-width", "2");
  svg.append(body);
  if (typeof course === "number" && course > 0) {
    const tick = shape("line", { x1: 16, y1: 16, x2: 16, y2: 0, stroke: "#111", "stroke-width": 3,
                                 transform: `rotate(${course % 360} 16 16)` });
    svg.prepend(tick);
  }
  const label = shape("text", { x: 16, y: 20.5, "text-anchor": "middle", fill: "#fff",
                                "font-size": glyph.length > 3 ? 8 : glyph.length > 2 ? 9 : 11,
                                "font-weight": "700", "font-family": "system-ui, sans-serif" });
  label.textContent = glyph;
  svg.append(label);
  return svg;
}
