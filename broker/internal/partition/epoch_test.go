package partition

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
)

// A single broker leads a partition at epoch 0 from its creation: Create
// records the epoch, so the first produce to each partition writes no
// leader epoch checkpoint (it used to, two fsyncs each, one partition
// after another within a produce request), and a partition never written
// keeps the entry across a restart without rewriting it.
func TestSingleBrokerLeadsFromCreation(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.LeadFromCreation = true
	r, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := r.Create("cars", 3, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []commitlog.EpochEntry{{Epoch: 0, StartOffset: 0}}
	inodes := map[int32]uint64{}
	for i := range int32(3) {
		p, _ := tp.Partition(i)
		if got := p.Log().LeaderEpochs(); !slices.Equal(got, want) {
			t.Fatalf("partition %d after Create: epochs %v, want %v", i, got, want)
		}
		inodes[i] = checkpointInode(t, p)
	}
	p0, _ := tp.Partition(0)
	b, h := idempotentBatch(7, 1, 0)
	if _, err := p0.Append(b, h); err != nil {
		t.Fatal(err)
	}
	if got := checkpointInode(t, p0); got != inodes[0] {
		t.Fatal("the first append rewrote the leader epoch checkpoint")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	r, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tp = r.Lookup("cars")
	for i := range int32(3) {
		p, err := tp.Partition(i)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Log().LeaderEpochs(); !slices.Equal(got, want) {
			t.Fatalf("partition %d after a restart: epochs %v, want %v", i, got, want)
		}
		if got := checkpointInode(t, p); got != inodes[i] {
			t.Fatalf("partition %d: the restart rewrote the leader epoch checkpoint", i)
		}
	}
}

// Without LeadFromCreation (a cluster's brokers: the controller assigns
// epochs at election) Create records none.
func TestCreateAssignsNoEpochInACluster(t *testing.T) {
	r := open(t, t.TempDir())
	defer r.Close()
	tp, err := r.Create("cars", 1, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := tp.Partition(0)
	if got := p.Log().LeaderEpochs(); len(got) != 0 {
		t.Fatalf("epochs %v after Create, want none", got)
	}
}

// checkpointInode is the inode of p's leader epoch checkpoint: a rewrite
// (temp file renamed over it) changes it.
func checkpointInode(t *testing.T, p *Partition) uint64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(p.dir, "leader-epoch-checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}
