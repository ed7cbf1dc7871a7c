package processors_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/processors/influx"
)

// An InfluxDB URL with a password in it (and a token) never reaches the
// processor's logs, while InfluxDB cannot be reached and the processor
// says so, naming the address (user kept, password hidden). The laps
// still reach telemetry.laps.
func TestInfluxCredentialsNeverLogged(t *testing.T) {
	t.Parallel()
	const pw, token = "influx-Pl4nted-pw", "admin:Pl4nted-token"
	b := brokertest.Start(t)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // nothing listens there any more: every write fails with the URL in the error
	truth := simulate(t, b.Addr)
	cfg := config(t, b.Addr, "secrets", nil)
	cfg.Influx = &influx.Config{URL: strings.Replace(down.URL, "http://", "http://admin:"+pw+"@", 1), Bucket: "pitwall", Token: token}
	logs := &syncBuffer{}
	cfg.Logger = logs.logger()
	startProcessor(t, cfg)
	checkTruth(t, waitLaps(t, b.Addr, "secrets", len(truth)), truth)
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(logs.String(), "InfluxDB") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "InfluxDB") || !strings.Contains(logs.String(), "admin") {
		t.Fatalf("the processor never said InfluxDB at admin@… refuses points:\n%s", logs.String())
	}
	for _, secret := range []string{pw, token} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the processor logged %q:\n%s", secret, logs.String())
		}
	}
}
