package group

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestCommitAnsweredOnlyWhenDurable: a commit is neither answered nor
// visible until the store says it is durable.
func TestCommitAnsweredOnlyWhenDurable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, testConfig())
		h.store.gate = make(chan struct{})
		ch := h.c.CommitOffsets(CommitRequest{Group: "simple", Generation: -1, Offsets: []PartitionOffset{po("t", 0, 10)}})
		ch2 := h.c.CommitOffsets(CommitRequest{Group: "simple", Generation: -1, Offsets: []PartitionOffset{po("t", 0, 20)}})
		synctest.Wait()
		if r, ok := ready(ch); ok {
			t.Fatalf("commit answered before it was durable: %+v", r)
		}
		if got, _ := h.c.FetchOffsets("simple", []TopicPartition{{"t", 0}}); got[0].Offset.Offset != -1 {
			t.Fatalf("offset %d visible before it was durable", got[0].Offset.Offset)
		}
		close(h.store.gate)
		for _, c := range []<-chan CommitResult{ch, ch2} {
			if r := <-c; r.Err != nil || r.Errs[0] != nil {
				t.Fatalf("commit: %+v", r)
			}
		}
		if got, _ := h.c.FetchOffsets("simple", []TopicPartition{{"t", 0}}); got[0].Offset.Offset != 20 {
			t.Fatalf("offset %d after both commits, want the later one", got[0].Offset.Offset)
		}
	})
}

// TestCommitStoreFailure: a commit the store refuses is answered with
// ErrNotAvailable and changes nothing.
func TestCommitStoreFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, testConfig())
		ids, gen := h.stableGroup(1)
		h.store.fail = errors.New("disk on fire")
		r := h.commit(ids[0], gen, po("t", 0, 5))
		if r.Err != nil || !errors.Is(r.Errs[0], ErrNotAvailable) {
			t.Fatalf("commit to a failing store: %+v", r)
		}
		if got, _ := h.c.FetchOffsets("g", nil); len(got) != 0 {
			t.Fatalf("offsets after a failed commit: %+v", got)
		}
	})
}

// TestReplayRestoresGroups stops a coordinator, replays its records into
// a new one and checks that everything clients rely on survived: offsets
// with metadata and leader epochs, a Stable group whose members carry on
// heartbeating, an Empty group listed with its offsets, a deleted group
// gone.
func TestReplayRestoresGroups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, testConfig())
		ids, gen := h.stableGroup(2)
		off := po("t", 0, 100)
		off.LeaderEpoch, off.Metadata = 7, "lap 12"
		if r := h.commit(ids[0], gen, off, po("t", 1, 200)); r.Err != nil || r.Errs[0] != nil || r.Errs[1] != nil {
			t.Fatalf("commit: %+v", r)
		}
		for _, g := range []string{"simple", "gone"} {
			if r := <-h.c.CommitOffsets(CommitRequest{Group: g, Generation: -1, Offsets: []PartitionOffset{po("u", 3, 33)}}); r.Err != nil {
				t.Fatal(r.Err)
			}
		}
		if err := <-h.c.Delete("gone"); err != nil {
			t.Fatalf("delete: %v", err)
		}
		h.c.Close()

		h.start(testConfig(), h.store.replay(t))
		got, _ := h.c.FetchOffsets("g", nil)
		if len(got) != 2 || got[0].Offset.Offset != 100 || got[0].LeaderEpoch != 7 || got[0].Metadata != "lap 12" || got[1].Offset.Offset != 200 {
			t.Fatalf("offsets after replay: %+v", got)
		}
		d, err := h.c.Describe("g")
		if err != nil || d.State != Stable || len(d.Members) != 2 || d.Protocol != "range" {
			t.Fatalf("group after replay: %+v %v", d, err)
		}
		if !bytes.Equal(d.Members[1].Assignment, assignment("t", 1)) || d.Members[0].ClientHost != "/127.0.0.1" {
			t.Errorf("member after replay: %+v", d.Members[1])
		}
		for _, id := range ids {
			if err := h.heartbeat(id, gen); err != nil {
				t.Errorf("member %s's heartbeat after replay: %v", id, err)
			}
		}
		want := []Listing{{"g", "consumer", Stable}, {"simple", "", Empty}}
		if l := h.c.List(); len(l) != 2 || l[0] != want[0] || l[1] != want[1] {
			t.Errorf("list after replay: %+v, want %+v", l, want)
		}
		if got, _ := h.c.FetchOffsets("gone", []TopicPartition{{"u", 3}}); got[0].Offset.Offset != -1 {
			t.Errorf("deleted group's offset %d after replay", got[0].Offset.Offset)
		}
	})
}

// TestEmptyGroupOffsetsExpire: the offsets of a consumer group that went
// Empty expire OffsetsRetention later, and the group goes with them.
func TestEmptyGroupOffsetsExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.OffsetsRetention = time.Hour
		h := newHarness(t, cfg)
		ids, gen := h.stableGroup(1)
		h.commit(ids[0], gen, po("t", 0, 9))
		if errs, err := h.c.Leave("g", []MemberIdentity{{MemberID: ids[0]}}); err != nil || errs[0] != nil {
			t.Fatalf("leave: %v %v", errs, err)
		}
		if s := h.state(); s != Empty {
			t.Fatalf("state %v after the last member left", s)
		}
		time.Sleep(time.Hour - time.Second)
		if got, _ := h.c.FetchOffsets("g", nil); len(got) != 1 {
			t.Fatalf("offsets before retention passed: %+v", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if l := h.c.List(); len(l) != 0 {
			t.Fatalf("list after retention: %+v, want no group", l)
		}
		h.c.Close()
		h.start(cfg, h.store.replay(t))
		if l := h.c.List(); len(l) != 0 {
			t.Fatalf("list after replay: %+v, want no group (tombstones written)", l)
		}
	})
}

// TestDeleteOffsetsOfSubscribedTopic: an active consumer group's offsets
// may be deleted only for topics it does not subscribe to.
func TestDeleteOffsetsOfSubscribedTopic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, testConfig())
		ids, gen := h.stableGroup(1) // subscribed to "t"
		h.commit(ids[0], gen, po("t", 0, 1), po("old", 0, 2))
		r := <-h.c.DeleteOffsets("g", []TopicPartition{{"t", 0}, {"old", 0}})
		if r.Err != nil || !errors.Is(r.Errs[0], ErrSubscribedToTopic) || r.Errs[1] != nil {
			t.Fatalf("offset delete: %+v", r)
		}
		got, _ := h.c.FetchOffsets("g", nil)
		if len(got) != 1 || got[0].Topic != "t" {
			t.Fatalf("offsets left: %+v, want only t/0", got)
		}
	})
}

// TestReplayRejectsBadRecords: records that are not Kafka's layouts are
// refused with an error and change nothing.
func TestReplayRejectsBadRecords(t *testing.T) {
	r := NewReplayer()
	good := offsetRecord("g", po("t", 0, 5))
	for _, c := range []struct {
		key, value []byte
		want       error
	}{
		{[]byte{0}, nil, ErrBadRecord},
		{good.Key[:len(good.Key)-1], good.Value, ErrBadRecord},
		{good.Key, good.Value[:5], ErrBadRecord},
		{[]byte{0, 2, 0}, nil, ErrBadRecord},
		{[]byte{0, 9, 1, 2}, []byte{1}, ErrUnknownRecord},
		{good.Key, append([]byte{0, 99}, good.Value[2:]...), ErrBadRecord},
	} {
		if err := r.Apply(c.key, c.value); !errors.Is(err, c.want) {
			t.Errorf("Apply(%x, %x) = %v, want %v", c.key, c.value, err, c.want)
		}
	}
	if len(r.groups) != 0 {
		t.Errorf("bad records left state: %+v", r.groups)
	}
	// Kafka's own encoding of an older value version is read too.
	v1 := kmsg.OffsetCommitValue{Version: 1, Offset: 77, Metadata: "m", CommitTimestamp: 1, ExpireTimestamp: 2}
	if err := r.Apply(good.Key, v1.AppendTo(nil)); err != nil || r.groups["g"].offsets[TopicPartition{"t", 0}].Offset != 77 {
		t.Errorf("value version 1: %v", err)
	}
}

// FuzzReplay feeds arbitrary records to a Replayer and starts a
// coordinator from the result: nothing may panic, and the coordinator
// must answer for every group it lists.
func FuzzReplay(f *testing.F) {
	meta := kmsg.GroupMetadataValue{Version: 3, ProtocolType: "consumer", Generation: 4, Protocol: optional("range"), Leader: optional("m1")}
	vm := kmsg.NewGroupMetadataValueMember()
	vm.MemberID, vm.InstanceID, vm.SessionTimeoutMillis, vm.Subscription = "m1", optional("i"), 10000, subscription("t")
	meta.Members = append(meta.Members, vm, vm)
	f.Add(groupKey("g"), meta.AppendTo(nil), true)
	rec := offsetRecord("g", po("t", 1, 2))
	f.Add(rec.Key, rec.Value, false)
	f.Add(groupKey("g"), []byte(nil), true)
	f.Fuzz(func(t *testing.T, key, value []byte, tombstoneAfter bool) {
		r := NewReplayer()
		if r.Apply(key, value) != nil {
			return
		}
		if tombstoneAfter {
			r.Apply(key, nil)
		}
		c, err := New(Config{Logger: slog.New(slog.DiscardHandler)}, &memStore{}, r)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, l := range c.List() {
			// A listed group may expire (old commit times) right after.
			if _, err := c.Describe(l.Group); err != nil && !errors.Is(err, ErrGroupNotFound) {
				t.Fatalf("listed group %q: %v", l.Group, err)
			}
			c.FetchOffsets(l.Group, nil)
		}
	})
}
