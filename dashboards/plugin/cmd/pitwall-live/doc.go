// Command pitwall-live is the Pitwall Live Grafana plugin's backend
// executable (dist/pitwall-live-datasource/gpx_pitwall_live_linux_<arch>,
// built by `make plugin`). Grafana starts it and talks to it over gRPC
// through grafana-plugin-sdk-go's datasource.Manage, which creates one
// plugin.Datasource per configured datasource (package plugin has the
// data flow).
package main
