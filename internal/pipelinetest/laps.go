package pipelinetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/topicread"
	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// SortLaps sorts laps by car, then by lap number: the order CheckTruth
// compares in.
func SortLaps(ls []telemetry.Lap) {
	sort.Slice(ls, func(i, j int) bool {
		if ls[i].Car != ls[j].Car {
			return ls[i].Car < ls[j].Car
		}
		return ls[i].Lap < ls[j].Lap
	})
}

// LapsUpTo returns the laps numbered up to n.
func LapsUpTo(ls []telemetry.Lap, n int32) []telemetry.Lap {
	var out []telemetry.Lap
	for _, l := range ls {
		if l.Lap <= n {
			out = append(out, l)
		}
	}
	return out
}

// ReadTruth reads the simulator's truth file, sorted (SortLaps).
func ReadTruth(t testing.TB, path string) []telemetry.Lap {
	t.Helper()
	laps, err := simulator.ReadTruthFile(path)
	if err != nil {
		t.Fatal(err)
	}
	SortLaps(laps)
	return laps
}

// CheckTruth holds laps, sorted, to the truth: the same laps, numbers
// and pit flags, times within 5 ms.
func CheckTruth(t testing.TB, got, truth []telemetry.Lap) {
	t.Helper()
	if len(got) != len(truth) {
		t.Fatalf("%d laps, truth has %d:\n%v", len(got), len(truth), Summary(got))
	}
	for i, w := range truth {
		g := got[i]
		if g.Car != w.Car || g.Lap != w.Lap || g.PitLane != w.PitLane ||
			(g.LapTime()-w.LapTime()).Abs() > 5*time.Millisecond || time.Duration(g.StartNs-w.StartNs).Abs() > 5*time.Millisecond {
			t.Errorf("lap %s/%d: %v pit %v, truth %s/%d: %v pit %v", g.Car, g.Lap, g.LapTime(), g.PitLane, w.Car, w.Lap, w.LapTime(), w.PitLane)
		}
	}
}

// Summary lists laps one a line: car/lap lap time.
func Summary(ls []telemetry.Lap) string {
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "%s/%d %v\n", l.Car, l.Lap, l.LapTime())
	}
	return b.String()
}

// ReadLaps reads telemetry.laps up to the end offsets its partitions
// have now and returns group's laps, sorted (SortLaps); none while the
// topic does not exist. A record that does not decode fails t; the
// read's own error is returned for the caller to judge (a test on a
// cluster that lost a broker retries).
func ReadLaps(t testing.TB, client sarama.Client, codec *telemetry.Codec, group string) ([]telemetry.Lap, error) {
	t.Helper()
	var mu sync.Mutex // fn runs on every partition's goroutine
	var out []telemetry.Lap
	var bad error
	err := topicread.ReadToEnd(context.Background(), client, telemetry.TopicLaps, topicread.Config{}, func(m *sarama.ConsumerMessage) {
		var l telemetry.Lap
		err := codec.DecodeLap(m.Value, &l)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			bad = fmt.Errorf("laps record %d/%d: %w", m.Partition, m.Offset, err)
		case processors.FromGroup(m, group):
			out = append(out, l)
		}
	})
	if bad != nil {
		t.Fatal(bad)
	}
	if err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		return nil, err
	}
	SortLaps(out)
	return out, nil
}

// Rates caps every standard channel at 100 Hz, for
// simulator.Config.Rates (g_vert runs at 1 kHz and the dampers at 500 Hz
// by default): ten times fewer frames to process, the same channels and
// lap metrics, and lap timing comes from the 10 Hz GPS either way.
func Rates() map[string]int {
	return map[string]int{telemetry.ChanGVert: 100,
		telemetry.ChanDamper + "_fl": 100, telemetry.ChanDamper + "_fr": 100,
		telemetry.ChanDamper + "_rl": 100, telemetry.ChanDamper + "_rr": 100}
}
