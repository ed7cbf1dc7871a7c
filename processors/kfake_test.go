package processors_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/internal/pipelinetest"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// The kfake cluster's size, and the session the pipeline times on it
// (shorter than the other end-to-end tests': the leader moves are what
// it adds).
const (
	kfakeBrokers = 3
	kfakeCars    = 2
	kfakeLaps    = 2
)

// startKfake starts franz-go's kfake, an independent Kafka implementation,
// with three brokers on loopback, creates Pitwall's topics with the
// settings `pitwall` uses (through admin.EnsureTopics, as the edge and the
// processors do) and puts partition p of each on broker p mod 3, so every
// broker leads some partitions of every topic. It returns the cluster and
// its addresses.
func startKfake(t *testing.T) (*kfake.Cluster, []string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(kfakeBrokers))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	addrs := c.ListenAddrs()
	client, err := sarama.NewClient(addrs, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := admin.EnsureTopics(client, telemetry.Topics()...); err != nil {
		t.Fatal(err)
	}
	for _, s := range telemetry.Topics() {
		for p := range int32(s.Partitions) {
			if err := c.MoveTopicPartition(s.Name, p, p%kfakeBrokers); err != nil {
				t.Fatalf("%s/%d: %v", s.Name, p, err)
			}
		}
	}
	return c, addrs
}

// moveLeaders moves every partition of Pitwall's topics to the next
// broker every period until stop is called: a leader election as the
// clients see it (NOT_LEADER_OR_FOLLOWER from the old leader, a new
// leader epoch in Metadata), again and again while they work.
func moveLeaders(t *testing.T, c *kfake.Cluster, period time.Duration) (stop func() int) {
	done, exited := make(chan struct{}), make(chan struct{})
	moves := 0
	go func() {
		defer close(exited)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for shift := int32(1); ; shift++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			for _, s := range telemetry.Topics() {
				for p := range int32(s.Partitions) {
					if err := c.MoveTopicPartition(s.Name, p, (p+shift)%kfakeBrokers); err != nil {
						t.Errorf("move %s/%d: %v", s.Name, p, err)
						return
					}
				}
			}
			moves++
		}
	}()
	var once sync.Once
	stop = func() int { once.Do(func() { close(done); <-exited }); return moves }
	t.Cleanup(func() { stop() })
	return stop
}

// TestPipelineOnKfakeCluster: the whole pipeline — simulator at --speed
// max → a pty serial link → edge → franz-go's kfake with three brokers,
// every topic's partitions led by all three → two lap processors in one
// group — with every partition's leader moved to another broker every
// second while it runs: the laps on telemetry.laps equal the simulator's
// truth, once each, and telemetry.live has records of every car. Every Pitwall client on the path (the edge's producer and its
// topic check, the processors' group consumer, catalog reader and
// laps/live producers, topicread) follows leaders on a multi-broker
// Kafka that is not Pitwall's.
//
// The live check is per car, not every record or lap: the live producer
// sends each batch once (sarama Retry.Max 0, "a late live record is
// worth nothing"), so a batch that meets a leader change is dropped and
// counted, not retried.
func TestPipelineOnKfakeCluster(t *testing.T) {
	t.Parallel() // own cluster, pty and edge
	c, addrs := startKfake(t)

	cfg := config(t, addrs[0], "kfake", nil)
	cfg.Brokers = addrs
	cfg.LiveWait = time.Minute // every live record kept, however busy the machine
	startProcessor(t, cfg)
	startProcessor(t, cfg)
	stopMoving := moveLeaders(t, c, time.Second)

	run := pipelinetest.SimulateOverPTY(t, simulator.Config{
		Track: testTrack, Cars: kfakeCars, Laps: kfakeLaps + 1, PitEvery: 2, Seed: 21, GPSRateHz: 10, Rates: testRates,
		DropoutsPerHour: -1, GPSNoise: -1,
	}, addrs[1:2])
	truth := lapsUpTo(run.Truth(t), kfakeLaps)

	codec := telemetry.MustNewCodec()
	got := lapsUpTo(readAllLaps(t, addrs[2], codec, "kfake"), kfakeLaps)
	for deadline := time.Now().Add(2 * time.Minute); len(got) < len(truth) && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		got = lapsUpTo(readAllLaps(t, addrs[2], codec, "kfake"), kfakeLaps)
	}
	moves := stopMoving()
	t.Logf("leaders moved %d times while the pipeline ran", moves)
	if moves == 0 {
		t.Error("no leader moved while the pipeline ran")
	}
	checkTruth(t, got, truth)

	var live map[string][]telemetry.Live
	inLap := func(w telemetry.Lap) bool {
		for _, l := range live[w.Car] {
			if l.Lap == w.Lap && l.TimeNs >= w.StartNs && l.TimeNs < w.EndNs {
				return true
			}
		}
		return false
	}
	// Live records are sent once: a batch that meets a leader move is
	// dropped, and sarama's breaker holds a partition's records back for
	// 10 s after three failed leader look-ups in a row, which leaders
	// moved every second on a busy machine can cause. So every car must
	// have live records in some lap (the producer found its leaders
	// again), and the laps without any are logged, not failed.
	covered := func() (cars map[string]int, missing []string) {
		cars = map[string]int{}
		for _, w := range truth {
			if inLap(w) {
				cars[w.Car]++
			} else {
				missing = append(missing, fmt.Sprintf("%s lap %d", w.Car, w.Lap))
			}
		}
		return cars, missing
	}
	allCars := map[string]bool{}
	for _, w := range truth {
		allCars[w.Car] = true
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		live = readLive(t, addrs[0])
		cars, missing := covered()
		if len(missing) == 0 || (len(cars) == len(allCars) && time.Now().After(deadline)) || time.Now().After(deadline.Add(time.Minute)) {
			break
		}
	}
	cars, missing := covered()
	for car := range allCars {
		if cars[car] == 0 {
			t.Errorf("%s: no record on telemetry.live in any lap (%d records of the car)", car, len(live[car]))
		}
	}
	if len(missing) > 0 {
		t.Logf("laps without a live record (batches dropped at leader moves): %v", missing)
	}
}
