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
