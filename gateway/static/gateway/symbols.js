// The standard APRS symbols, from Xastir's symbol set (symbols/symbols.dat, GPL-2.0-or-later:
// see symbols/README.md): a 20×20 drawing for every symbol of the primary (/) and alternate (\)
// tables and for the overlay characters. Each look (symbol, overlay, heading) is drawn once
// into an image that every marker showing it shares.

const SIZE = 20;
const SCALE = 2; // drawn at twice the size, so it stays sharp on high-density screens

// Xastir's palette: read_symbol_from_file() in its src/draw_symbols.c. "." is transparent.
const PALETTE = {
  q: "#000000", m: "#ffffff", c: "#cccccc", j: "#ee0000", h: "#00bfff", l: "#0000cd", k: "#00cd00",
  g: "#00008b", "#": "#ffff00", p: "#454545", i: "#006400", n: "#878787", a: "#cd6500", o: "#5a5a5a",
  f: "#cd3333", b: "#a020f0", e: "#ff4040", d: "#cd0000", r: "#32cd32",
};

const UNKNOWN = ["/", "/"]; // the red dot, for a symbol no table has

// table -> code -> { rows: 20 strings, facesLeft }
const drawings = { "/": {}, "\\": {}, "#": {} };
const images = new Map(); // look -> data URL

function parse(text) {
  const lines = text.split("\n");
  let table = null;
  for (let at = 0; at < lines.length; at += 1) {
    const line = lines[at];
    if (line.startsWith("TABLE ")) table = drawings[line[6]] ?? null;
    else if (line.startsWith("APRS ") && table) {
      table[line[5]] = { rows: lines.slice(at + 1, at + 1 + SIZE), facesLeft: line[19] === "l" };
      at += SIZE;
    }
  }
}

export const symbolsReady = fetch(new URL("symbols/symbols.dat", import.meta.url))
  .then((response) => (response.ok ? response.text() : Promise.reject(new Error(response.statusText))))
  .then(parse);

// Xastir turns a symbol drawn facing left to one of four headings (symbol_orient()): up within
// 30° of north, right up to 150°, down up to 210°, left otherwise.
function heading(course) {
  if (!(course > 0)) return "left";
  if (course < 30 || course > 330) return "up";
  if (course < 150) return "right";
  if (course < 210) return "down";
  return "left";
}

// Where pixel (x, y) of a left-facing drawing is read from, turned to ``to`` (insert_symbol()).
const TURN = {
  left: (x, y) => [x, y],
  right: (x, y) => [SIZE - 1 - x, y],
  up: (x, y) => [y, SIZE - 1 - x],
  down: (x, y) => [SIZE - 1 - y, SIZE - 1 - x],
};

function paint(context, drawing, turn) {
  for (let y = 0; y < SIZE; y += 1) {
    for (let x = 0; x < SIZE; x += 1) {
      const [column, row] = turn(x, y);
      const colour = PALETTE[drawing.rows[row]?.[column]];
      if (!colour) continue;
      context.fillStyle = colour;
      context.fillRect(x * SCALE, y * SCALE, SCALE, SCALE);
    }
  }
}

// The drawing for a station's symbol: ``table`` is "/", "\" or an overlay character (which
// stands for the alternate table with that character drawn over it).
function imageOf(table, code, course) {
  const overlay = table && table !== "/" && table !== "\\" ? table : "";
  const base = drawings[overlay ? "\\" : table]?.[code] ?? drawings[UNKNOWN[0]][UNKNOWN[1]];
  const turned = base?.facesLeft ? heading(course) : "left";
  const look = `${overlay ? "\\" : table}${code}${overlay}${turned}`;
  if (!images.has(look)) {
    const canvas = Object.assign(document.createElement("canvas"), { width: SIZE * SCALE, height: SIZE * SCALE });
    const context = canvas.getContext("2d");
    if (base) paint(context, base, TURN[turned]);
    if (overlay && drawings["#"][overlay]) paint(context, drawings["#"][overlay], TURN.left);
    images.set(look, canvas.toDataURL());
  }
  return images.get(look);
}

// An image of the symbol, filled in as soon as the symbol set has loaded; ``course``
// (degrees) turns vehicles to their heading.
export function symbolElement(table, code, course) {
  const image = Object.assign(document.createElement("img"), { className: "aprs-symbol", alt: "" });
  image.setAttribute("aria-hidden", "true");
  image.dataset.symbol = `${table ?? ""}${code ?? ""}`;
  symbolsReady.then(() => { image.src = imageOf(table, code, course); }, () => image.classList.add("aprs-symbol-missing"));
  return image;
}
