package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/pitwall/pitwall/broker/internal/durable"
)

// producerIDBlock is how many producer ids are reserved per write of
// producer-ids.json.
const producerIDBlock = 1000

// producerIDs hands out producer ids that are never reused, across
// restarts: it persists the end of the block it hands out from before
// handing out the first id of that block.
type producerIDs struct {
	path string

	mu   sync.Mutex
	next int64
	end  int64 // exclusive; persisted
}

func openProducerIDs(path string) (*producerIDs, error) {
	p := &producerIDs{path: path}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		var st struct {
			End int64 `json:"block_end"`
		}
		if err := json.Unmarshal(b, &st); err != nil || st.End < 0 {
			return nil, fmt.Errorf("broker: %s is corrupt: %v", path, err)
		}
		// Ids below the persisted end may have been handed out.
		p.next, p.end = st.End, st.End
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	return p, nil
}

func (p *producerIDs) allocate() (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next >= p.end {
		b, _ := json.Marshal(struct {
			End int64 `json:"block_end"`
		}{p.next + producerIDBlock})
		if err := durable.WriteFile(p.path, b); err != nil {
			return 0, err
		}
		p.end = p.next + producerIDBlock
	}
	id := p.next
	p.next++
	return id, nil
}
