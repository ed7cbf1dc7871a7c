package topicread

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"
)

// ErrClosed reports a partition consumer that sarama closed on its own
// (for instance when the start offset fell out of range).
var ErrClosed = errors.New("topicread: partition consumer closed")

// Config says which records of a topic a read hands on.
type Config struct {
	// Partitions are the partitions to read; nil (the default) means every
	// partition the topic has when the read begins.
	Partitions []int32
	// From is the first offset to read in each partition. An offset below
	// the oldest one the partition still holds (the default 0, or
	// sarama.OffsetOldest) means that oldest one.
	From int64
	// IdleEnd (ReadToEnd only) ends a partition's read when no record
	// arrives for this long, although the end offset was not reached: the
	// last records below it may have been compacted away, and a broker
	// answers a fetch as soon as it has data. 0 (the default): wait for the
	// end offset, or for the context to end.
	IdleEnd time.Duration
}

// ReadToEnd calls fn for every record of topic from cfg.From up to the end
// offset (high watermark) each partition had when the read began. It
// returns nil once every partition is read, or ctx's error if ctx ends
// first. A topic that does not exist is an error wrapping
// sarama.ErrUnknownTopicOrPartition.
func ReadToEnd(ctx context.Context, client sarama.Client, topic string, cfg Config, fn func(*sarama.ConsumerMessage)) error {
	return read(ctx, client, topic, cfg, false, fn)
}

// Follow calls fn for every record of topic from cfg.From on, including
// those appended while it reads, until ctx ends; then it returns nil.
// cfg.IdleEnd does not apply.
func Follow(ctx context.Context, client sarama.Client, topic string, cfg Config, fn func(*sarama.ConsumerMessage)) error {
	return read(ctx, client, topic, cfg, true, fn)
}

// read runs one goroutine per partition and returns after they all
// exited; the first error stops the others.
func read(ctx context.Context, client sarama.Client, topic string, cfg Config, follow bool, fn func(*sarama.ConsumerMessage)) error {
	parts := cfg.Partitions
	if parts == nil {
		var err error
		if parts, err = client.Partitions(topic); err != nil {
			return fmt.Errorf("topicread: %s: %w", topic, err)
		}
	}
	cons, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return fmt.Errorf("topicread: %s: %w", topic, err)
	}
	defer cons.Close()
	first := eachPartition(ctx, len(parts), func(ctx context.Context, i int) error {
		r := &partitionRead{client: client, cons: cons, topic: topic, part: parts[i], cfg: cfg, follow: follow}
		return r.run(ctx, fn)
	})
	switch {
	case first != nil:
		return first
	case !follow && ctx.Err() != nil:
		return ctx.Err()
	}
	return nil
}

// eachPartition runs run(ctx, i) for i in [0, n), each on a goroutine,
// and returns after they all exited: the first error, which cancels the
// ctx that the others were given, or nil.
func eachPartition(ctx context.Context, n int, run func(ctx context.Context, i int) error) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for i := range n {
		wg.Go(func() {
			if err := run(ctx, i); err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
				stop()
			}
		})
	}
	wg.Wait()
	return first
}

// partitionRead is the read of one partition.
type partitionRead struct {
	client sarama.Client
	cons   sarama.Consumer
	topic  string
	part   int32
	cfg    Config
	follow bool
}

// run hands the partition's records to fn until its range is read or ctx
// ends (both nil), or the partition consumer fails.
func (r *partitionRead) run(ctx context.Context, fn func(*sarama.ConsumerMessage)) error {
	start, end, err := r.bounds(ctx)
	if err != nil || !r.follow && start >= end {
		return err
	}
	pc, err := r.consume(ctx, start)
	if err != nil {
		return fmt.Errorf("topicread: %s/%d: %w", r.topic, r.part, err)
	}
	defer pc.Close()
	failures := 0 // transient errors since the last record
	var idle <-chan time.Time
	var timer *time.Timer
	if !r.follow && r.cfg.IdleEnd > 0 {
		timer = time.NewTimer(r.cfg.IdleEnd)
		defer timer.Stop()
		idle = timer.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-idle:
			return nil
		case m, ok := <-pc.Messages():
			if !ok {
				return fmt.Errorf("%w: %s/%d", ErrClosed, r.topic, r.part)
			}
			if !r.follow && m.Offset >= end {
				return nil
			}
			failures = 0
			fn(m)
			if !r.follow && m.Offset >= end-1 {
				return nil
			}
			if timer != nil {
				timer.Reset(r.cfg.IdleEnd)
			}
		case err := <-pc.Errors():
			// sarama looks the leader up again and goes on by itself
			// after a transient error (a leader election in a cluster);
			// only a run of them with no record between ends the read.
			if failures++; transient(err) && failures < errorsInARow {
				continue
			}
			return fmt.Errorf("topicread: %s/%d: %w", r.topic, r.part, err)
		}
	}
}

// bounds returns the offset to start at and, for ReadToEnd, the end
// offset. Following from the oldest record needs no request.
func (r *partitionRead) bounds(ctx context.Context) (start, end int64, err error) {
	start = r.cfg.From
	if r.follow && start <= 0 {
		return sarama.OffsetOldest, 0, nil
	}
	if !r.follow {
		if end, err = r.offset(ctx, sarama.OffsetNewest); err != nil {
			return 0, 0, fmt.Errorf("topicread: %s/%d: end offset: %w", r.topic, r.part, err)
		}
	}
	oldest, err := r.offset(ctx, sarama.OffsetOldest)
	if err != nil {
		return 0, 0, fmt.Errorf("topicread: %s/%d: start offset: %w", r.topic, r.part, err)
	}
	return max(start, oldest), end, nil
}

// offsetAttempts bounds offset's and consume's retries of a transient
// failure.
const offsetAttempts = 5

// errorsInARow is how many transient errors of a partition consumer in a
// row, with no record between, end a read: each comes after sarama's
// retry backoff (2 s by default), so a leader election of a few seconds
// passes and a partition without a leader for long fails the read.
const errorsInARow = 5

// consume starts the partition consumer at start. A transient failure
// (the leader moved between sarama's metadata and its offset request, as
// in a cluster's leader election) is retried like offset's.
func (r *partitionRead) consume(ctx context.Context, start int64) (sarama.PartitionConsumer, error) {
	pause := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		pc, err := r.cons.ConsumePartition(r.topic, r.part, start)
		if err == nil || attempt == offsetAttempts || !transient(err) {
			return pc, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(pause):
		}
		pause *= 2
	}
}

// offset asks for the partition's newest or oldest offset. A transient
// failure is retried with a growing pause: sarama's client shares one
// connection per broker among the partitions read at once, and a request
// that fails on it closes it under the others ("broker not connected"),
// and a partition the broker is still opening has no leader yet.
func (r *partitionRead) offset(ctx context.Context, which int64) (int64, error) {
	pause := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		off, err := r.client.GetOffset(r.topic, r.part, which)
		if err == nil || attempt == offsetAttempts || !transient(err) {
			return off, err
		}
		select {
		case <-ctx.Done():
			return 0, err
		case <-time.After(pause):
		}
		pause *= 2
	}
}

// transient reports errors that a retry of the same request can clear.
func transient(err error) bool {
	var kerr sarama.KError
	if errors.As(err, &kerr) {
		return kerr == sarama.ErrLeaderNotAvailable || kerr == sarama.ErrNotLeaderForPartition || kerr == sarama.ErrRequestTimedOut || kerr == sarama.ErrNotEnoughReplicas
	}
	return errors.Is(err, sarama.ErrNotConnected) || errors.Is(err, sarama.ErrOutOfBrokers) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}
