// Package dashboards holds Pitwall's Grafana provisioning: the InfluxDB
// (InfluxQL) and Pitwall Live datasources (provisioning/datasources), the
// dashboard provider (provisioning/dashboards) and the dashboards
// themselves as JSON (json/): "Live car", "Lap times", "Track map" and
// "Pipeline". The Grafana backend plugin that streams live channels from
// the broker is in dashboards/plugin.
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
