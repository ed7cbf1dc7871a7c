package main

import (
	"log/slog"
	"os"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"

	"github.com/pitwall/pitwall/dashboards/plugin"
	"github.com/pitwall/pitwall/internal/gcfloor"
)

func main() {
	// Like Pitwall's other services: a live heap of a few MiB while it
	// streams a grid's channels, so a heap goal of 16 MiB or more, not a
	// collection every few tens of milliseconds (internal/gcfloor).
	stopFloor := gcfloor.Start(gcfloor.DefaultFloor)
	defer stopFloor()
	if err := datasource.Manage(plugin.PluginID, plugin.NewDatasource, datasource.ManageOpts{}); err != nil {
		slog.Error("pitwall-live", "err", err)
		os.Exit(1)
	}
}
