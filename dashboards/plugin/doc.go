// Package plugin is the Pitwall Live Grafana backend data-source plugin
// (grafana-plugin-sdk-go): it reads the telemetry topic straight from the
// broker over the Kafka protocol (sarama) and gives Grafana a car's
// channels, both as a recent window (QueryData) and as a live stream
// pushed through Grafana Live (RunStream), so live panels are pushed, not
// polled. cmd/pitwall-live is the plugin executable; plugin.json names it
// and the frontend Grafana loads beside it.
//
// # Data flow
//
//	broker ── telemetry.channels (compacted) ──▶ catalog per car (channel name → id)
//	broker ── telemetry, the car's partition (murmur2 of the car id) ──▶ decode Avro Frames
//	    QueryData: from ListOffsets(now - window) to the end offset at query time
//	               (internal/topicread, as for the catalog)
//	               ──▶ one data.Frame: time + one nullable float64 field per channel
//	               (with "stream": true the frame names the Live channel
//	               ds/<uid>/car/<car>/<ch1>/<ch2>..., and Grafana subscribes)
//	    RunStream:  from the end offset on, rows batched and sent at most
//	                every 16 ms (60 Hz) until Grafana cancels the stream
//
// # Settings (jsonData of the datasource)
//
//	brokers        "host:port[,host:port]"  default "127.0.0.1:9092"
//	topic          frames topic             default "telemetry"
//	channelsTopic  catalog topic            default "telemetry.channels"
//	liveTopic      live records topic       default "telemetry.live"
//
// # Query model (a panel target)
//
//	{"car": "car01", "channels": ["speed", "rpm"], "windowSeconds": 30, "stream": true}
//	{"kind": "live", "car": "", "fields": ["delta_best_s"], "windowSeconds": 60, "stream": true}
//
// kind is "frames" (the default) or "live"; a live query's empty car is
// every car, its empty fields all of LiveFields.
//
// # Frontend
//
// The frontend is TypeScript in create-plugin's layout (package.json,
// package-lock.json, tsconfig.json, webpack.config.js, jest.config.js,
// src/): src/module.ts registers src/datasource.ts (DataSourceWithBackend:
// substitutes $car and channel variables, holds back half-filled targets)
// with src/components/QueryEditor.tsx and ConfigEditor.tsx, built from
// @grafana/ui. src/types.ts declares the query and settings JSON above;
// TestPluginFiles holds it to Query and Settings. Webpack (swc) bundles it
// into dist/module.js, an AMD module that leaves React and @grafana/* to
// Grafana. `make plugin-frontend-test` (part of `make test`) runs npm ci
// when node_modules is missing or older than the lock file, then tsc and
// the jest tests (jsdom, @testing-library/react); `make plugin` builds the
// frontend and the backend into dist/pitwall-live-datasource at the
// repository root; the Dockerfile's grafana stage builds both inside the
// Grafana image docker-compose.yml runs.
//
// CheckHealth connects to the brokers and checks that the frames topic
// exists. Records that do not decode are skipped, counted, and logged once
// per kind; a query for a car without a catalog is an error response.
package plugin
