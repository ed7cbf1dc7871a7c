package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Replication between `pitwall broker` processes (issue 13, data): the
// clients' acks=all on RF=3 topics, a follower and a leader SIGKILLed
// under acks=all load, and each replica's log compared byte for byte at
// the end.

// stop ends broker i (index) gracefully (SIGTERM: logs fsynced, markers
// written) and waits for it.
func (c *testCluster) stop(i int) {
	nd := c.nodes[i]
	if nd.cmd == nil {
		return
	}
	nd.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-nd.done:
	case <-time.After(60 * time.Second):
		c.t.Fatalf("broker %d did not stop within a minute of SIGTERM", nd.id)
	}
	nd.cmd = nil
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// partitionOf is topic's partition p as broker i's Metadata has it.
func (c *testCluster) partitionOf(i int, topic string, p int32) *kmsg.MetadataResponseTopicPartition {
	m, err := c.metadata(i)
	if err != nil {
		return nil
	}
	t := findTopic(m, topic)
	if t == nil || int(p) >= len(t.Partitions) {
		return nil
	}
	return &t.Partitions[p]
}

// sameReplicas stops every broker and compares each partition's log
// files, concatenated, across the brokers' data directories: a follower
// stores the leader's batches byte for byte (offsets, epochs, CRCs).
func (c *testCluster) sameReplicas(topic string, partitions int) {
	c.t.Helper()
	for i := range c.nodes {
		c.stop(i)
	}
	total := 0
	for p := range partitions {
		var first []byte
		for i, nd := range c.nodes {
			b := readLogs(c.t, filepath.Join(nd.dir, "topics", topic, strconv.Itoa(p)))
			if i == 0 {
				first = b
				total += len(b)
				continue
			}
			if !bytes.Equal(b, first) {
				c.t.Errorf("%s/%d: broker %d's log (%d bytes) differs from broker %d's (%d bytes)", topic, p, nd.id, len(b), c.nodes[0].id, len(first))
			}
		}
	}
	if total == 0 {
		c.t.Errorf("%s: the brokers hold nothing", topic)
	}
}

// readLogs concatenates the segment files of a partition directory.
func readLogs(t *testing.T, dir string) []byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	var out []byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	return out
}

// keyedLoad is a producer writing value 0, 1, 2, ... under each of its
// keys until stopped, counting what was acknowledged.
type keyedLoad struct {
	name  string
	keys  int
	mu    sync.Mutex
	acked map[string]int // per key: values 0..acked-1 acknowledged
	err   error
	stop  chan struct{}
	done  chan struct{}
}

func newLoad(name string, keys int) *keyedLoad {
	return &keyedLoad{name: name, keys: keys, acked: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
}

func (l *keyedLoad) key(k int) string { return fmt.Sprintf("%s-%d", l.name, k) }

// ack records an acknowledgement of value v under key, which must be the
// next one (producers with idempotence acknowledge in order per
// partition).
func (l *keyedLoad) ack(key string, v int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil && l.err == nil:
		l.err = fmt.Errorf("%s: %s=%d: %w", l.name, key, v, err)
	case err == nil && v != l.acked[key] && l.err == nil:
		l.err = fmt.Errorf("%s: %s=%d acknowledged after %d", l.name, key, v, l.acked[key]-1)
	case err == nil:
		l.acked[key] = v + 1
	}
}

func (l *keyedLoad) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, v := range l.acked {
		n += v
	}
	return n
}

// waitMore waits until n more records are acknowledged than now.
func (l *keyedLoad) waitMore(t *testing.T, n int, why string) {
	t.Helper()
	from := l.total()
	waitFor(t, fmt.Sprintf("%s: %d more acknowledged %s (from %d)", l.name, n, why, from), func() bool {
		l.mu.Lock()
		err := l.err
		l.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		return l.total() >= from+n
	})
}

// finish stops the load and returns what was acknowledged per key.
func (l *keyedLoad) finish(t *testing.T) map[string]int {
	t.Helper()
	close(l.stop)
	select {
	case <-l.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s: the producer did not finish within two minutes of its last record", l.name)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		t.Fatal(l.err)
	}
	return maps.Clone(l.acked)
}

// tailLog keeps the last max lines written to it (a client's log, shown
// when a test fails).
type tailLog struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (l *tailLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for line := range strings.Lines(string(p)) {
		l.lines = append(l.lines, strings.TrimRight(line, "\n"))
	}
	if over := len(l.lines) - l.max; over > 0 {
		l.lines = slices.Delete(l.lines, 0, over)
	}
	return len(p), nil
}

func (l *tailLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// kgoLoad runs franz-go's default producer (idempotent, acks=all), told
// to retry an EOF on a connection's first response: franz-go otherwise
// takes that for a broker wanting SASL and fails the batch for good, and a
// broker killed (or stopped) just after the client connected and sent its
// first Produce closes exactly so. The idempotent producer makes the retry
// safe; without it TestClusterRandomFaults failed a CI run (cycle 14,
// a graceful restart). Its last log lines (level info) are printed if
// the test fails.
func (c *testCluster) kgoLoad(topic string) *keyedLoad {
	return c.kgoLoadLogged(topic, kgo.LogLevelInfo)
}

// kgoLoadLogged is kgoLoad keeping the producer's log at level: debug
// shows every request and each partition's answer, what a stall needs
// (the tail kept is the stall's when it is one).
func (c *testCluster) kgoLoadLogged(topic string, level kgo.LogLevel, extra ...kgo.Opt) *keyedLoad {
	l := newLoad("kgo", 4)
	logs := &tailLog{max: 400}
	logger := kgo.BasicLogger(logs, level, func() string { return time.Now().UTC().Format("15:04:05.000 ") })
	cl := c.client(append([]kgo.Opt{kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(time.Millisecond), kgo.MaxBufferedRecords(200), kgo.AlwaysRetryEOF(),
		kgo.WithLogger(quietBuffering{logger})}, extra...))
	// After the client's Close in cleanup order (last in, first out): the
	// log as it was when the test failed, not the client closing.
	c.t.Cleanup(func() {
		if c.t.Failed() {
			c.t.Logf("the kgo producer's last %d log lines:\n%s", logs.max, logs)
		}
	})
	go func() {
		defer close(l.done)
		for v := 0; ; v++ {
			select {
			case <-l.stop:
				cl.Flush(context.Background())
				return
			default:
			}
			for k := range l.keys {
				key, v := l.key(k), v
				cl.Produce(context.Background(), &kgo.Record{Key: []byte(key), Value: []byte(strconv.Itoa(v))}, func(_ *kgo.Record, err error) { l.ack(key, v, err) })
			}
		}
	}()
	return l
}

// quietBuffering drops the debug lines franz-go logs for every record
// produced while its buffer is full (this load keeps it full), which
// would fill the tail and cost the producer a formatting per record.
type quietBuffering struct{ kgo.Logger }

func (q quietBuffering) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	if level == kgo.LogLevelDebug && (strings.HasPrefix(msg, "blocking Produce") || strings.HasPrefix(msg, "unlingered all partitions") ||
		strings.HasPrefix(msg, "client ctx canceled while blocked in Produce")) {
		return
	}
	q.Logger.Log(level, msg, keyvals...)
}

// saramaLoad runs sarama's idempotent producer (acks=all).
func (c *testCluster) saramaLoad(t *testing.T, topic string) *keyedLoad {
	l := newLoad("sarama", 4)
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Retry.Max = 10000
	cfg.Producer.Retry.Backoff = 50 * time.Millisecond
	cfg.Net.MaxOpenRequests = 1
	cfg.Metadata.Retry.Max = 10000
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	var addrs []string
	for _, nd := range c.nodes {
		addrs = append(addrs, nd.addr)
	}
	prod, err := sarama.NewAsyncProducer(addrs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	inflight := make(chan struct{}, 200)
	go func() {
		for {
			select {
			case m, ok := <-prod.Successes():
				if !ok {
					return
				}
				v, _ := strconv.Atoi(string(m.Value.(sarama.StringEncoder)))
				l.ack(string(m.Key.(sarama.StringEncoder)), v, nil)
				<-inflight
			case e, ok := <-prod.Errors():
				if !ok {
					return
				}
				v, _ := strconv.Atoi(string(e.Msg.Value.(sarama.StringEncoder)))
				l.ack(string(e.Msg.Key.(sarama.StringEncoder)), v, e.Err)
				<-inflight
			}
		}
	}()
	go func() {
		defer close(l.done)
		defer prod.AsyncClose()
		for v := 0; ; v++ {
			for k := range l.keys {
				select {
				case <-l.stop:
					// Wait for what is in flight.
					for range cap(inflight) {
						inflight <- struct{}{}
					}
					return
				case inflight <- struct{}{}:
				}
				prod.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(l.key(k)), Value: sarama.StringEncoder(strconv.Itoa(v))}
			}
		}
	}()
	return l
}

// consumeAll reads topic from the start through broker i until it has
// want records, and checks that every key's values are 0, 1, 2, ... in
// order, once each, and cover what was acknowledged.
func (c *testCluster) consumeAll(i int, topic string, acked map[string]int) {
	c.t.Helper()
	want := 0
	for _, n := range acked {
		want += n
	}
	cons := c.client([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, i)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	next := map[string]int{}
	got := 0
	for got < want {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			c.t.Fatalf("consumed %d of %d acknowledged records: %v", got, want, ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) {
			got++
			k := string(r.Key)
			v, err := strconv.Atoi(string(r.Value))
			if err != nil || v != next[k] {
				c.t.Fatalf("%s: value %q after %d (duplicate or out of order) at %s/%d@%d", k, r.Value, next[k]-1, r.Topic, r.Partition, r.Offset)
			}
			next[k] = v + 1
		})
	}
	for k, n := range acked {
		if next[k] < n {
			c.t.Errorf("%s: read up to %d, but %d were acknowledged", k, next[k], n)
		}
	}
}

// leaderIndex waits for a leader of topic's partition p in broker i's
// Metadata and returns its index, and a follower's.
func (c *testCluster) leaderIndex(i int, topic string, p int32, not int32) (leader, follower int) {
	c.t.Helper()
	var lp *kmsg.MetadataResponseTopicPartition
	waitFor(c.t, fmt.Sprintf("a leader of %s/%d other than %d", topic, p, not), func() bool {
		lp = c.partitionOf(i, topic, p)
		return lp != nil && lp.Leader > 0 && lp.Leader != not
	})
	for _, r := range lp.Replicas {
		if r != lp.Leader {
			return int(lp.Leader) - 1, int(r) - 1
		}
	}
	return int(lp.Leader) - 1, -1
}

// TestClusterReplicatedClients: franz-go, sarama and kcat produce with
// acks=all into an RF=3 topic of three `pitwall broker` processes; a
// consumer reads everything back in order per key, and the three
// brokers' logs of each partition are identical byte for byte.
func TestClusterReplicatedClients(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not installed: run scripts/install-test-deps.sh (make test does)")
	}
	c := startTestCluster(t, buildPitwall(t), 3)
	for i := range c.nodes {
		c.waitMetadata(i, "three brokers", func(m *kmsg.MetadataResponse) bool { return len(m.Brokers) == 3 })
	}
	mustTopics(t, "create", "rep", "--partitions", "3", "--replication-factor", "3", "--brokers", c.nodes[0].addr)
	c.waitTopic("rep")
	acked := map[string]int{}
	const n = 200

	cl := c.client([]kgo.Opt{kgo.DefaultProduceTopic("rep"), kgo.RequiredAcks(kgo.AllISRAcks())}, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for v := range n {
		for k := range 6 {
			if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(fmt.Sprint("kgo-", k)), Value: []byte(strconv.Itoa(v))}).FirstErr(); err != nil {
				t.Fatalf("kgo: %v", err)
			}
		}
	}
	for k := range 6 {
		acked[fmt.Sprint("kgo-", k)] = n
	}

	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	sp, err := sarama.NewSyncProducer([]string{c.nodes[2].addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for v := range n {
		for k := range 6 {
			if _, _, err := sp.SendMessage(&sarama.ProducerMessage{Topic: "rep", Key: sarama.StringEncoder(fmt.Sprint("sarama-", k)), Value: sarama.StringEncoder(strconv.Itoa(v))}); err != nil {
				t.Fatalf("sarama: %v", err)
			}
		}
	}
	sp.Close()
	for k := range 6 {
		acked[fmt.Sprint("sarama-", k)] = n
	}

	var in strings.Builder
	for v := range n {
		for k := range 6 {
			fmt.Fprintf(&in, "kcat-%d:%d\n", k, v)
		}
	}
	cmd := exec.Command(kcat, "-P", "-b", c.nodes[0].addr, "-t", "rep", "-K:", "-X", "acks=all", "-X", "enable.idempotence=false")
	cmd.Stdin = strings.NewReader(in.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	for k := range 6 {
		acked[fmt.Sprint("kcat-", k)] = n
	}

	c.consumeAll(1, "rep", acked)
	c.sameReplicas("rep", 3)
}

// TestClusterFollowerKilled: under franz-go acks=all load on an RF=3
// partition, a follower is SIGKILLed: once it is fenced and out of the
// ISR, produce goes on with 2 of 3 (min.insync.replicas=2); restarted, it
// catches up and is back in the ISR in Metadata. Everything acknowledged
// is read back in order, and the three logs are identical.
func TestClusterFollowerKilled(t *testing.T) {
	c := startTestCluster(t, buildPitwall(t), 3)
	for i := range c.nodes {
		c.waitMetadata(i, "three brokers", func(m *kmsg.MetadataResponse) bool { return len(m.Brokers) == 3 })
	}
	mustTopics(t, "create", "fk", "--partitions", "1", "--replication-factor", "3", "--brokers", c.nodes[0].addr)
	c.waitTopic("fk")
	leader, follower := c.leaderIndex(0, "fk", 0, -1)
	load := c.kgoLoad("fk")
	load.waitMore(t, 200, "before the kill")

	c.kill(follower)
	fid := c.nodes[follower].id
	waitFor(t, fmt.Sprintf("broker %d out of the ISR", fid), func() bool {
		p := c.partitionOf(leader, "fk", 0)
		return p != nil && len(p.ISR) == 2 && !slices.Contains(p.ISR, fid)
	})
	load.waitMore(t, 200, "with 2 of 3 replicas")

	c.start(follower)
	waitFor(t, fmt.Sprintf("broker %d back in the ISR", fid), func() bool {
		p := c.partitionOf(leader, "fk", 0)
		return p != nil && len(p.ISR) == 3
	})
	load.waitMore(t, 200, "with the follower back")
	acked := load.finish(t)
	c.consumeAll(leader, "fk", acked)
	c.sameReplicas("fk", 1)
}

// TestClusterLeaderKilled: franz-go's and sarama's idempotent producers
// write with acks=all to an RF=3 partition whose leader is SIGKILLed:
// another ISR member takes over, the producers resume by themselves, and
// every acknowledged record is read back once, in per-key order. The old
// leader, restarted, follows and ends with the same log as the others.
func TestClusterLeaderKilled(t *testing.T) {
	c := startTestCluster(t, buildPitwall(t), 3)
	for i := range c.nodes {
		c.waitMetadata(i, "three brokers", func(m *kmsg.MetadataResponse) bool { return len(m.Brokers) == 3 })
	}
	mustTopics(t, "create", "lk", "--partitions", "1", "--replication-factor", "3", "--brokers", c.nodes[0].addr)
	c.waitTopic("lk")
	leader, other := c.leaderIndex(0, "lk", 0, -1)
	kl := c.kgoLoad("lk")
	sl := c.saramaLoad(t, "lk")
	kl.waitMore(t, 200, "before the kill")
	sl.waitMore(t, 100, "before the kill")

	c.kill(leader)
	lid := c.nodes[leader].id
	newLeader, _ := c.leaderIndex(other, "lk", 0, lid)
	t.Logf("leader %d killed; broker %d leads", lid, newLeader+1)
	kl.waitMore(t, 200, "after the leader's death")
	sl.waitMore(t, 100, "after the leader's death")

	c.start(leader)
	waitFor(t, fmt.Sprintf("broker %d back in the ISR", lid), func() bool {
		p := c.partitionOf(newLeader, "lk", 0)
		return p != nil && len(p.ISR) == 3
	})
	t.Log("back in the ISR")
	acked := kl.finish(t)
	for k, v := range sl.finish(t) {
		acked[k] = v
	}
	t.Log("producers finished")
	c.consumeAll(newLeader, "lk", acked)
	t.Log("consumed")
	c.sameReplicas("lk", 1)
}

// produceValue sends one Produce of one record with value v to broker i
// (index) and returns the partition's error code (-1 if the request
// failed).
func (c *testCluster) produceValue(i int, topic string, p int32, acks int16, v string) int16 {
	c.t.Helper()
	cl := c.acksClient(i, acks)
	defer cl.Close()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = acks, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = p, rawBatch([]byte(v))
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		c.t.Logf("produce %q (acks %d) to broker %d: %v", v, acks, c.nodes[i].id, err)
		return -1
	}
	rp0 := resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0]
	if rp0.ErrorCode != 0 {
		msg := ""
		if rp0.ErrorMessage != nil {
			msg = *rp0.ErrorMessage
		}
		c.t.Logf("produce %q (acks %d) to broker %d: %v %s", v, acks, c.nodes[i].id, kerr.ErrorForCode(rp0.ErrorCode), msg)
	}
	return rp0.ErrorCode
}

// TestClusterDivergence: the leader of an RF=3 partition is cut off
// from its followers' fetches (its Kafka listener's proxy cut; it still
// reaches the controller, so it keeps leading) and takes acks=1 batches
// nobody copies; then it is SIGKILLed. One of the followers leads at a
// new epoch and takes other records at the same offsets. The old leader,
// restarted, asks OffsetForLeaderEpoch, truncates the batches nobody
// copied, and ends with the same log as the others; no consumer ever
// reads them.
func TestClusterDivergence(t *testing.T) {
	c := startTestClusterOpts(t, buildPitwall(t), 3, clusterOpts{proxied: true})
	for i := range c.nodes {
		c.waitMetadata(i, "three brokers", func(m *kmsg.MetadataResponse) bool { return len(m.Brokers) == 3 })
	}
	// The followers stay in the ISR while they cannot fetch: acks=1 is
	// taken, and the new leader comes from the ISR.
	mustTopics(t, "create", "dv", "--partitions", "1", "--replication-factor", "3", "--brokers", c.nodes[0].addr,
		"--config", "replica.lag.time.max.ms=600000")
	c.waitTopic("dv")
	leader, _ := c.leaderIndex(0, "dv", 0, -1)
	for i := range 10 {
		if code := c.produceValue(leader, "dv", 0, -1, fmt.Sprint("before-", i)); code != 0 {
			t.Fatalf("acks=all before the cut: code %d", code)
		}
	}
	var followers []int
	for i := range c.nodes {
		if i != leader {
			followers = append(followers, i)
		}
	}
	// Cut closes the followers' fetch connections at once: no fetch
	// response written after it reaches them.
	c.nodes[leader].kafkaProxy.Cut()
	for i := range 5 {
		if code := c.produceValue(leader, "dv", 0, 1, fmt.Sprint("divergent-", i)); code != 0 {
			t.Fatalf("acks=1 to the leader its followers cannot fetch from: code %d", code)
		}
	}
	c.kill(leader)
	c.nodes[leader].kafkaProxy.Heal()
	lid := c.nodes[leader].id
	newLeader, _ := c.leaderIndex(followers[0], "dv", 0, lid)
	for i := range 10 {
		if code := c.produceValue(newLeader, "dv", 0, -1, fmt.Sprint("after-", i)); code != 0 {
			t.Fatalf("acks=all to the new leader: code %d", code)
		}
	}
	c.start(leader)
	waitFor(t, fmt.Sprintf("broker %d back in the ISR", lid), func() bool {
		p := c.partitionOf(newLeader, "dv", 0)
		return p != nil && len(p.ISR) == 3
	})
	if !strings.Contains(c.nodes[leader].log.String(), "truncating the log to the leader's") {
		t.Errorf("broker %d did not log a truncation", lid)
	}

	cons := c.client([]kgo.Opt{kgo.ConsumeTopics("dv"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, newLeader)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got []string
	for len(got) < 20 {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %v: %v", got, ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	for i, v := range got {
		want := fmt.Sprint("before-", i)
		if i >= 10 {
			want = fmt.Sprint("after-", i-10)
		}
		if v != want {
			t.Fatalf("record %d is %q, want %q (all: %v)", i, v, want, got)
		}
	}
	c.sameReplicas("dv", 1)
}
