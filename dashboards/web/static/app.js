// Pitwall live timing page: the state is pushed by the server as
// server-sent events (/events): "state" (the tower, many times a second)
// and "map" (the circuit, when it changes). Nothing is polled.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

// What the page has seen, for tests and the benchmark: states received,
// and for each state how late it arrived after the server made it, and
// how old its newest sample was when drawn (both ms, wall clock).
// onRender are called after each render with the state drawn and
// whether tower rows were added, removed or moved (alarms.js).
const pitwall = (window.pitwall = { states: 0, maps: 0, lateMs: [], sampleAgeMs: [], frameMs: [], last: null, onRender: [] });

let map = null;      // the last Map
let proj = null;     // lon/lat or x/z → SVG coordinates
let received = 0;    // performance.now() when the last state came
let rows = [];

function fmtLap(ms) {
  if (!ms || ms <= 0) return "–";
  const m = Math.floor(ms / 60000), s = Math.floor(ms / 1000) % 60, f = ms % 1000;
  return `${m}:${String(s).padStart(2, "0")}.${String(f).padStart(3, "0")}`;
}
function fmtSec(ms) {
  if (!ms || ms <= 0) return "–";
  return (ms / 1000).toFixed(3);
}
function fmtClock(ms) {
  if (ms < 0) ms = 0;
  const m = Math.floor(ms / 60000), s = Math.floor(ms / 1000) % 60, t = Math.floor((ms % 1000) / 100);
  return `${m}:${String(s).padStart(2, "0")}.${t}`;
}

// ---- the timing tower, updated in place ----
//
// A row is built once per car and then only the cells whose text or
// colour changed are written, so an update costs the browser a small
// relayout and repaint instead of a new table (pitwall bench web --trace:
// rebuilding 20 rows 20 times a second kept the page's main thread a
// third busy with style, layout and paint). Rows are moved only when the
// order changes.

const towerRows = new Map(); // car → {tr, cells, ...} (rowView)
let rowsCreated = false;     // a row was added or removed since the last render

// set writes el's text and class only when they change; the class goes
// to el's cell when el is a value span (val).
function set(el, text, cls) {
  if (el._t !== text) { el.textContent = text; el._t = text; }
  const c = el.cell || el;
  if (cls !== undefined && c._c !== cls) { c.className = cls; c._c = cls; }
}

function td(tr, cls) {
  const el = document.createElement("td");
  el.className = cls;
  el._c = cls;
  tr.appendChild(el);
  return el;
}

// val is a cell whose value changes with every state (the live deltas;
// the lap clock and the pit timer are built the same way): the text goes
// in a span of fixed size with CSS containment (app.css, .v), so a new
// value lays out that span alone, not the table and the page.
// set(v.x, text, cls) writes the text to the span and the class (the
// colour) to the cell. The other cells change at a timing line (a few
// times a second over 20 cars) and keep their natural width: fixed boxes
// wide enough for any value made the tower too wide for its panel.
function val(tr, cls) {
  const cell = td(tr, cls);
  const v = span(cell, "v");
  v.cell = cell;
  return v;
}

function span(parent, cls) {
  const el = document.createElement("span");
  if (cls) el.className = cls;
  parent.appendChild(el);
  return el;
}

// rowView builds the cells of one car's row.
function rowView(car) {
  const tr = document.createElement("tr");
  tr.dataset.car = car;
  const v = { tr, pips: [] };
  v.pos = td(tr, "pos");
  v.badge = span(td(tr, "num"));
  v.driver = td(tr, "driver");
  v.name = span(v.driver, "name");
  v.team = span(v.driver, "team");
  v.laps = td(tr, "laps");
  v.interval = td(tr, "interval");
  v.gap = td(tr, "gap");
  v.last = td(tr, "last");
  v.best = td(tr, "best");
  v.sec = [1, 2, 3].map((i) => td(tr, "sec s" + i));
  const live = td(tr, "live");
  v.clock = span(live, "clock v");
  const pips = span(live, "pips");
  for (let i = 0; i < 3; i++) v.pips.push(span(pips, "pip"));
  v.dBest = val(tr, "delta best");
  v.dSession = val(tr, "delta session");
  const pit = td(tr, "pit");
  v.inpit = span(span(pit, "v pitv"), "");
  v.stops = span(pit, "stops");
  v.trap = td(tr, "trap");
  v.theo = td(tr, "theo");
  return v;
}

function fmtDelta(d) { return d == null ? "–" : (d > 0 ? "+" : "") + d.toFixed(2); }
function deltaClass(cls, d) { return `delta ${cls}` + (d == null ? "" : d < 0 ? " ahead" : " behind"); }

function updateRow(v, r) {
  const tr = v.tr;
  if (v.inPit !== r.in_pit) { tr.classList.toggle("inpit", r.in_pit); v.inPit = r.in_pit; }
  set(v.pos, String(r.pos));
  set(v.badge, r.number);
  if (v.colour !== r.colour) { v.badge.style.background = r.colour; v.colour = r.colour; }
  set(v.name, r.driver);
  set(v.team, r.team || "");
  set(v.laps, String(r.laps));
  set(v.interval, r.pos === 1 ? (r.laps ? "Leader" : "") : r.interval || "–");
  set(v.gap, r.pos === 1 ? "" : r.gap || "–");
  set(v.last, fmtLap(r.last_ms), "last" + (r.last_colour ? " " + r.last_colour : ""));
  set(v.best, fmtLap(r.best_ms), "best" + (r.best_colour ? " " + r.best_colour : ""));
  for (let i = 0; i < 3; i++) {
    const s = (r.sectors || [])[i];
    set(v.sec[i], s ? fmtSec(s.ms) : "–", `sec s${i + 1}` + (s && s.colour ? " " + s.colour : ""));
  }
  for (let i = 0; i < 3; i++) {
    const n = i + 1;
    const cls = "pip" + (r.live_lap && n < r.sector ? " done" : r.live_lap && n === r.sector ? " now" : "");
    if (v.pips[i]._c !== cls) { v.pips[i].className = cls; v.pips[i]._c = cls; }
  }
  set(v.dBest, fmtDelta(r.delta_best_s), deltaClass("best", r.delta_best_s));
  set(v.dSession, fmtDelta(r.delta_session_s), deltaClass("session", r.delta_session_s));
  set(v.inpit, r.in_pit ? "IN PIT " + fmtSec(r.pit_time_ms).replace(/\.\d+$/, "") + "s" : "", r.in_pit ? "inpit" : "");
  set(v.stops, r.pit_stops ? `${r.pit_stops} stop${r.pit_stops > 1 ? "s" : ""}` : "");
  set(v.trap, r.trap_kmh ? r.trap_kmh.toFixed(1) : "–");
  set(v.theo, fmtLap(r.theoretical_ms));
}

// renderTower brings the rows up to date with the newest state.
function renderTower() {
  const tbody = document.querySelector("#tower tbody");
  const seen = new Set();
  let i = 0, moved = false;
  for (const r of rows) {
    seen.add(r.car);
    let v = towerRows.get(r.car);
    if (!v) {
      v = rowView(r.car);
      towerRows.set(r.car, v);
      rowsCreated = true;
    }
    updateRow(v, r);
    // Keep the rows in the state's order: move a row only when it is
    // not where it belongs.
    if (tbody.children[i] !== v.tr) {
      tbody.insertBefore(v.tr, tbody.children[i] || null);
      moved = true;
    }
    i++;
  }
  for (const [car, v] of towerRows) {
    if (!seen.has(car)) { v.tr.remove(); towerRows.delete(car); rowsCreated = true; }
  }
  if (moved) rowsCreated = true;
  const empty = $("empty");
  if (empty._hidden !== rows.length > 0) { empty.classList.toggle("hidden", rows.length > 0); empty._hidden = rows.length > 0; }
  tickClocks();
}

// tickClocks runs every row's lap clock between two states, from the
// sensor time of the last one (at most 2 s on, so a feed that stopped
// does not run on for ever).
function tickClocks() {
  const since = Math.min(performance.now() - received, 2000);
  for (const r of rows) {
    const v = towerRows.get(r.car);
    if (v) set(v.clock, r.live_lap ? fmtClock((r.time_ns - r.lap_start_ns) / 1e6 + since) : "–");
  }
}

function setProjection() {
  const pts = [];
  if (map) {
    for (const p of map.outline) pts.push(p);
    for (const l of map.lines) pts.push(l.a, l.b);
  }
  for (const r of rows) if (r.has_pos) pts.push([r.x, r.y]);
  if (pts.length === 0) { proj = null; return; }
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  const k = map && map.planar ? 1 : Math.cos((pts[0][1] * Math.PI) / 180);
  for (const [x, y] of pts) {
    minX = Math.min(minX, x * k); maxX = Math.max(maxX, x * k);
    minY = Math.min(minY, y); maxY = Math.max(maxY, y);
  }
  const span = Math.max(maxX - minX, maxY - minY, 1e-9);
  const s = 900 / span, ox = 500 - ((minX + maxX) / 2) * s, oy = 500 + ((minY + maxY) / 2) * s;
  // North (or +z) is up: y grows downwards in SVG.
  proj = (x, y) => [ox + x * k * s, oy - y * s];
  proj.bounds = { minX, maxX, minY, maxY, k };
}

function outside(x, y) {
  const b = proj.bounds;
  return x * b.k < b.minX || x * b.k > b.maxX || y < b.minY || y > b.maxY;
}

function renderMap() {
  setProjection();
  if (!proj || !map) return;
  const d = map.outline.map(([x, y], i) => (i ? "L" : "M") + proj(x, y).map((v) => v.toFixed(1)).join(",")).join("");
  $("outline").setAttribute("d", map.complete && d ? d + "Z" : d);
  const g = $("lines");
  g.replaceChildren();
  for (const l of map.lines) {
    const [x1, y1] = proj(...l.a), [x2, y2] = proj(...l.b);
    const ln = document.createElementNS(SVG, "line");
    ln.setAttribute("x1", x1); ln.setAttribute("y1", y1); ln.setAttribute("x2", x2); ln.setAttribute("y2", y2);
    ln.setAttribute("class", l.name === "start_finish" ? "start_finish" : "sector");
    g.appendChild(ln);
    const t = document.createElementNS(SVG, "text");
    t.setAttribute("x", x2 + 8); t.setAttribute("y", y2);
    t.textContent = l.name === "start_finish" ? "S/F" : l.name.replace("sector", "S");
    g.appendChild(t);
  }
  renderCars();
  drawAnalysisMap();
}

// renderCars moves the cars on the map: one transform per car.
function renderCars() {
  if (!proj) return;
  const g = $("cars");
  const want = rows.filter((r) => r.has_pos);
  if (want.some((r) => outside(r.x, r.y)) && !(map && map.complete)) return renderMap();
  const gone = new Set(carDots.keys());
  for (const r of want) {
    let dot = carDots.get(r.car);
    if (!dot) {
      const el = document.createElementNS(SVG, "g");
      el.dataset.car = r.car;
      const c = document.createElementNS(SVG, "circle");
      c.setAttribute("r", 16);
      el.appendChild(c);
      el.appendChild(document.createElementNS(SVG, "text"));
      g.appendChild(el);
      dot = { el, circle: c, text: el.lastChild };
      carDots.set(r.car, dot);
    }
    gone.delete(r.car);
    const [x, y] = proj(r.x, r.y);
    const at = `translate(${x.toFixed(1)},${y.toFixed(1)})`;
    if (dot.at !== at) { dot.el.setAttribute("transform", at); dot.at = at; }
    if (dot.fill !== r.colour) { dot.circle.setAttribute("fill", r.colour); dot.fill = r.colour; }
    set(dot.text, r.number);
  }
  for (const car of gone) { carDots.get(car).el.remove(); carDots.delete(car); }
}
const carDots = new Map(); // car → its dot on the map

// ---- the stream: states are parsed as they come and drawn once per
// animation frame (the newest), so a burst of states costs one render ----

let pending = null; // the newest state not drawn yet
let latencyShown = 0; // Date.now() when the header's latency was written
let scheduled = false;

function schedule() {
  if (!scheduled) { scheduled = true; requestAnimationFrame(render); }
}

// render draws the newest state (if one came) and runs the lap clocks.
// It runs in an animation frame callback: what it writes is on screen in
// this frame.
function render() {
  scheduled = false;
  const st = pending;
  pending = null;
  if (!st) { tickClocks(); return; }
  const t0 = performance.now();
  rows = st.rows;
  set($("track"), st.track);
  set($("order"), st.order === "best" ? "order: best lap" : "order: race");
  renderTower();
  renderCars();
  refreshLaps();
  const now = Date.now();
  if (bench) benchApplied(rows, now, st.sent_ms);
  pitwall.last = st;
  for (const f of pitwall.onRender) f(st, rowsCreated);
  rowsCreated = false;
  pitwall.frameMs.push(performance.now() - t0);
  let newest = 0;
  for (const r of rows) newest = Math.max(newest, r.time_ns || 0);
  if (newest) pitwall.sampleAgeMs.push(now - newest / 1e6);
  for (const a of [pitwall.lateMs, pitwall.sampleAgeMs, pitwall.frameMs]) if (a.length > 5000) a.splice(0, a.length - 5000);
  // The header's latency once a second: a figure changing 40 times a
  // second can not be read anyway.
  if (now - latencyShown >= 1000) { set($("latency"), `update ${now - st.sent_ms} ms`); latencyShown = now; }
}

function connect() {
  const es = new EventSource("events");
  es.addEventListener("open", () => { $("status").textContent = "live"; $("status").className = "up"; });
  es.addEventListener("error", () => { $("status").textContent = "reconnecting…"; $("status").className = "down"; });
  es.addEventListener("map", (e) => {
    map = JSON.parse(e.data);
    pitwall.maps++;
    renderMap();
  });
  es.addEventListener("state", (e) => {
    const st = JSON.parse(e.data);
    received = performance.now();
    pitwall.states++;
    pitwall.lateMs.push(Date.now() - st.sent_ms);
    pending = st;
    schedule();
  });
}

// ---- lap analysis: two laps (any cars) by distance ----

const analysis = { laps: [], total: -1, a: null, b: null, la: null, lb: null, picked: false, lapsSeq: 0, compareSeq: 0, listedAt: -Infinity, later: 0, defaultBest: "" };

function lapKey(l) { return `${l.car}/${l.lap}`; }
function lapLabel(l) {
  return `#${l.number} ${l.car} L${l.lap} ${fmtLap(l.time_ms)}${l.pit ? " pit" : ""}${l.best ? " ★" : ""}`;
}

// refreshLaps fetches the lap list when the tower's lap count changed
// (pushed), so a new lap becomes selectable within LAPS_EVERY_MS: with a
// grid of cars a lap ends every few seconds, and rebuilding the lists
// (and the comparison) on each would cost frames on the live tower.
// Responses can arrive out of order; only the newest request's list is
// applied, so an older list never replaces a newer one.
const LAPS_EVERY_MS = 2000;
async function refreshLaps() {
  const total = rows.reduce((n, r) => n + r.laps, 0);
  if (total === analysis.total) return;
  const wait = analysis.listedAt + LAPS_EVERY_MS - performance.now();
  if (wait > 0) {
    if (!analysis.later) analysis.later = setTimeout(() => { analysis.later = 0; refreshLaps(); }, wait);
    return;
  }
  analysis.listedAt = performance.now();
  analysis.total = total;
  const seq = ++analysis.lapsSeq;
  const res = await fetch("api/laps");
  if (!res.ok || seq !== analysis.lapsSeq) return;
  const laps = (await res.json()).filter((l) => l.trace);
  if (seq !== analysis.lapsSeq) return;
  analysis.laps = laps;
  for (const id of ["lapA", "lapB"]) {
    const sel = $(id), keep = sel.value;
    sel.replaceChildren(...analysis.laps.map((l) => {
      const o = document.createElement("option");
      o.value = lapKey(l);
      o.textContent = lapLabel(l);
      return o;
    }));
    if (keep) sel.value = keep;
  }
  if (!analysis.picked && analysis.laps.length >= 2) {
    // Default: the session's best lap against the newest lap of another,
    // drawn again only when the session's best changes (not on every lap).
    const best = analysis.laps.find((l) => l.best) || analysis.laps[0];
    if (lapKey(best) !== analysis.defaultBest) {
      analysis.defaultBest = lapKey(best);
      const other = [...analysis.laps].reverse().find((l) => lapKey(l) !== lapKey(best));
      $("lapA").value = lapKey(best);
      $("lapB").value = lapKey(other);
      compare();
    }
  }
}

async function trace(key) {
  const [car, lap] = key.split("/");
  const res = await fetch(`api/lap?car=${encodeURIComponent(car)}&lap=${encodeURIComponent(lap)}`);
  return res.ok ? res.json() : null;
}

// timeAt interpolates a trace's elapsed time at distance d.
function timeAt(tr, d) {
  const D = tr.d;
  if (d < D[0] || d > D[D.length - 1]) return null;
  let lo = 0, hi = D.length - 1;
  while (hi - lo > 1) { const m = (lo + hi) >> 1; if (D[m] <= d) lo = m; else hi = m; }
  const f = D[hi] === D[lo] ? 0 : (d - D[lo]) / (D[hi] - D[lo]);
  return tr.t[lo] + f * (tr.t[hi] - tr.t[lo]);
}

// compare draws the two picked laps. The lap records (their timed lap
// times) are taken when the pick is made and only the newest compare
// draws, so a lap list or a compare still in flight cannot mix laps.
async function compare() {
  const ka = $("lapA").value, kb = $("lapB").value;
  if (!ka || !kb) return;
  const seq = ++analysis.compareSeq;
  const la = analysis.laps.find((l) => lapKey(l) === ka), lb = analysis.laps.find((l) => lapKey(l) === kb);
  const [a, b] = await Promise.all([trace(ka), trace(kb)]);
  if (!a || !b || seq !== analysis.compareSeq) return;
  analysis.a = a; analysis.b = b; analysis.la = la; analysis.lb = lb;
  for (const f of ["motec", "racechrono"]) {
    $("export-" + f).href = `api/export?car=${encodeURIComponent(a.car)}&lap=${a.lap}&format=${f}`;
  }
  drawCharts();
  drawAnalysisMap();
  // What was drawn, in one place: the labels of the two laps and the sum.
  pitwall.compared = { a: la && lapLabel(la), b: lb && lapLabel(lb), sum: $("analysis-sum").textContent };
  pitwall.analysis = (pitwall.analysis || 0) + 1;
}

function svgEl(name, attrs) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

// deltas is lap B's time minus lap A's at each of A's points.
function deltas(a, b) {
  return a.d.map((d, i) => { const tb = timeAt(b, d); return tb == null ? null : tb - a.t[i]; });
}

function drawCharts() {
  const { a, b } = analysis, g = $("charts");
  g.replaceChildren();
  const W = 1000, left = 70, right = 10, panelH = 120, gap = 12;
  const maxD = Math.max(a.d[a.d.length - 1], b.d[b.d.length - 1]);
  const x = (d) => left + ((W - left - right) * d) / maxD;
  const dl = deltas(a, b);
  const absMax = Math.max(0.05, ...dl.filter((v) => v != null).map(Math.abs));
  const panels = [
    { name: "Speed km/h", key: "speed", min: 0, max: Math.max(...a.speed, ...b.speed, 1) },
    { name: "Throttle %", key: "throttle", min: 0, max: 100 },
    { name: "Brake bar", key: "brake", min: 0, max: Math.max(...a.brake, ...b.brake, 1) },
    { name: "Gear", key: "gear", min: 0, max: Math.max(...a.gear, ...b.gear, 1) },
    { name: "Δ B−A s", key: "delta", min: -absMax, max: absMax },
  ];
  panels.forEach((p, i) => {
    const top = i * (panelH + gap), y = (v) => top + panelH - ((v - p.min) / (p.max - p.min || 1)) * panelH;
    g.appendChild(svgEl("line", { class: "axis", x1: left, x2: W - right, y1: top + panelH, y2: top + panelH }));
    const label = svgEl("text", { x: 4, y: top + 16 });
    label.textContent = p.name;
    g.appendChild(label);
    if (p.key === "delta") {
      g.appendChild(svgEl("line", { class: "axis", x1: left, x2: W - right, y1: y(0), y2: y(0) }));
      const pts = a.d.map((d, j) => (dl[j] == null ? null : `${x(d).toFixed(1)},${y(dl[j]).toFixed(1)}`)).filter(Boolean);
      g.appendChild(svgEl("polyline", { class: "delta", points: pts.join(" ") }));
      return;
    }
    for (const [tr, cls] of [[a, "a"], [b, "b"]]) {
      const pts = tr.d.map((d, j) => `${x(d).toFixed(1)},${y(tr[p.key][j]).toFixed(1)}`);
      g.appendChild(svgEl("polyline", { class: cls, points: pts.join(" ") }));
    }
  });
  const total = timeAt(b, a.d[a.d.length - 1]) - a.t[a.t.length - 1];
  const { la, lb } = analysis;
  const diff = la && lb ? (lb.time_ms - la.time_ms) / 1000 : total;
  $("analysis-sum").textContent = `B − A: ${diff >= 0 ? "+" : ""}${diff.toFixed(3)} s`;
}

// drawAnalysisMap paints lap A's line on the map by where B loses (red)
// or gains (green) time against it.
function drawAnalysisMap() {
  const g = $("analysis-map");
  g.replaceChildren();
  const { a, b } = analysis;
  if (!proj || !a || !b) return;
  const dl = deltas(a, b), w = 4; // the delta's change over ±w points: 10 Hz noise averages out
  for (let i = 1; i < a.d.length; i++) {
    const lo = Math.max(0, i - 1 - w), hi = Math.min(a.d.length - 1, i + w);
    if (dl[lo] == null || dl[hi] == null) continue;
    const slope = (dl[hi] - dl[lo]) / (hi - lo);
    if (Math.abs(slope) < 0.004) continue;
    const [x1, y1] = proj(a.x[i - 1], a.y[i - 1]), [x2, y2] = proj(a.x[i], a.y[i]);
    g.appendChild(svgEl("line", { class: slope > 0 ? "lose" : "gain", x1, y1, x2, y2 }));
  }
}

$("lapA").addEventListener("change", () => { analysis.picked = true; compare(); });
$("lapB").addEventListener("change", () => { analysis.picked = true; compare(); });

// ---- benchmark hook (?bench=1, pitwall bench web): off, it costs one
// test per state ----

// With ?bench=1 the page records, for every live record it applies (a
// row whose sensor time changed), the time from the sample's time to the
// animation frame that draws it (states are applied in a frame callback,
// so that frame shows them), and every animation frame's interval;
// pitwall bench web reads window.pitwall.bench.
const bench = new URLSearchParams(location.search).has("bench") ? { latMs: [], serverMs: [], keys: [], frameMs: [], seen: new Map() } : null;

// benchApplied also records each record's age when the server made the
// state (sent_ms), the pipeline's and the server's share, and its key
// (car@sample ms), which the benchmark matches with the record's arrival
// at a consumer of its own.
function benchApplied(rs, now, sentMs) {
  for (const r of rs) {
    if (!r.time_ns || bench.seen.get(r.car) === r.time_ns) continue;
    bench.seen.set(r.car, r.time_ns);
    bench.latMs.push(now - r.time_ns / 1e6);
    bench.serverMs.push(sentMs - r.time_ns / 1e6);
    bench.keys.push(`${r.car}@${Math.round(r.time_ns / 1e6)}`);
  }
  if (bench.latMs.length > 200000) { for (const a of [bench.latMs, bench.serverMs, bench.keys]) a.splice(0, 100000); }
}

function benchFrame(t) {
  if (bench.last !== undefined) bench.frameMs.push(t - bench.last);
  bench.last = t;
  requestAnimationFrame(benchFrame);
}

if (bench) {
  pitwall.bench = bench;
  requestAnimationFrame(benchFrame);
}

// The lap clocks run on between states, ten times a second.
setInterval(schedule, 100);
connect();
