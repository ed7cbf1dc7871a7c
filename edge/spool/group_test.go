package spool

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// Appends that arrive while one is writing go to the file together, in
// one write, and each caller gets its own batch's first index.
func TestAppendsGroup(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir()})
	batch := func(w, n int) *Batch {
		var b Batch
		for j := range n {
			r := rec(w*100+j, 40)
			if err := b.Add(&r); err != nil {
				t.Fatal(err)
			}
		}
		return &b
	}
	firsts := make([]uint64, 10)
	errs := make([]error, 10)
	var wg sync.WaitGroup
	// The first append leads and waits for mu, held here as if a write
	// were slow; nine more queue behind it meanwhile.
	s.mu.Lock()
	writes := s.writes
	wg.Add(1)
	go func() { defer wg.Done(); firsts[0], errs[0] = s.Append(batch(0, 1)) }()
	waitQueue := func(n int) {
		for {
			s.gmu.Lock()
			q, leading := len(s.queue), s.leading
			s.gmu.Unlock()
			if leading && q == n {
				return
			}
			runtime.Gosched()
		}
	}
	waitQueue(0) // the leader took its own batch
	for w := 1; w < 10; w++ {
		wg.Add(1)
		go func() { defer wg.Done(); firsts[w], errs[w] = s.Append(batch(w, w%3+1)) }()
		waitQueue(w)
	}
	s.mu.Unlock()
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("append %d: %v", w, err)
		}
	}
	s.mu.Lock()
	n := s.writes - writes
	s.mu.Unlock()
	if n != 2 {
		t.Errorf("%d writes for ten appends, nine queued together; want 2", n)
	}
	// Every record is where its Append said: the batches in queue order.
	recs := readAllRecords(t, s, 1<<20)
	want := uint64(0)
	for w := range 10 {
		if firsts[w] != want {
			t.Fatalf("append %d got first index %d, want %d", w, firsts[w], want)
		}
		for j := range w%3 + 1 {
			if w == 0 && j > 0 {
				break
			}
			if got, exp := string(recs[want].Value[:len(fmt.Sprint("v", w*100+j))]), fmt.Sprint("v", w*100+j); got != exp {
				t.Fatalf("record %d is %q, want %q", want, got, exp)
			}
			want++
		}
	}
	if uint64(len(recs)) != want {
		t.Fatalf("%d records read, want %d", len(recs), want)
	}
}

// Goroutines appending at once, each its own sequence: every record is
// read back once, each goroutine's in its order, each Append's first
// index where its batch is.
func TestConcurrentAppends(t *testing.T) {
	s := open(t, Config{Dir: t.TempDir(), SegmentBytes: 16 << 10})
	const writers, each = 8, 150
	type got struct {
		first uint64
		n     int
	}
	firsts := make([][]got, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var b Batch
				n := i%3 + 1
				for j := range n {
					r := Record{Topic: "t", Key: []byte{byte(w)}, Value: []byte(fmt.Sprintf("%d/%d/%d", w, i, j))}
					if err := b.Add(&r); err != nil {
						t.Error(err)
						return
					}
				}
				first, err := s.Append(&b)
				if err != nil {
					t.Error(err)
					return
				}
				firsts[w] = append(firsts[w], got{first, n})
			}
		}()
	}
	wg.Wait()
	recs := readAllRecords(t, s, 1<<20)
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[string(r.Value)] {
			t.Fatalf("record %q read twice", r.Value)
		}
		seen[string(r.Value)] = true
	}
	for w := range writers {
		last := int64(-1)
		for i, g := range firsts[w] {
			if int64(g.first) <= last {
				t.Fatalf("writer %d append %d at %d, after one at %d", w, i, g.first, last)
			}
			last = int64(g.first)
			for j := range g.n {
				if v := string(recs[g.first+uint64(j)].Value); v != fmt.Sprintf("%d/%d/%d", w, i, j) {
					t.Fatalf("record %d is %q, want %d/%d/%d", g.first+uint64(j), v, w, i, j)
				}
			}
		}
	}
	if want := writers * each * 2; len(recs) != want {
		t.Fatalf("%d records, want %d", len(recs), want)
	}
}
