package up

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/internal/topicread"
	"github.com/pitwall/pitwall/telemetry"
)

// pitwall up --brokers on a broker that takes only SASL_SSL with the
// ACL authorizer on: the edge, the lap processor, the board and the page
// all log in with the run's TLS and SCRAM settings. The laps are timed
// onto that broker's telemetry.laps, the board prints them, the page
// has its tower, and the password is in no log line.
func TestRunOnSecuredBrokers(t *testing.T) {
	const pw = "up-Br0kers-pw"
	b := brokertest.StartSecure(t, brokertest.Secure{
		Protocols: []string{"SASL_SSL"}, Users: map[string]string{"pit": pw},
		Authorizer: true, SuperUsers: []string{"User:pit"},
	})
	sec := kafkasec.Config{TLS: true, CAFile: b.CA.File, Mechanism: "SCRAM-SHA-512", User: "pit", Password: kafkasec.Secret(pw)}
	var logs, out syncBuffer
	pages := make(chan string, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{DataDir: t.TempDir(), Brokers: []string{b.Addrs["SASL_SSL"]}, Security: sec, Cars: 2,
			Track: "brands-indy", Speed: -1, Laps: 1, Web: "127.0.0.1:0", OnWeb: func(u string) { pages <- u }, Stdout: &out,
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	}()
	var page string
	select {
	case page = <-pages:
	case err := <-done:
		t.Fatalf("Run returned %v before serving the page:\n%s", err, logs.String())
	}
	// The page's state comes from the secured broker too: both cars' rows
	// once their laps are timed.
	var rows int
	for rows < 2 {
		select {
		case err := <-done:
			t.Fatalf("Run returned %v before the page had both cars (%d rows):\n%s", err, rows, out.String())
		case <-time.After(100 * time.Millisecond):
		}
		rows = pageRows(t, page)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v\n%s", err, logs.String())
	}
	for _, car := range []string{"car01 lap 1 ", "car02 lap 1 "} {
		if !strings.Contains(out.String(), car) {
			t.Errorf("the board printed no %q:\n%s", car, out.String())
		}
	}
	if laps := securedLaps(t, b.Addrs["SASL_SSL"], sec); laps["car01"] < 1 || laps["car02"] < 1 {
		t.Errorf("laps on the secured broker's %s: %v, want car01 and car02", telemetry.TopicLaps, laps)
	}
	if strings.Contains(logs.String(), pw) || strings.Contains(out.String(), pw) {
		t.Errorf("pitwall up printed the SASL password")
	}
}

// pageRows is how many tower rows the page's state has (0 until it has
// any).
func pageRows(t *testing.T, page string) int {
	resp, err := http.Get(page + "api/state")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var st struct {
		Rows []json.RawMessage `json:"rows"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return 0
	}
	return len(st.Rows)
}

// securedLaps counts the laps per car on telemetry.laps, read over
// SASL_SSL.
func securedLaps(t *testing.T, addr string, sec kafkasec.Config) map[string]int {
	t.Helper()
	sc := sarama.NewConfig()
	if err := sec.Sarama(sc); err != nil {
		t.Fatal(err)
	}
	client, err := sarama.NewClient([]string{addr}, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	codec := telemetry.MustNewCodec()
	laps := map[string]int{}
	var mu sync.Mutex // partitions are read at once
	err = topicread.ReadToEnd(context.Background(), client, telemetry.TopicLaps, topicread.Config{}, func(m *sarama.ConsumerMessage) {
		var l telemetry.Lap
		if codec.DecodeLap(m.Value, &l) == nil {
			mu.Lock()
			laps[l.Car]++
			mu.Unlock()
		}
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	return laps
}

// Security settings without --brokers are refused: the embedded broker
// is plaintext on loopback.
func TestSecurityNeedsBrokers(t *testing.T) {
	_, err := Config{Security: kafkasec.Config{TLS: true}}.withDefaults()
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "--brokers") {
		t.Errorf("TLS without brokers: %v", err)
	}
}
