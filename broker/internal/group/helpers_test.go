package group

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// memStore is an in-memory Store: one ordered log of every record, so a
// test can replay it into a new coordinator. When gate is set, writes
// become durable only once it is closed.
type memStore struct {
	mu   sync.Mutex
	recs []Record
	gate chan struct{}
	fail error
}

func (s *memStore) Append(_ string, recs []Record) (func(context.Context) error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	s.recs = append(s.recs, recs...)
	gate := s.gate
	return func(ctx context.Context) error {
		if gate == nil {
			return nil
		}
		select {
		case <-gate:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, nil
}

// replay feeds every record to a new Replayer.
func (s *memStore) replay(t *testing.T) *Replayer {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := NewReplayer()
	for _, rec := range s.recs {
		if err := r.Apply(rec.Key, rec.Value); err != nil {
			t.Fatalf("replay: %v", err)
		}
	}
	return r
}

const (
	session   = 10 * time.Second
	rebalance = 30 * time.Second
)

func testConfig() Config {
	return Config{Logger: slog.New(slog.DiscardHandler)}
}

// harness is a coordinator over a memStore, started inside the caller's
// synctest bubble.
type harness struct {
	t     *testing.T
	c     *Coordinator
	store *memStore
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, store: &memStore{}}
	h.start(cfg, nil)
	return h
}

func (h *harness) start(cfg Config, r *Replayer) {
	h.t.Helper()
	c, err := New(cfg, h.store, r)
	if err != nil {
		h.t.Fatal(err)
	}
	h.c = c
	h.t.Cleanup(c.Close)
}

// subscription is a ConsumerMemberMetadata for topics.
func subscription(topics ...string) []byte {
	m := kmsg.ConsumerMemberMetadata{Topics: topics}
	return m.AppendTo(nil)
}

// assignment is a ConsumerMemberAssignment of partitions of topic t.
func assignment(t string, parts ...int32) []byte {
	a := kmsg.ConsumerMemberAssignment{Topics: []kmsg.ConsumerMemberAssignmentTopic{{Topic: t, Partitions: parts}}}
	return a.AppendTo(nil)
}

// joinReq is a consumer's JoinGroup (v4+) for group "g".
func joinReq(client string, protocols ...string) JoinRequest {
	if len(protocols) == 0 {
		protocols = []string{"range"}
	}
	req := JoinRequest{
		Group: "g", ClientID: client, ClientHost: "/127.0.0.1",
		SessionTimeout: session, RebalanceTimeout: rebalance,
		ProtocolType: "consumer", RequireKnownMemberID: true,
	}
	for _, p := range protocols {
		req.Protocols = append(req.Protocols, Protocol{Name: p, Metadata: subscription("t")})
	}
	return req
}

// memberID gets a member id: the first join of a v4+ dynamic member.
func (h *harness) memberID(req JoinRequest) string {
	h.t.Helper()
	req.MemberID = ""
	r := <-h.c.Join(req)
	if !errors.Is(r.Err, ErrMemberIDRequired) || r.MemberID == "" {
		h.t.Fatalf("first join: %+v, want ErrMemberIDRequired with an id", r)
	}
	return r.MemberID
}

func (h *harness) mustJoin(ch <-chan JoinResult) JoinResult {
	h.t.Helper()
	r := <-ch
	if r.Err != nil {
		h.t.Fatalf("join: %v", r.Err)
	}
	return r
}

func (h *harness) mustSync(ch <-chan SyncResult) SyncResult {
	h.t.Helper()
	r := <-ch
	if r.Err != nil {
		h.t.Fatalf("sync: %v", r.Err)
	}
	return r
}

func (h *harness) sync(id string, gen int32, as ...Assignment) <-chan SyncResult {
	return h.c.Sync(SyncRequest{Group: "g", Generation: gen, MemberID: id, Assignments: as})
}

func (h *harness) heartbeat(id string, gen int32) error {
	return h.c.Heartbeat(HeartbeatRequest{Group: "g", Generation: gen, MemberID: id})
}

func (h *harness) commit(id string, gen int32, offs ...PartitionOffset) CommitResult {
	return <-h.c.CommitOffsets(CommitRequest{Group: "g", Generation: gen, MemberID: id, Offsets: offs})
}

func (h *harness) state() State {
	d, _ := h.c.Describe("g")
	return d.State
}

// stableGroup makes a Stable group "g" of n dynamic members (ids in join
// order, the first the leader) where member i owns partition i of "t".
func (h *harness) stableGroup(n int) (ids []string, gen int32) {
	h.t.Helper()
	reqs := make([]JoinRequest, n)
	for i := range reqs {
		reqs[i] = joinReq(string(rune('a' + i)))
		reqs[i].MemberID = h.memberID(reqs[i])
		ids = append(ids, reqs[i].MemberID)
	}
	chans := make([]<-chan JoinResult, n)
	for i := range reqs {
		chans[i] = h.c.Join(reqs[i])
	}
	for i := range chans {
		r := h.mustJoin(chans[i])
		gen = r.Generation
	}
	var as []Assignment
	for i, id := range ids {
		as = append(as, Assignment{MemberID: id, Data: assignment("t", int32(i))})
	}
	syncs := make([]<-chan SyncResult, n)
	for i := n - 1; i >= 0; i-- { // followers first, the leader last
		syncs[i] = h.sync(ids[i], gen, as...)
	}
	for i := range syncs {
		h.mustSync(syncs[i])
	}
	if s := h.state(); s != Stable {
		h.t.Fatalf("state %v after every sync, want Stable", s)
	}
	return ids, gen
}

func po(topic string, p int32, off int64) PartitionOffset {
	return PartitionOffset{TopicPartition: TopicPartition{topic, p}, Offset: Offset{Offset: off, LeaderEpoch: -1}}
}

// ready reports whether ch has a value now (after the bubble settled).
func ready[T any](ch <-chan T) (T, bool) {
	select {
	case v := <-ch:
		return v, true
	default:
		var zero T
		return zero, false
	}
}
