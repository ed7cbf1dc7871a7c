// Package web serves the pit wall page: a timing tower, a track map, lap
// analysis and alarms in a browser, from the log, with no CDN (the
// assets in static/ are embedded, so it works offline at a circuit).
// `pitwall up` runs a Server beside its pipeline; `pitwall web` runs one
// against any broker.
//
// How data flows:
//
//	telemetry.laps   ─┐  (follow.go: one consumer for every partition
//	telemetry.alarms ─┤   of a topic; live records on a connection of
//	telemetry.live   ─┘   their own)
//	        │
//	        ▼
//	Server (server.go): Tower (tower.go: order, gaps, colours, pit),
//	traces (trace.go: the map from the cars' GPS, laps.go: lap traces for
//	the analysis), Alarms (alarms.go); every change bumps a version and
//	wakes push
//	        │
//	        ▼
//	push: the whole state as JSON to every open page over server-sent
//	events (/events), at most every Config.PushEvery (16 ms), a burst of
//	records gathered for 2 ms; a slow page skips states
//	        │
//	        ▼
//	static/app.js: parses each state as it comes and draws the newest
//	once per animation frame, rewriting only the values that changed;
//	alarms.js after it. The lap analysis and exports are fetched on
//	demand (/api/laps, /api/lap, /api/export).
//
// Tests drive the page in headless Chromium (chromedp) from a real
// `pitwall up` and assert on what is rendered; `make screenshots` saves
// the README's pictures from them. `pitwall bench web` measures sample →
// on-page latency, frame times and the server's cost (BENCHMARKS.md).
package web
