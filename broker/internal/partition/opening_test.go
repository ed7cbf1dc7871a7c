package partition

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fillTopics creates n topics of parts partitions with one plain batch
// in each partition and closes the registry.
func fillTopics(t *testing.T, dir string, n int, parts int32) {
	t.Helper()
	r := open(t, dir)
	createTopics(t, r, n, parts)
	for _, tp := range r.All() {
		for _, p := range tp.Partitions() {
			b, h := plainBatch(0)
			if _, err := p.Append(b, h); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenInBackground: with the background workers held, every topic is
// listed at once, no partition is open, and a partition asked for opens
// on demand and serves; released, the workers open the rest.
func TestOpenInBackground(t *testing.T) {
	dir := t.TempDir()
	fillTopics(t, dir, 10, 5)
	release := make(chan struct{})
	cfg := testConfig(dir)
	cfg.OpenInBackground = true
	cfg.beforeBackgroundOpen = func(*Partition) { <-release }
	r, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 10 {
		t.Fatalf("%d topics listed while opening, want 10", r.Len())
	}
	t3 := r.Lookup("t3")
	for i := range int32(5) {
		if open, err := t3.PartitionOpen(i); open || err != nil {
			t.Fatalf("t3/%d open (%v, %v) with the workers held", i, open, err)
		}
	}
	p, err := t3.Partition(2) // on demand
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.Log().Read(0, 1<<20, nil); err != nil || len(got) == 0 {
		t.Fatalf("on-demand partition read %d bytes, %v", len(got), err)
	}
	if open, err := t3.PartitionOpen(2); !open || err != nil {
		t.Fatalf("t3/2 after use: open %v, %v", open, err)
	}
	select {
	case <-r.Opened():
		t.Fatal("Opened closed with the workers held")
	default:
	}
	close(release)
	<-r.Opened()
	if err := r.OpenErr(); err != nil {
		t.Fatal(err)
	}
	for _, tp := range r.All() {
		for i := range int32(tp.NumPartitions()) {
			if open, err := tp.PartitionOpen(i); !open || err != nil {
				t.Fatalf("%s/%d after the opening: %v, %v", tp.Name(), i, open, err)
			}
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCloseWhileOpening: Close during the background opening stops it,
// closes what opened, and leaves every partition intact for the next open.
func TestCloseWhileOpening(t *testing.T) {
	dir := t.TempDir()
	fillTopics(t, dir, 20, 10)
	release := make(chan struct{})
	cfg := testConfig(dir)
	cfg.OpenInBackground = true
	cfg.beforeBackgroundOpen = func(*Partition) { <-release }
	r, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error)
	go func() { closed <- r.Close() }()
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	r = open(t, dir)
	defer r.Close()
	for _, tp := range r.All() {
		for _, p := range tp.Partitions() {
			if p.Log().EndOffset() != 1 || !p.Log().Stats().Recovery.Clean {
				t.Fatalf("%s/%d after a close mid-opening: LEO %d, recovery %+v", tp.Name(), p.Index(), p.Log().EndOffset(), p.Log().Stats().Recovery)
			}
		}
	}
}

// TestBackgroundOpenFailure: a partition that cannot be opened is
// reported by OpenErr, named, and refused to requests; the others serve.
func TestBackgroundOpenFailure(t *testing.T) {
	dir := t.TempDir()
	fillTopics(t, dir, 3, 4)
	// An unreadable compaction manifest makes the log refuse to open.
	if err := os.WriteFile(filepath.Join(dir, "topics", "t1", "2", "compaction-swap"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(dir)
	cfg.OpenInBackground = true
	r, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	<-r.Opened()
	if err := r.OpenErr(); err == nil || !strings.Contains(err.Error(), "topic t1 partition 2") {
		t.Fatalf("OpenErr %v, want one naming t1 partition 2", err)
	}
	if _, err := r.Partition("t1", 2); err == nil {
		t.Fatal("the broken partition was handed out")
	}
	if open, err := r.Lookup("t1").PartitionOpen(2); open || err == nil {
		t.Fatalf("broken partition: open %v, %v", open, err)
	}
	if n := len(r.Lookup("t1").Partitions()); n != 3 {
		t.Fatalf("t1 lists %d usable partitions, want 3", n)
	}
	if _, err := r.Partition("t2", 2); err != nil {
		t.Fatal(err)
	}
}

// TestPartitionLimit: creating topics past MaxTotalPartitions is refused
// with an error naming the limit (validate-only too), internal topics
// excepted; deleting makes room again; the limit is logged at Open and
// reported by Stats.
func TestPartitionLimit(t *testing.T) {
	var logs lockedBuffer
	cfg := testConfig(t.TempDir())
	cfg.MaxTotalPartitions = 10
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	r, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n := logs.count("partitions_allowed=10"); n != 1 {
		t.Fatalf("the open log names the limit %d times:\n%s", n, logs.b.String())
	}
	if _, err := r.Create("a", 6, nil, false); err != nil {
		t.Fatal(err)
	}
	for _, validateOnly := range []bool{true, false} {
		_, err := r.Create("b", 5, nil, validateOnly)
		if !errors.Is(err, ErrTooManyPartitions) || !errors.Is(err, ErrInvalidPartitions) || !strings.Contains(err.Error(), "holds 6 of the 10") {
			t.Fatalf("Create past the limit (validate only %v): %v", validateOnly, err)
		}
	}
	if _, err := r.Create("__consumer_offsets", 5, nil, false); err != nil {
		t.Fatalf("internal topic refused: %v", err)
	}
	if st := r.Stats(); st.Partitions != 11 || st.MaxPartitions != 10 || st.FileBudget == 0 || st.FileLimit == 0 {
		t.Fatalf("stats %+v", st)
	}
	if err := r.Delete("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create("b", 4, nil, false); err != nil {
		t.Fatalf("room made by a deletion: %v", err)
	}
}

// TestProducerStateOnFirstNeed: a restarted partition reads its producer
// state only when an idempotent producer writes (an unreadable file does
// not stop an idle open and close), and a snapshot that does not parse is
// rebuilt from the log.
func TestProducerStateOnFirstNeed(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir)
	if _, err := r.Create("cars", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	p := mustPartition(t, r, "cars", 0)
	for seq := range int32(3) {
		b, h := idempotentBatch(9, 0, seq)
		if _, err := p.Append(b, h); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "topics", "cars", "0", producerStateFile)
	if err := os.Rename(state, state+".saved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(state, 0o755); err != nil { // reading it fails
		t.Fatal(err)
	}
	r = open(t, dir)
	b, h := plainBatch(0) // no producer: no state needed
	if _, err := mustPartition(t, r, "cars", 0).Append(b, h); err != nil {
		t.Fatal(err)
	}
	if _, err := mustPartition(t, r, "cars", 0).Append(idempotentBatch(9, 0, 3)); err == nil {
		t.Fatal("idempotent append with unreadable producer state succeeded")
	}
	if err := r.Close(); err == nil {
		t.Fatal("close after appends with unreadable producer state: no error")
	}
	if err := os.Remove(state); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	cfg := testConfig(dir)
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	r, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a, err := mustPartition(t, r, "cars", 0).Append(idempotentBatch(9, 0, 1))
	if err != nil || !a.Duplicate || a.Base != 1 {
		t.Fatalf("retry after the state was rebuilt from the log: %+v, %v", a, err)
	}
	if logs.count("producer state unreadable") != 1 {
		t.Fatalf("no warning about the unreadable state:\n%s", logs.b.String())
	}
}
