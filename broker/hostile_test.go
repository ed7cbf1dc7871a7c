package broker

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/partition"
)

// Hostile clients, as issue 12 found them: each test failed before the
// broker bounded what a connection may make it hold.

// heapInUse is the test process's heap in use (the broker runs in it).
// heapInUse is the live heap: garbage is collected first, so what other
// goroutines of the test binary allocated and dropped (the last test's
// broker shutting down, say) does not count, only what is held.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// waitUntil polls cond until it holds, calling sample on every round (to
// track a peak, say); it fails the test after a minute.
func waitUntil(t *testing.T, what string, cond func() bool, sample func()) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if sample != nil {
			sample()
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hostileConns runs n connections to addr, each running fn on its own
// goroutine; the returned function reports how many have ended (the
// broker closed them).
func hostileConns(t *testing.T, addr string, n int, fn func(nc net.Conn)) (ended func() int) {
	t.Helper()
	var mu sync.Mutex
	done := 0
	for range n {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		go func() {
			fn(nc)
			mu.Lock()
			done++
			mu.Unlock()
		}()
	}
	return func() int { mu.Lock(); defer mu.Unlock(); return done }
}

// Case 1: connections that announce a 100 MiB request, send 8 MiB of it
// and stall hold no more than the request budget (plus the one request
// allowed past it) and are closed after RequestTimeout; the budget is all
// given back.
func TestStalledRequestsHoldBoundedMemory(t *testing.T) {
	const budget, conns, sent = 16 << 20, 8, 8 << 20
	s := startServer(t, Config{MaxInflightRequestBytes: budget, RequestTimeout: 300 * time.Millisecond, Logger: discardLogger()})
	payload := make([]byte, 4+sent)
	binary.BigEndian.PutUint32(payload, DefaultMaxRequestBytes-1)
	copy(payload[4:], []byte{0, 0, 0, 7, 0, 0, 0, 1, 0xff, 0xff}) // Produce v7, corr 1, null client id
	runtime.GC()
	base, peak := heapInUse(), int64(0)
	ended := hostileConns(t, s.Addr(), conns, func(nc net.Conn) {
		nc.Write(payload)       // blocks while the broker waits for budget
		io.Copy(io.Discard, nc) // until the broker closes it
	})
	waitUntil(t, "the stalled connections to be closed", func() bool { return ended() == conns }, func() {
		peak = max(peak, heapInUse()-base)
	})
	// Before: 100 MiB allocated per connection at its length prefix.
	if limit := int64(4 * budget); peak > limit {
		t.Errorf("heap grew by %d MiB with %d stalled requests, want at most %d MiB", peak>>20, conns, limit>>20)
	}
	if n := testutil.ToFloat64(s.metrics.connectionsClosed.WithLabelValues("request_timeout")); n != conns {
		t.Errorf("%v connections closed for request_timeout, want %d", n, conns)
	}
	waitUntil(t, "the request budget to be given back", func() bool { return s.requestBudget.inUse() == 0 }, nil)
	t.Logf("heap peak +%d MiB over %d stalled 100 MiB requests", peak>>20, conns)
}

// A request larger than the whole request budget is still read and
// answered (the oldest request may go past the budget).
func TestRequestLargerThanBudget(t *testing.T) {
	s := startServer(t, Config{MaxInflightRequestBytes: 1 << 20, MaxMessageBytes: 4 << 20})
	if _, err := s.topics.Create("big", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrProduceRequest()
	req.Acks = 1
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "big"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = rawBatch(3 << 20)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	c := dialRaw(t, s.Addr())
	c.send(req, 7, 1)
	resp := kmsg.NewPtrProduceResponse()
	resp.SetVersion(7)
	if err := resp.ReadFrom(c.mustRecv(1)); err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("error %v", kerr.ErrorForCode(code))
	}
}

// Case 2: clients that pipeline fetches and never read the replies hold
// no more than FetchMemory (plus a batch per fetch), are closed once a
// reply waits RequestTimeout for them, and consumers then read as before.
func TestUnreadFetchesHoldBoundedMemory(t *testing.T) {
	const fetchMemory, conns = 16 << 20, 6
	s := startServer(t, Config{FetchMemory: fetchMemory, RequestTimeout: 300 * time.Millisecond, Logger: discardLogger()})
	tp, err := s.topics.Create("unread", 1, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	var last partition.Appended
	for range 48 {
		if _, last, err = s.produceTo(tp, 0, rawBatch(512<<10)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tp.Partitions()[0].Log().Sync(t.Context(), last.End); err != nil {
		t.Fatal(err)
	}
	fetch := fetchRequest("unread", 64<<20)
	fetch.MaxWaitMillis = 100
	fetch.SetVersion(11)
	var f kmsg.RequestFormatter
	frame := f.AppendRequest(nil, fetch, 1)
	runtime.GC()
	base, peak := heapInUse(), int64(0)
	ended := hostileConns(t, s.Addr(), conns, func(nc net.Conn) {
		for { // pipeline fetches, never read a reply
			if _, err := nc.Write(frame); err != nil {
				return
			}
		}
	})
	waitUntil(t, "the unread connections to be closed", func() bool { return ended() == conns }, func() {
		peak = max(peak, heapInUse()-base)
	})
	// Before: two 24 MiB replies per connection (288 MiB), held for
	// ever. Now fetch memory, a batch past it per fetch, and freed buffers
	// the pools keep until the next GC.
	if limit := int64(5 * fetchMemory); peak > limit {
		t.Errorf("heap grew by %d MiB with %d unread fetchers, want at most %d MiB", peak>>20, conns, limit>>20)
	}
	if n := testutil.ToFloat64(s.metrics.connectionsClosed.WithLabelValues("reply_timeout")); n < conns {
		t.Errorf("%v connections closed for reply_timeout, want %d", n, conns)
	}
	waitUntil(t, "fetch memory to be given back", func() bool { return s.fetchBudget.inUse() == 0 }, nil)
	c := dialRaw(t, s.Addr())
	c.send(fetchRequest("unread", 1<<20), 11, 2)
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = 11
	if err := resp.ReadFrom(c.mustRecv(2)); err != nil {
		t.Fatal(err)
	}
	if n := len(resp.Topics[0].Partitions[0].RecordBatches); n == 0 {
		t.Fatal("a fetch after the hostile clients left got no records")
	}
	t.Logf("heap peak +%d MiB over %d unread fetchers", peak>>20, conns)
}

// A fetch finding fetch memory spent answers with nothing (within its
// MaxWait) rather than going past it, and gets data once memory frees.
func TestFetchMemorySpent(t *testing.T) {
	s := startServer(t, Config{FetchMemory: 1 << 20})
	tp, err := s.topics.Create("spent", 1, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	_, last, err := s.produceTo(tp, 0, rawBatch(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.Partitions()[0].Log().Sync(t.Context(), last.End); err != nil {
		t.Fatal(err)
	}
	s.fetchBudget.take(1 << 20)
	resp, enough, _ := s.fetchOnce(fetchRequest("spent", 1<<20))
	if enough || len(resp.Topics[0].Partitions[0].RecordBatches) != 0 {
		t.Fatalf("with fetch memory spent: enough %v, %d bytes", enough, len(resp.Topics[0].Partitions[0].RecordBatches))
	}
	resp.release()
	s.fetchBudget.release(1 << 20)
	resp, enough, _ = s.fetchOnce(fetchRequest("spent", 1<<20))
	if !enough || len(resp.Topics[0].Partitions[0].RecordBatches) == 0 || s.fetchBudget.inUse() == 0 {
		t.Fatalf("with fetch memory free: enough %v, %d bytes, %d held", enough, len(resp.Topics[0].Partitions[0].RecordBatches), s.fetchBudget.inUse())
	}
	resp.release()
	if n := s.fetchBudget.inUse(); n != 0 {
		t.Fatalf("%d bytes of fetch memory still held after release", n)
	}
}

// Case 3: idle connections are closed after ConnectionsMaxIdle, but not
// while a reply is owed to them.
func TestIdleConnectionsClosed(t *testing.T) {
	s := startServer(t, Config{ConnectionsMaxIdle: 200 * time.Millisecond})
	if _, err := s.topics.Create("quiet", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	idle := dialRaw(t, s.Addr())
	idle.send(kmsg.NewPtrApiVersionsRequest(), 3, 1)
	idle.mustRecv(1)
	if b, err := idle.recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: got %x, %v; want it closed", b, err)
	}
	if n := testutil.ToFloat64(s.metrics.connectionsClosed.WithLabelValues("idle")); n != 1 {
		t.Errorf("%v idle closes counted, want 1", n)
	}
	// A long poll outlasting the idle limit is answered.
	polling := dialRaw(t, s.Addr())
	fetch := fetchRequest("quiet", 1<<20)
	fetch.MaxWaitMillis, fetch.MinBytes = 600, 1
	polling.send(fetch, 11, 2)
	polling.mustRecv(2)
}

// Case 3: connections past MaxConnectionsPerIP or MaxConnections are
// closed at once and said so in the log; the others are served.
func TestConnectionLimits(t *testing.T) {
	var logs syncBuffer
	s := startServer(t, Config{MaxConnections: 7, MaxConnectionsPerIP: 3,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	dialFrom := func(ip string) *rawConn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		nc, err := d.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(time.Minute))
		t.Cleanup(func() { nc.Close() })
		return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
	}
	served := func(c *rawConn) bool {
		c.send(kmsg.NewPtrApiVersionsRequest(), 3, 1)
		_, err := c.recv()
		return err == nil
	}
	for _, ip := range []string{"127.0.0.1", "127.0.0.2"} {
		for i := range 3 {
			if !served(dialFrom(ip)) {
				t.Fatalf("connection %d from %s refused within the limits", i, ip)
			}
		}
		if served(dialFrom(ip)) {
			t.Fatalf("a 4th connection from %s was served (MaxConnectionsPerIP 3)", ip)
		}
	}
	if !served(dialFrom("127.0.0.3")) {
		t.Fatal("a 7th connection was refused (MaxConnections 7)")
	}
	if served(dialFrom("127.0.0.4")) {
		t.Fatal("an 8th connection was served (MaxConnections 7)")
	}
	for _, want := range []string{"--max-connections-per-ip 3", "--max-connections 7"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log does not name %q:\n%s", want, logs.String())
		}
	}
	if n := testutil.ToFloat64(s.metrics.connectionsClosed.WithLabelValues("max_connections_per_ip")); n != 2 {
		t.Errorf("%v per-IP refusals counted, want 2", n)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Case 3: a member whose connection closes while it waits in JoinGroup
// leaves the group at once, and so does a member id handed out with
// MEMBER_ID_REQUIRED to a client that closed before joining with it: the
// rebalance neither waits for them nor counts them.
func TestClosedConnectionsLeaveJoins(t *testing.T) {
	s := startServer(t, Config{Logger: discardLogger()})
	const group = "phantoms"
	a := dialK(t, s.Addr())
	ja, corr := a.joinNew(group, 3)
	r := a.recv(ja, corr).(*kmsg.JoinGroupResponse)
	wantCode(t, "first join", r.ErrorCode, nil)
	ja.MemberID = r.MemberID
	sr := kmsg.NewPtrSyncGroupRequest()
	sr.Group, sr.MemberID, sr.Generation = group, ja.MemberID, r.Generation
	wantCode(t, "sync", a.do(sr, 1).(*kmsg.SyncGroupResponse).ErrorCode, nil)

	// A second member joins and waits for the first to rejoin; then its
	// client goes away.
	b := dialK(t, s.Addr())
	jb := joinRequest(group, "")
	b.send(jb, 3)
	a.awaitState(group, "PreparingRebalance")
	b.nc.Close()
	members := func() []string {
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Groups = []string{group}
		var ids []string
		for _, m := range a.do(req, 5).(*kmsg.DescribeGroupsResponse).Groups[0].Members {
			ids = append(ids, m.MemberID)
		}
		return ids
	}
	waitUntil(t, "the closed member to leave", func() bool {
		m := members()
		return len(m) == 1 && m[0] == ja.MemberID
	}, nil)

	// A client handed an id closes before joining with it (a long
	// session, so only its leaving can end the wait).
	c := dialK(t, s.Addr())
	jc := joinRequest(group, "")
	jc.SessionTimeoutMillis = 600000
	wantCode(t, "v4 first join", c.do(jc, 4).(*kmsg.JoinGroupResponse).ErrorCode, kerr.MemberIDRequired)
	c.nc.Close()

	// The first member rejoins: the rebalance completes with it alone.
	r = a.do(ja, 3).(*kmsg.JoinGroupResponse)
	wantCode(t, "rejoin", r.ErrorCode, nil)
	if len(r.Members) != 1 || r.Members[0].MemberID != ja.MemberID {
		t.Fatalf("generation %d members %+v, want only %s", r.Generation, r.Members, ja.MemberID)
	}
}
