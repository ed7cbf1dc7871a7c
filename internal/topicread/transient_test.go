package topicread

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/IBM/sarama"
)

// TestTransient: what a read retries when it asks for a partition's
// offsets (a connection another partition's failed request closed, a
// partition without a leader yet) and what it reports at once.
func TestTransient(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{sarama.ErrNotConnected, true},
		{fmt.Errorf("wrapped: %w", sarama.ErrNotConnected), true},
		{sarama.ErrLeaderNotAvailable, true},
		{sarama.ErrNotLeaderForPartition, true},
		{io.EOF, true},
		{sarama.ErrUnknownTopicOrPartition, false},
		{sarama.ErrTopicAuthorizationFailed, false},
		{sarama.ErrClosedClient, false},
		{errors.New("other"), false},
	} {
		if got := transient(c.err); got != c.want {
			t.Errorf("transient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
