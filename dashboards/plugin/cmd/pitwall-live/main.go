// Command pitwall-live is the Pitwall Live Grafana plugin's backend
// executable (dist/gpx_pitwall_live_<os>_<arch>): Grafana starts it and
// talks to it over gRPC through grafana-plugin-sdk-go (package plugin).
package main

import (
	"log/slog"
	"os"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"

	"github.com/pitwall/pitwall/dashboards/plugin"
)

func main() {
	if err := datasource.Manage(plugin.PluginID, plugin.NewDatasource, datasource.ManageOpts{}); err != nil {
		slog.Error("pitwall-live", "err", err)
		os.Exit(1)
	}
}
