package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"testing"
	"time"
)

// TestSerialWireInOrder: the serial wire's writer writes each step's
// lines without waiting; a car whose pty is full (its reader stopped)
// gets the rest written by its own goroutine, later lines queued behind
// it, and the reader gets every byte of every car in order once it reads
// again, while the other car's lines keep flowing meanwhile.
func TestSerialWireInOrder(t *testing.T) {
	w, err := newSerialWire([]string{"car01", "car02"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.closePTYs() })
	readers := map[string]*os.File{}
	for car, path := range w.paths() {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		readers[car] = f
	}
	w.startWriters()

	// car02 is read all along; car01 not until every step is offered,
	// so its pty (4 KiB in the reader's line discipline, at most 64 KiB
	// in the pty) fills, and the rest waits in its slow queue (64 steps,
	// each a line here), short of holding back the load.
	var want1, want2 bytes.Buffer
	got2 := make(chan []byte, 1)
	const steps, line = 60, 1500 // 90 KB: more than a pty holds, less than its queue
	go func() {
		b, _ := io.ReadAll(io.LimitReader(readers["car02"], steps*line))
		got2 <- b
	}()
	for i := range steps {
		l1 := fmt.Appendf(nil, "$car01 %06d ", i)
		l1 = append(l1, bytes.Repeat([]byte{'a' + byte(i%26)}, line-len(l1)-1)...)
		l1 = append(l1, '\n')
		l2 := bytes.ReplaceAll(l1, []byte("car01"), []byte("car02"))
		want1.Write(l1)
		want2.Write(l2)
		w.buf["car01"] = append(w.buf["car01"], l1...)
		w.buf["car02"] = append(w.buf["car02"], l2...)
		if err := w.flush(); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case b := <-got2:
		if !bytes.Equal(b, want2.Bytes()) {
			t.Fatalf("car02: %d bytes, want %d, or not in order", len(b), want2.Len())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("car02's lines held back by car01's full pty")
	}
	if w.cars["car01"].pending.Load() == 0 {
		t.Fatal("car01's pty never filled: the slow path went untested")
	}
	got1, err := io.ReadAll(io.LimitReader(readers["car01"], int64(want1.Len())))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got1, want1.Bytes()) {
		t.Fatalf("car01: %d bytes, want %d, or not in order", len(got1), want1.Len())
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
}
