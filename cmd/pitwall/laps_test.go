package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/telemetry/partitioner"
)

// pitwall laps prints the laps on telemetry.laps: every group's by
// default (saying there are several and how to read one), one timing
// with --group, one car with --car, as a table, CSV or JSON.
func TestLaps(t *testing.T) {
	b := brokertest.Start(t)
	run := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := lapsTo(context.Background(), append([]string{"--brokers", b.Addr}, args...), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	if _, _, err := run(); err == nil || !strings.Contains(err.Error(), "does not exist yet") {
		t.Fatalf("before any lap: %v, want telemetry.laps does not exist yet", err)
	}
	dev := int64(59_990_000_000)
	end := int64(1_700_000_000_000_000_000)
	lapOf := func(car string, n int32, end int64) telemetry.Lap {
		return telemetry.Lap{Car: car, Session: "s1", Lap: n, StartNs: end - 60e9, EndNs: end, SectorsNs: []int64{30e9, 30e9},
			Metrics: []telemetry.Metric{{Name: "valid", Value: 1}}, DeviceNs: &dev}
	}
	produceLaps(t, b.Addr, "pitwall-laps", lapOf("car01", 1, end), lapOf("car02", 1, end+1e9))
	produceLaps(t, b.Addr, "pitwall-laps-v2", lapOf("car01", 1, end+5e6))

	out, note, err := run()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "group ") || !strings.Contains(lines[1], "pitwall-laps  ") ||
		!strings.Contains(lines[1], "1:00.000  yes") || !strings.Contains(lines[1], "0:59.990  +0.010  30.000 30.000") {
		t.Errorf("all laps:\n%s", out)
	}
	if !strings.Contains(note, "2 consumer groups") || !strings.Contains(note, "--group") {
		t.Errorf("no note about two timings: %q", note)
	}
	out, note, err = run("--group", "pitwall-laps-v2")
	if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(out, "pitwall-laps-v2") || note != "" {
		t.Errorf("--group: %v\n%s\n%s", err, out, note)
	}
	out, _, err = run("--group", "pitwall-laps", "--car", "car02", "--output", "csv")
	if err != nil || out != "group,car,session,lap,start_ns,end_ns,time_s,valid,pit_lane,device_time_s,diff_s,sectors_s\n"+
		"pitwall-laps,car02,s1,1,1699999941000000000,1700000001000000000,60,true,false,59.99,0.01,30 30\n" {
		t.Errorf("--car --output csv: %v\n%s", err, out)
	}
	out, _, err = run("--group", "pitwall-laps", "--output", "json")
	if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"device_time_s":59.99`) {
		t.Errorf("--output json: %v\n%s", err, out)
	}
	if _, _, err := run("--output", "xml"); err == nil || !strings.Contains(err.Error(), "--output") {
		t.Errorf("--output xml: %v", err)
	}
}

func produceLaps(t *testing.T, addr, group string, laps ...telemetry.Lap) {
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
		_, _, err = p.SendMessage(&sarama.ProducerMessage{Topic: telemetry.TopicLaps, Key: sarama.StringEncoder(laps[i].Car),
			Value: sarama.ByteEncoder(v), Headers: []sarama.RecordHeader{{Key: []byte(processors.HeaderGroup), Value: []byte(group)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
}
