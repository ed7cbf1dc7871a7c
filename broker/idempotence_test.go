package broker_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pitwall/pitwall/broker"
	"github.com/pitwall/pitwall/broker/brokertest"
)

// withSequence returns batch with its base sequence set to seq and its CRC
// recomputed.
func withSequence(batch []byte, seq int32) []byte {
	b := bytes.Clone(batch)
	binary.BigEndian.PutUint32(b[53:], uint32(seq))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// TestIdempotentDuplicatesAndGaps: a retried batch gets its original
// offset and is not stored again; a sequence gap is refused; both hold
// after a clean restart and after a crash restart.
func TestIdempotentDuplicatesAndGaps(t *testing.T) {
	b := brokertest.Start(t)
	cl := newKgo(t, b.Addr, kgo.RecordPartitioner(kgo.ManualPartitioner())) // idempotent by default
	mustCreate(t, cl, "idem", 1, nil)
	first := storedBatch(t, cl, "idem")
	if pid := int64(binary.BigEndian.Uint64(first[43:])); pid < 0 {
		t.Fatalf("franz-go produced a non-idempotent batch (producer id %d)", pid)
	}
	second := withSequence(first, 1)
	if got := produceRaw(t, cl, -1, "idem", 0, second); got.ErrorCode != 0 || got.BaseOffset != 1 {
		t.Fatalf("next sequence: %v at %d", kerr.ErrorForCode(got.ErrorCode), got.BaseOffset)
	}
	check := func(when string) {
		t.Helper()
		for _, c := range []struct {
			name   string
			batch  []byte
			code   int16
			offset int64
		}{
			{"retry of the first", first, 0, 0},
			{"retry of the second", second, 0, 1},
			{"gap", withSequence(first, 5), kerr.OutOfOrderSequenceNumber.Code, -1},
		} {
			got := produceRaw(t, cl, -1, "idem", 0, c.batch)
			if got.ErrorCode != c.code || (c.code == 0 && got.BaseOffset != c.offset) {
				t.Errorf("%s, %s: %v at %d; want %v at %d", when, c.name, kerr.ErrorForCode(got.ErrorCode), got.BaseOffset,
					kerr.ErrorForCode(c.code), c.offset)
			}
		}
		if n := len(fetchRaw(t, cl, "idem", 0, 0)); n != len(first)+len(second) {
			t.Errorf("%s: partition holds %d bytes, want the two batches (%d)", when, n, len(first)+len(second))
		}
	}
	check("before restart")
	b.Restart(t)
	check("after a clean restart")

	// A crash: stop, then remove what a clean shutdown leaves behind, so
	// the state must come back from the log itself.
	b.Stop(t)
	removeAll(t, b.Dir, "producer-state.json")
	removeAll(t, b.Dir, "clean-shutdown")
	b.Restart(t)
	check("after a crash restart")
}

// cuttingProxy forwards TCP to a target and, every cutEvery bytes sent
// upstream, drops the next reply from the target and closes the
// connection (at most maxCuts times): a request the broker has handled
// whose answer the client never gets, the case idempotence exists for.
type cuttingProxy struct {
	ln       net.Listener
	target   string
	cutEvery int64
	stopped  atomic.Bool  // set once production is done: the consumer reads undisturbed
	upstream atomic.Int64 // bytes sent to the target through this proxy
	mu       sync.Mutex
	conns    map[net.Conn]bool
	cuts     int
}

func newCuttingProxy(t *testing.T, cutEvery int64) *cuttingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttingProxy{ln: ln, cutEvery: cutEvery, conns: map[net.Conn]bool{}}
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	})
	return p
}

func (p *cuttingProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		var cut atomic.Bool
		go p.forwardUp(c, up, &cut)
		go p.forwardDown(up, c, &cut)
	}
}

func (p *cuttingProxy) forwardUp(c, up net.Conn, cut *atomic.Bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := up.Write(buf[:n]); werr != nil {
				break
			}
			if total := p.upstream.Add(int64(n)); !p.stopped.Load() && p.cutsSoFar() < maxCuts && total/p.cutEvery != (total-int64(n))/p.cutEvery {
				cut.Store(true)
			}
		}
		if err != nil {
			break
		}
	}
	up.Close()
}

// maxCuts bounds the replies a proxy drops, so that a client cut at every
// request still finishes once the cuts run out.
const maxCuts = 3

func (p *cuttingProxy) cutsSoFar() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

func (p *cuttingProxy) forwardDown(up, c net.Conn, cut *atomic.Bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 && cut.Load() {
			p.mu.Lock()
			p.cuts++
			p.mu.Unlock()
			break
		}
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	c.Close()
	up.Close()
}

// scrapeMetric reads one counter from the broker's Prometheus handler.
func scrapeMetric(t *testing.T, srv *broker.Server, name string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// TestIdempotentThroughCutConnections streams keyed records from sarama's
// idempotent producer and franz-go's default (idempotent) producer through
// a proxy that keeps cutting connections: every record arrives exactly
// once, in per-key order.
func TestIdempotentThroughCutConnections(t *testing.T) {
	for _, client := range []string{"sarama", "kgo"} {
		t.Run(client, func(t *testing.T) {
			ctx := testCtx(t)
			// kgo compresses its batches of tiny records: cut it more
			// often so that it too crosses the mark several times.
			cutEvery := int64(20 << 10)
			if client == "kgo" {
				cutEvery = 4 << 10
			}
			proxy := newCuttingProxy(t, cutEvery)
			b := brokertest.StartConfig(t, broker.Config{Advertise: proxy.ln.Addr().String()})
			proxy.target = b.Addr
			go proxy.serve()
			const keys, perKey = 4, 500
			switch client {
			case "sarama":
				produceSaramaIdempotent(t, proxy.ln.Addr().String(), keys, perKey)
			case "kgo":
				cl := newKgo(t, proxy.ln.Addr().String(), kgo.DefaultProduceTopic("cut"), kgo.ProducerLinger(time.Millisecond))
				for i := 0; i < perKey; i++ {
					for k := 0; k < keys; k++ {
						cl.Produce(ctx, &kgo.Record{Key: []byte(fmt.Sprint("car-", k)), Value: []byte(fmt.Sprintf("%05d", i))}, func(_ *kgo.Record, err error) {
							if err != nil {
								t.Errorf("produce: %v", err)
							}
						})
					}
				}
				if err := cl.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
			// The broker advertises the proxy, so the consumer goes
			// through it too: stop cutting first.
			proxy.stopped.Store(true)
			dups := scrapeMetric(t, b.Server, "pitwall_broker_duplicate_batches_total")
			t.Logf("%d replies dropped, %v retried batches answered as duplicates", proxy.cuts, dups)
			if dups == 0 {
				t.Error("no retried batch reached the broker: the test did not exercise idempotence")
			}

			cons := newKgo(t, b.Addr, kgo.ConsumeTopics("cut"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			seen := map[string][]string{}
			for n := 0; n < keys*perKey; {
				fs := cons.PollFetches(ctx)
				if err := fs.Err0(); err != nil {
					t.Fatal(err)
				}
				fs.EachRecord(func(r *kgo.Record) { n++; seen[string(r.Key)] = append(seen[string(r.Key)], string(r.Value)) })
			}
			for k := 0; k < keys; k++ {
				vals := seen[fmt.Sprint("car-", k)]
				if len(vals) != perKey {
					t.Errorf("car-%d: %d records, want %d", k, len(vals), perKey)
				}
				for i, v := range vals {
					if v != fmt.Sprintf("%05d", i) {
						t.Errorf("car-%d: record %d is %s (duplicate or out of order)", k, i, v)
						break
					}
				}
			}
		})
	}
}

func produceSaramaIdempotent(t *testing.T, addr string, keys, perKey int) {
	cfg := sarama.NewConfig()
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Retry.Max = 1000
	cfg.Producer.Retry.Backoff = 5 * time.Millisecond
	cfg.Net.MaxOpenRequests = 1
	cfg.Metadata.Retry.Backoff = 5 * time.Millisecond
	cfg.Metadata.AllowAutoTopicCreation = true
	prod, err := sarama.NewAsyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := 0; i < perKey; i++ {
			for k := 0; k < keys; k++ {
				prod.Input() <- &sarama.ProducerMessage{Topic: "cut", Key: sarama.StringEncoder(fmt.Sprint("car-", k)), Value: sarama.StringEncoder(fmt.Sprintf("%05d", i))}
			}
		}
	}()
	stuck := time.After(2 * time.Minute)
	for n := 0; n < keys*perKey; n++ {
		select {
		case <-prod.Successes():
		case err := <-prod.Errors():
			t.Fatalf("sarama: %v", err)
		case <-stuck:
			t.Fatalf("sarama: %d of %d messages acknowledged after two minutes", n, keys*perKey)
		}
	}
	if err := prod.Close(); err != nil {
		t.Fatal(err)
	}
}
