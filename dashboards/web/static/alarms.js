// Alarms on the pit wall page: the raised alarms of telemetry.alarms
// (the server puts them in every "state" as st.alarms, most severe
// first, and each tower row's most severe as row.alarm). Kept apart from
// app.js: app.js calls it after every render (window.pitwall.onRender)
// with the state drawn; it redraws the banner and the rows' marks only
// when the alarms, the marks or the rows changed, and otherwise only
// the banner's "ago" times.
"use strict";

(() => {
  const box = document.getElementById("alarms");
  const list = box.querySelector("ul");
  const armed = document.getElementById("alarm-rules");
  const tbody = document.querySelector("#tower tbody");
  window.pitwall.alarms = [];

  function fmtAgo(ns, nowNs) {
    const s = Math.max(0, Math.round((nowNs - ns) / 1e9));
    return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
  }

  let drawn = "";  // the alarms and marks drawn, as JSON
  let details = []; // the banner lines' detail spans, in the alarms' order

  function render(st, rowsChanged) {
    const alarms = st.alarms || [];
    window.pitwall.alarms = alarms;
    let newest = 0;
    for (const r of st.rows) newest = Math.max(newest, r.time_ns || 0);
    const marks = st.rows.filter((r) => r.alarm).map((r) => [r.car, r.alarm]);
    const ids = alarms.map((a) => [a.car, a.rule, a.severity, a.message, a.number, a.driver, a.condition]);
    const key = JSON.stringify([ids, marks, st.alarm_rules || []]);
    if (key !== drawn || rowsChanged) {
      drawn = key;
      draw(st, alarms);
    }
    // The same alarms in the same order: the details of each, anew.
    for (let i = 0; i < details.length; i++) {
      const el = details[i], a = alarms[i];
      const text = `${a.channel} ${+a.value.toFixed(2)} · ${a.condition} · ${newest ? fmtAgo(a.since_ns, newest) + " ago" : ""}`;
      if (el.textContent !== text) el.textContent = text;
    }
  }

  function draw(st, alarms) {
    details = [];
    const items = alarms.map((a) => {
      const li = document.createElement("li");
      li.className = a.severity;
      li.dataset.car = a.car;
      li.dataset.rule = a.rule;
      const who = document.createElement("b");
      who.textContent = (a.number ? "#" + a.number + " " : "") + (a.driver || a.car);
      const what = document.createElement("span");
      what.className = "what";
      what.textContent = a.message;
      const detail = document.createElement("span");
      detail.className = "detail";
      details.push(detail);
      li.append(who, what, detail);
      return li;
    });
    list.replaceChildren(...items);
    box.classList.toggle("hidden", alarms.length === 0);
    armed.textContent = st.alarm_rules && st.alarm_rules.length ? `alarms armed: ${st.alarm_rules.join(", ")}` : "";
    const byCar = new Map();
    for (const a of alarms) if (!byCar.has(a.car)) byCar.set(a.car, a);
    const sevOf = new Map(st.rows.map((r) => [r.car, r.alarm]));
    for (const tr of tbody.children) {
      const sev = sevOf.get(tr.dataset.car);
      tr.classList.remove("alarm", "critical", "warning", "info");
      const old = tr.querySelector(".alarm-badge");
      if (old) old.remove();
      if (!sev) continue;
      tr.classList.add("alarm", sev);
      const badge = document.createElement("span");
      badge.className = "alarm-badge " + sev;
      badge.textContent = "⚠";
      const a = byCar.get(tr.dataset.car);
      if (a) badge.title = a.message;
      const drv = tr.querySelector("td.driver");
      if (drv) drv.prepend(badge);
    }
  }

  window.pitwall.onRender.push(render);
})();
