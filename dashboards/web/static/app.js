// Pitwall live timing page: the state is pushed by the server as
// server-sent events (/events): "state" (the tower, many times a second)
// and "map" (the circuit, when it changes). Nothing is polled.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

// What the page has seen, for tests and the benchmark: states received,
// and for each state how late it arrived after the server made it, and
// how old its newest sample was when drawn (both ms, wall clock).
const pitwall = (window.pitwall = { states: 0, maps: 0, lateMs: [], sampleAgeMs: [], frameMs: [], last: null });

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

function cell(tr, cls, text, colour) {
  const td = document.createElement("td");
  td.className = cls + (colour ? " " + colour : "");
  td.textContent = text;
  tr.appendChild(td);
  return td;
}

// renderTower rebuilds the rows: at most 20 times a second, 20 rows.
function renderTower() {
  const tbody = document.querySelector("#tower tbody");
  const frag = document.createDocumentFragment();
  for (const r of rows) {
    const tr = document.createElement("tr");
    tr.dataset.car = r.car;
    if (r.in_pit) tr.classList.add("inpit");
    cell(tr, "pos", String(r.pos));
    const num = cell(tr, "num", "");
    const badge = document.createElement("span");
    badge.textContent = r.number;
    badge.style.background = r.colour;
    num.appendChild(badge);
    const drv = cell(tr, "driver", r.driver);
    if (r.team) {
      const t = document.createElement("span");
      t.className = "team";
      t.textContent = r.team;
      drv.appendChild(t);
    }
    cell(tr, "laps", String(r.laps));
    cell(tr, "interval", r.pos === 1 ? (r.laps ? "Leader" : "") : r.interval || "–");
    cell(tr, "gap", r.pos === 1 ? "" : r.gap || "–");
    cell(tr, "last", fmtLap(r.last_ms), r.last_colour);
    cell(tr, "best", fmtLap(r.best_ms), r.best_colour);
    for (let i = 0; i < 3; i++) {
      const s = (r.sectors || [])[i];
      cell(tr, "sec s" + (i + 1), s ? fmtSec(s.ms) : "–", s ? s.colour : "");
    }
    const live = cell(tr, "live", "");
    const clock = document.createElement("span");
    clock.className = "clock";
    live.appendChild(clock);
    const pips = document.createElement("span");
    pips.className = "pips";
    for (let i = 1; i <= 3; i++) {
      const p = document.createElement("span");
      p.className = "pip" + (r.live_lap && i < r.sector ? " done" : r.live_lap && i === r.sector ? " now" : "");
      pips.appendChild(p);
    }
    live.appendChild(pips);
    for (const [d, cls] of [[r.delta_best_s, "best"], [r.delta_session_s, "session"]]) {
      cell(tr, `delta ${cls}` + (d == null ? "" : d < 0 ? " ahead" : " behind"), d == null ? "–" : (d > 0 ? "+" : "") + d.toFixed(2));
    }
    const pit = cell(tr, "pit", "");
    if (r.in_pit) {
      const b = document.createElement("span");
      b.className = "inpit";
      b.textContent = "IN PIT " + fmtSec(r.pit_time_ms).replace(/\.\d+$/, "") + "s";
      pit.appendChild(b);
    }
    const stops = document.createElement("span");
    stops.className = "stops";
    stops.textContent = r.pit_stops ? `${r.pit_stops} stop${r.pit_stops > 1 ? "s" : ""}` : "";
    pit.appendChild(stops);
    cell(tr, "trap", r.trap_kmh ? r.trap_kmh.toFixed(1) : "–");
    cell(tr, "theo", fmtLap(r.theoretical_ms));
    frag.appendChild(tr);
  }
  tbody.replaceChildren(frag);
  $("empty").classList.toggle("hidden", rows.length > 0);
  tickClocks();
}

// tickClocks runs every row's lap clock between two states, from the
// sensor time of the last one (at most 2 s on, so a feed that stopped
// does not run on for ever).
function tickClocks() {
  const since = Math.min(performance.now() - received, 2000);
  const trs = document.querySelectorAll("#tower tbody tr");
  rows.forEach((r, i) => {
    const el = trs[i] && trs[i].querySelector(".clock");
    if (!el) return;
    el.textContent = r.live_lap ? fmtClock((r.time_ns - r.lap_start_ns) / 1e6 + since) : "–";
  });
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

function renderCars() {
  if (!proj) return;
  const g = $("cars");
  const want = rows.filter((r) => r.has_pos);
  if (want.some((r) => outside(r.x, r.y)) && !(map && map.complete)) return renderMap();
  const byCar = new Map([...g.children].map((el) => [el.dataset.car, el]));
  for (const r of want) {
    let el = byCar.get(r.car);
    if (!el) {
      el = document.createElementNS(SVG, "g");
      el.dataset.car = r.car;
      el.appendChild(document.createElementNS(SVG, "circle"));
      el.appendChild(document.createElementNS(SVG, "text"));
      g.appendChild(el);
    }
    byCar.delete(r.car);
    const [x, y] = proj(r.x, r.y);
    const c = el.firstChild;
    c.setAttribute("cx", x.toFixed(1)); c.setAttribute("cy", y.toFixed(1)); c.setAttribute("r", 16);
    c.setAttribute("fill", r.colour);
    const t = el.lastChild;
    t.setAttribute("x", x.toFixed(1)); t.setAttribute("y", y.toFixed(1));
    t.textContent = r.number;
  }
  for (const el of byCar.values()) el.remove();
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
    const t0 = performance.now();
    received = t0;
    rows = st.rows;
    $("track").textContent = st.track;
    $("order").textContent = st.order === "best" ? "order: best lap" : "order: race";
    renderTower();
    renderCars();
    refreshLaps();
    if (bench) benchApplied(rows);
    const now = Date.now();
    pitwall.states++;
    pitwall.last = st;
    pitwall.lateMs.push(now - st.sent_ms);
    let newest = 0;
    for (const r of rows) newest = Math.max(newest, r.time_ns || 0);
    if (newest) pitwall.sampleAgeMs.push(now - newest / 1e6);
    pitwall.frameMs.push(performance.now() - t0);
    for (const a of [pitwall.lateMs, pitwall.sampleAgeMs, pitwall.frameMs]) if (a.length > 5000) a.splice(0, a.length - 5000);
    $("latency").textContent = `update ${now - st.sent_ms} ms`;
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
// first animation frame after the update (on screen), and every animation
// frame's duration; pitwall bench web reads window.pitwall.bench.
const bench = new URLSearchParams(location.search).has("bench") ? { latMs: [], frameMs: [], seen: new Map(), pending: [] } : null;

function benchApplied(rs) {
  for (const r of rs) {
    if (!r.time_ns || bench.seen.get(r.car) === r.time_ns) continue;
    bench.seen.set(r.car, r.time_ns);
    bench.pending.push(r.time_ns / 1e6);
  }
}

function benchFrame(t) {
  if (bench.last !== undefined) bench.frameMs.push(t - bench.last);
  bench.last = t;
  const now = Date.now();
  for (const ms of bench.pending) bench.latMs.push(now - ms);
  bench.pending.length = 0;
  requestAnimationFrame(benchFrame);
}

if (bench) {
  pitwall.bench = bench;
  requestAnimationFrame(benchFrame);
}

setInterval(tickClocks, 100);
connect();
