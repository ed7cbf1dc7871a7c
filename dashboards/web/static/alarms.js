// Alarms on the pit wall page: the raised alarms of telemetry.alarms
// (the server puts them in every "state" as st.alarms, most severe
// first, and each tower row's most severe as row.alarm). Kept apart from
// app.js: it redraws after app.js rebuilds the tower's rows, reading the
// state app.js keeps in window.pitwall.last.
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

  function render() {
    const st = window.pitwall.last;
    if (!st) return;
    const alarms = st.alarms || [];
    window.pitwall.alarms = alarms;
    let newest = 0;
    for (const r of st.rows) newest = Math.max(newest, r.time_ns || 0);
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
      detail.textContent = `${a.channel} ${+a.value.toFixed(2)} · ${a.condition} · ${newest ? fmtAgo(a.since_ns, newest) + " ago" : ""}`;
      li.append(who, what, detail);
      return li;
    });
    list.replaceChildren(...items);
    box.classList.toggle("hidden", alarms.length === 0);
    armed.textContent = st.alarm_rules && st.alarm_rules.length ? `alarms armed: ${st.alarm_rules.join(", ")}` : "";
    const byCar = new Map();
    for (const a of alarms) if (!byCar.has(a.car)) byCar.set(a.car, a);
    for (const tr of tbody.children) {
      const r = st.rows.find((x) => x.car === tr.dataset.car);
      const sev = r && r.alarm;
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

  // app.js replaces the rows on every state: mark them again each time.
  new MutationObserver(render).observe(tbody, { childList: true });
})();
