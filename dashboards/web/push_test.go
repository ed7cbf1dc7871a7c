package web

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pitwall/pitwall/track"
)

// The push's pacing, on synctest's clock: a burst of changes after a
// quiet spell goes out in one state pushGather after its first change;
// changes soon after a push wait until PushEvery has passed since it,
// and go out together.
func TestPushGathersBursts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{Brokers: []string{"127.0.0.1:9"}, Timing: track.Timing{Name: "t", Length: 1000}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		page := make(chan []byte, 1)
		s.subs[page] = struct{}{}
		var wg sync.WaitGroup
		wg.Go(func() { s.push(ctx) })
		start := time.Now()
		var mu sync.Mutex
		var pushed []time.Duration
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-page:
					mu.Lock()
					pushed = append(pushed, time.Since(start))
					mu.Unlock()
				}
			}
		})
		ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
		// Changes at these times (ms after start).
		for _, at := range []float64{0, 0.5, 1, 5, 10, 100, 110} {
			time.Sleep(time.Until(start.Add(ms(at))))
			s.mu.Lock()
			s.change()
			s.mu.Unlock()
		}
		time.Sleep(time.Second)
		cancel()
		wg.Wait()
		// The burst at 0-1 ms at 2 ms; 5 and 10 ms at 2 + 16; the burst
		// after a quiet spell at 100 + 2; 110 ms at 102 + 16.
		want := []time.Duration{ms(2), ms(18), ms(102), ms(118)}
		if !slices.Equal(pushed, want) {
			t.Errorf("pushed at %v, want %v", pushed, want)
		}
		if st := s.Stats(); st.Pushed != 4 || st.Dropped != 0 {
			t.Errorf("stats %+v, want 4 pushed, none dropped", st)
		}
	})
}
