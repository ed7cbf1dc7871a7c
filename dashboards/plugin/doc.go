// Package plugin is the Pitwall Live Grafana backend data-source plugin
// (grafana-plugin-sdk-go): it reads the telemetry topic straight from the
// broker over the Kafka protocol (sarama) and gives Grafana a car's
// channels, both as a recent window (QueryData) and as a live stream
// pushed through Grafana Live (RunStream), so live panels are pushed, not
// polled. cmd/pitwall-live is the plugin executable; plugin.json and
// src/module.js are what Grafana loads; `make plugin` assembles dist/.
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
//	                every 20 ms (50 Hz) until Grafana cancels the stream
//
// # Settings (jsonData of the datasource)
//
//	brokers        "host:port[,host:port]"  default "127.0.0.1:9092"
//	topic          frames topic             default "telemetry"
//	channelsTopic  catalog topic            default "telemetry.channels"
//
// # Query model (a panel target)
//
//	{"car": "car01", "channels": ["speed", "rpm"], "windowSeconds": 30, "stream": true}
//
// CheckHealth connects to the brokers and checks that the frames topic
// exists. Records that do not decode are skipped, counted, and logged once
// per kind; a query for a car without a catalog is an error response.
package plugin
