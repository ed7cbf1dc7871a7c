package plugin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/dashboards/plugin"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// The datasource reaches a SASL_SSL broker with the settings Grafana
// sends: TLS, mechanism and user in jsonData, the password in the
// decrypted secure JSON data; its health check then sees the frames
// topic. A wrong password is an unhealthy datasource whose message does
// not repeat it.
func TestCheckHealthOverSASLSSL(t *testing.T) {
	const pw = "grafana-s3cret"
	b := brokertest.StartSecure(t, brokertest.Secure{Users: map[string]string{"grafana": pw}})
	if err := simulator.Run(context.Background(), simulator.Config{Track: "brands-indy", Cars: 1, Seed: 3, Duration: 200 * time.Millisecond,
		Out: "kafka://" + b.Addrs["PLAINTEXT"] + "/" + telemetry.TopicFrames}); err != nil {
		t.Fatal(err)
	}
	health := func(password string) *backend.CheckHealthResult {
		settings, _ := json.Marshal(map[string]any{"brokers": b.Addrs["SASL_SSL"], "tls": true, "tlsCa": b.CA.File,
			"saslMechanism": "SCRAM-SHA-512", "saslUser": "grafana"})
		pctx := backend.PluginContext{Namespace: "default", PluginID: plugin.PluginID,
			DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{ID: 1, UID: uid, Name: "Pitwall Live", JSONData: settings,
				DecryptedSecureJSONData: map[string]string{plugin.SecureSASLPassword: password}, Updated: time.Now()}}
		inst, err := datasource.NewInstanceManager(plugin.NewDatasource).Get(context.Background(), pctx)
		if err != nil {
			t.Fatal(err)
		}
		ds := inst.(*plugin.Datasource)
		defer ds.Dispose()
		res, err := ds.CheckHealth(context.Background(), &backend.CheckHealthRequest{PluginContext: pctx})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := health(pw); res.Status != backend.HealthStatusOk || !strings.Contains(res.Message, "12 partitions") {
		t.Errorf("SASL_SSL: %v %q, want OK with 12 partitions", res.Status, res.Message)
	}
	if res := health("wrong-" + pw); res.Status != backend.HealthStatusError || strings.Contains(res.Message, pw) {
		t.Errorf("wrong password: %v %q, want an error without the password", res.Status, res.Message)
	}
}
