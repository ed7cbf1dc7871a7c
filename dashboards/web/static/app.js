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
    const d = r.delta_best_s;
    cell(tr, "delta" + (d == null ? "" : d < 0 ? " ahead" : " behind"), d == null ? "–" : (d > 0 ? "+" : "") + d.toFixed(2));
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

setInterval(tickClocks, 100);
connect();
