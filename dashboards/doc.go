// Package dashboards holds Pitwall's Grafana provisioning: the InfluxDB
// (InfluxQL) and Pitwall Live datasources (provisioning/datasources), the
// dashboard provider (provisioning/dashboards) and the dashboards
// themselves as JSON (json/): "Live car", "Lap times", "Track map" and
// "Pipeline". The Grafana plugin that streams live channels from the
// broker (Go backend, TypeScript frontend) is in dashboards/plugin;
// docker-compose.yml runs Grafana from the Dockerfile's grafana stage,
// which builds the plugin into the image.
//
// provisioning/alerting holds Grafana alert rules on the alarms
// measurement the lap processor writes for `--alarms FILE` (one rule per
// severity, firing per car, rule and channel while its alarm is raised);
// alarms.example.yaml is an example rules file with the four rules the
// pit wall usually starts from.
//
// Panels use only what Grafana ships, and nothing online: the "Track map"
// Geomap draws the GPS trace over Grafana's own country outlines
// (public/maps) rather than online tiles, which stay blank at a circuit
// without internet; "Speed along the lap" is an XY chart of speed by
// lap_distance (metres from the start/finish line, written by the lap
// processor), every lap in the time range overlaid.
//
// # Data flow
//
//	lap processor ──▶ InfluxDB: lap, telemetry ──InfluxQL──▶ dashboards (polled, 5-10 s)
//	lap processor ──▶ InfluxDB: pipeline ───────InfluxQL──▶ "Pipeline" (lag; edge figures from --edge-metrics)
//	broker (telemetry topic) ──plugin──Grafana Live──▶ "Live car" top panel (pushed, ≤ 50 Hz)
//
// The package embeds the files (FS) and reads the dashboards (Load) so
// that tests hold every panel to its datasource and run every InfluxQL
// query against a real InfluxDB filled by the pipeline, with the template
// variables substituted as Grafana would (Expand).
package dashboards
