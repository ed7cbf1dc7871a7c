package timing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/processors/timing"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/telemetry/partitioner"
)

const t0 = int64(1_700_000_000_000_000_000)

func testLap(car string, n int32, end int64, device int64) telemetry.Lap {
	l := telemetry.Lap{Car: car, Session: "s1", Lap: n, StartNs: end - 60e9, EndNs: end,
		SectorsNs: []int64{20e9, 25e9, 15e9}, Metrics: []telemetry.Metric{{Name: "valid", Value: 1}}}
	if device > 0 {
		l.DeviceNs = &device
	}
	return l
}

func produce(t *testing.T, addr, group string, laps ...telemetry.Lap) {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll // in the high watermark a read to the end stops at
	cfg.Producer.Partitioner = partitioner.New
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	codec := telemetry.MustNewCodec()
	for i := range laps {
		v, err := codec.AppendLap(nil, &laps[i])
		if err != nil {
			t.Fatal(err)
		}
		m := &sarama.ProducerMessage{Topic: telemetry.TopicLaps, Key: sarama.StringEncoder(laps[i].Car), Value: sarama.ByteEncoder(v)}
		if group != "" {
			m.Headers = []sarama.RecordHeader{{Key: []byte(processors.HeaderGroup), Value: []byte(group)}}
		}
		if _, _, err := p.SendMessage(m); err != nil {
			t.Fatal(err)
		}
	}
}

func connect(t *testing.T, addr string) sarama.Client {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Metadata.AllowAutoTopicCreation = false // as pitwall laps: reading creates nothing
	client, err := sarama.NewClient([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

func createLaps(t *testing.T, client sarama.Client) {
	spec, _ := telemetry.Topic(telemetry.TopicLaps)
	if err := admin.EnsureTopics(client, spec); err != nil {
		t.Fatal(err)
	}
}

// Read keeps one group's, car's or session's laps, in end-time order,
// and with follow hands on the laps produced later, once each.
func TestRead(t *testing.T) {
	b := brokertest.Start(t)
	client := connect(t, b.Addr)
	if err := timing.Read(context.Background(), client, timing.Filter{}, false, func([]timing.Row) {}, nil, nil); !errors.Is(err, timing.ErrNoLaps) {
		t.Fatalf("no topic: %v, want ErrNoLaps", err)
	}
	createLaps(t, client)
	produce(t, b.Addr, "v1", testLap("car02", 1, t0+2e9, 0), testLap("car01", 1, t0+1e9, 0), testLap("car01", 2, t0+61e9, 59_990e6))
	produce(t, b.Addr, "v2", testLap("car01", 1, t0+1e9+3e6, 0))
	produce(t, b.Addr, "", testLap("car03", 1, t0, 0))
	client.RefreshMetadata(telemetry.TopicLaps)
	for _, tc := range []struct {
		f    timing.Filter
		want string
	}{
		{timing.Filter{}, "car03/1 car01/1 car01/1 car02/1 car01/2"},
		{timing.Filter{Group: "v1"}, "car01/1 car02/1 car01/2"},
		{timing.Filter{Group: "v1", Car: "car01"}, "car01/1 car01/2"},
		{timing.Filter{Session: "other"}, ""},
	} {
		var got []string
		err := timing.Read(context.Background(), client, tc.f, false, func(rows []timing.Row) {
			for _, r := range rows {
				got = append(got, r.Lap.Car+"/"+string(rune('0'+r.Lap.Lap)))
			}
		}, nil, func(err error) { t.Error(err) })
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("%+v: %v %v, want %s", tc.f, err, got, tc.want)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var backlog int
	var later []timing.Row
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- timing.Read(ctx, client, timing.Filter{Group: "v1"}, true, func(rows []timing.Row) { backlog = len(rows); close(ready) },
			func(r timing.Row) { mu.Lock(); later = append(later, r); mu.Unlock() }, func(err error) { t.Error(err) })
	}()
	<-ready
	produce(t, b.Addr, "v1", testLap("car02", 2, t0+62e9, 0), testLap("car05", 1, t0+70e9, 0))
	produce(t, b.Addr, "v2", testLap("car02", 2, t0+62e9, 0))
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(later)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if backlog != 3 || len(later) != 2 {
		t.Errorf("follow: backlog %d laps, then %d: want 3 then 2", backlog, len(later))
	}
}

// The three formats, one lap with a device time and one without.
func TestWriter(t *testing.T) {
	rows := []timing.Row{
		{Group: "pitwall-laps", Lap: testLap("car01", 1, t0+1e9, 59_990e6)},
		{Group: "pitwall-laps", Lap: testLap("car10", 12, t0+2e9, 0)},
	}
	rows[1].Lap.PitLane = true
	rows[1].Lap.Metrics[0].Value = 0
	out := func(format string) string {
		var buf bytes.Buffer
		w, err := timing.NewWriter(&buf, format)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Header(rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		return buf.String()
	}
	table := `group         car    session  lap  end                      time      valid  pit  device    diff    sectors
pitwall-laps  car01  s1       1    2023-11-14 22:13:21.000  1:00.000  yes    -    0:59.990  +0.010  20.000 25.000 15.000
pitwall-laps  car10  s1       12   2023-11-14 22:13:22.000  1:00.000  no     pit  -         -       20.000 25.000 15.000
`
	if got := out(timing.FormatTable); got != table {
		t.Errorf("table:\n%s\nwant\n%s", got, table)
	}
	csv := `group,car,session,lap,start_ns,end_ns,time_s,valid,pit_lane,device_time_s,diff_s,sectors_s
pitwall-laps,car01,s1,1,1699999941000000000,1700000001000000000,60,true,false,59.99,0.01,20 25 15
pitwall-laps,car10,s1,12,1699999942000000000,1700000002000000000,60,false,true,,,20 25 15
`
	if got := out(timing.FormatCSV); got != csv {
		t.Errorf("csv:\n%s\nwant\n%s", got, csv)
	}
	lines := strings.Split(strings.TrimSpace(out(timing.FormatJSON)), "\n")
	if len(lines) != 2 {
		t.Fatalf("json: %d lines", len(lines))
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["car"] != "car01" || first["device_time_s"] != 59.99 || first["valid"] != true || first["time_s"] != 60.0 ||
		first["end"] != "2023-11-14T22:13:21Z" || len(first["sectors_s"].([]any)) != 3 {
		t.Errorf("json: %s", lines[0])
	}
	if _, err := timing.NewWriter(nil, "xml"); err == nil {
		t.Error("xml accepted")
	}
}
