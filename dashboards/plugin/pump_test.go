package plugin

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// sentPackets records what pump pushed and when.
type sentPackets struct {
	mu   sync.Mutex
	at   []time.Time
	rows []int64
	sent chan struct{}
}

func (s *sentPackets) Send(*backend.StreamPacket) error {
	s.mu.Lock()
	s.at = append(s.at, time.Now())
	s.mu.Unlock()
	s.sent <- struct{}{}
	return nil
}

// countBatch is a batch whose frame says how many records it holds.
func countBatch(s *sentPackets) batch {
	var n int64
	return batch{
		add:  func(*sarama.ConsumerMessage) { n++ },
		rows: func() int { return int(n) },
		frames: func() data.Frames {
			s.mu.Lock()
			s.rows = append(s.rows, n)
			s.mu.Unlock()
			f := data.NewFrame("rows", data.NewField("n", nil, []int64{n}))
			n = 0
			return data.Frames{f}
		},
	}
}

// A burst (a fetch's worth of records at once) goes out in one push,
// not its first record alone; pushes come at most one per StreamEvery;
// and every record is pushed.
func TestPumpBatchesBursts(t *testing.T) {
	msgs := make(chan *sarama.ConsumerMessage, 64)
	for range 10 {
		msgs <- &sarama.ConsumerMessage{}
	}
	s := &sentPackets{sent: make(chan struct{}, 1024)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pump(ctx, msgs, countBatch(s), backend.NewStreamSender(s)) }()
	<-s.sent
	s.mu.Lock()
	first := s.rows[0]
	s.mu.Unlock()
	if first != 10 {
		t.Fatalf("the first push held %d records, want the whole burst of 10", first)
	}
	// Records one at a time: each push holds what came since the last.
	total := int64(10)
	for range 40 {
		msgs <- &sarama.ConsumerMessage{}
		total++
		time.Sleep(time.Millisecond) // a trickle, not a burst
	}
	deadline := time.After(time.Minute)
	for {
		s.mu.Lock()
		var pushed int64
		for _, n := range s.rows {
			pushed += n
		}
		s.mu.Unlock()
		if pushed == total {
			break
		}
		select {
		case <-s.sent:
		case <-deadline:
			t.Fatalf("pushed %d of %d records", pushed, total)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.at) < 2 {
		t.Fatalf("%d pushes for 40 records over 40 ms or more, want several", len(s.at))
	}
	// Pushes start at least StreamEvery apart (the instant each is sent
	// can lag its start by one encoding, hence the one spare).
	span := s.at[len(s.at)-1].Sub(s.at[0])
	if most := int(span/StreamEvery) + 1; len(s.at)-1 > most {
		t.Errorf("%d pushes in %v: more than one per StreamEvery (%v)", len(s.at), span, StreamEvery)
	}
}
