package broker_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker"
	"github.com/pitwall/pitwall/broker/brokertest"
)

// createTopicsN creates topics pw-000... of parts partitions each, 50 per
// request, and fails the test on any error.
func createTopicsN(t *testing.T, ctx context.Context, cl *kgo.Client, from, n int, parts int32) {
	t.Helper()
	for i := from; i < from+n; i += 50 {
		req := kmsg.NewPtrCreateTopicsRequest()
		req.TimeoutMillis = 60_000
		for j := i; j < min(i+50, from+n); j++ {
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = fmt.Sprintf("pw-%03d", j), parts, 1
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range resp.Topics {
			if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
				t.Fatalf("create %s: %v", rt.Topic, err)
			}
		}
	}
}

// produceEach writes value to every partition of topics pw-from... and
// waits for the acknowledgements.
func produceEach(t *testing.T, ctx context.Context, cl *kgo.Client, from, n int, parts int32, value string) {
	t.Helper()
	var rs []*kgo.Record
	for i := from; i < from+n; i++ {
		for p := range parts {
			rs = append(rs, &kgo.Record{Topic: fmt.Sprintf("pw-%03d", i), Partition: p, Value: []byte(value)})
		}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func manualClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.DisableIdempotentWrite()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// metadataStates asks Metadata for every topic and counts its partitions
// open (no error, this broker leading) and still opening
// (LEADER_NOT_AVAILABLE, no leader); anything else fails the test.
func metadataStates(t *testing.T, ctx context.Context, cl *kgo.Client) (open, opening int) {
	t.Helper()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			switch {
			case p.ErrorCode == 0 && p.Leader == resp.Brokers[0].NodeID:
				open++
			case p.ErrorCode == kerr.LeaderNotAvailable.Code && p.Leader == -1:
				opening++
			default:
				t.Fatalf("%s/%d: error %d, leader %d", *rt.Topic, p.Partition, p.ErrorCode, p.Leader)
			}
		}
	}
	return open, opening
}

// TestRestartServesWhileOpening restarts a broker holding 2,000
// partitions and uses it with franz-go at once, while it is still opening
// them: producing to and consuming from 200 of them works without an
// error reaching the client, and Metadata for every topic reports each
// partition either open or LEADER_NOT_AVAILABLE (never a leader that
// cannot serve yet) until all are open.
func TestRestartServesWhileOpening(t *testing.T) {
	const topics, parts = 100, 20
	b := brokertest.StartConfig(t, broker.Config{Fsync: "never", MaxPartitions: parts})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cl := manualClient(t, b.Addr)
	createTopicsN(t, ctx, cl, 0, topics, parts)
	produceEach(t, ctx, cl, 0, topics, parts, "before")
	cl.Close()

	b.Restart(t)
	admin := manualClient(t, b.Addr)
	_, opening := metadataStates(t, ctx, admin)
	t.Logf("right after the restart, %d of %d partitions were still opening", opening, topics*parts)

	// A fresh client on the last topics, which the background opening
	// reaches last.
	cl = manualClient(t, b.Addr, kgo.ConsumePartitions(consumeFrom(topics-10, 10, parts)))
	produceEach(t, ctx, cl, topics-10, 10, parts, "after")
	got := map[string]int{}
	for n := 0; n < 10*parts*2; {
		fs := cl.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got[string(r.Value)]++
			n++
		})
	}
	if got["before"] != 10*parts || got["after"] != 10*parts {
		t.Fatalf("consumed %v, want %d of each", got, 10*parts)
	}
	for {
		if open, _ := metadataStates(t, ctx, admin); open == topics*parts {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("partitions never all open")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// consumeFrom is kgo.ConsumePartitions' map for topics pw-from... from
// their start.
func consumeFrom(from, n int, parts int32) map[string]map[int32]kgo.Offset {
	m := map[string]map[int32]kgo.Offset{}
	for i := from; i < from+n; i++ {
		m[fmt.Sprintf("pw-%03d", i)] = map[int32]kgo.Offset{}
		for p := range parts {
			m[fmt.Sprintf("pw-%03d", i)][p] = kgo.NewOffset().AtStart()
		}
	}
	return m
}

// TestPartitionsPastFileLimitRefused runs a broker process under an open
// file limit of 300 (`ulimit -n`): it allows 256 partitions (a budget of
// 64 active segment files, 4 partitions each). Creating a topic past them
// is refused with INVALID_PARTITIONS and a message naming the limit, and
// so is auto-creation; the partitions it holds, four times more than the
// files it keeps open, all take writes.
func TestPartitionsPastFileLimitRefused(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("sh", "-c", `ulimit -n 300 && exec "$0" -test.run='^$'`, os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("child broker did not start: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl := manualClient(t, strings.TrimSpace(addr))

	createTopicsN(t, ctx, cl, 0, 1, 250)
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "one-too-many", 10, 1
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	st := resp.Topics[0]
	msg := ""
	if st.ErrorMessage != nil {
		msg = *st.ErrorMessage
	}
	if st.ErrorCode != kerr.InvalidPartitions.Code || !strings.Contains(msg, "holds 250 of the 256 its open file limit (RLIMIT_NOFILE 300) allows") {
		t.Fatalf("create past the limit: code %d, message %q", st.ErrorCode, msg)
	}
	meta := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("auto-created")
	meta.Topics, meta.AllowAutoTopicCreation = append(meta.Topics, mt), true
	mresp, err := meta.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if code := mresp.Topics[0].ErrorCode; code != kerr.InvalidPartitions.Code {
		t.Fatalf("auto-creation past the limit: code %d, want INVALID_PARTITIONS", code)
	}
	produceEach(t, ctx, cl, 0, 1, 250, "fits")
}

// TestFileLimitMetrics: /metrics says what the file limit allows and
// what is used of it.
func TestFileLimitMetrics(t *testing.T) {
	b := brokertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := manualClient(t, b.Addr)
	createTopicsN(t, ctx, cl, 0, 2, 3)
	rec := httptest.NewRecorder()
	b.Server.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{"pitwall_broker_partitions 6\n", "pitwall_broker_segment_files_open 6\n",
		"pitwall_broker_partitions_allowed ", "pitwall_broker_segment_file_budget ", "pitwall_broker_open_file_limit "} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
