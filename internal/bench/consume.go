package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// consumeStallTimeout ends a consume pass with an error when no record
// arrives for this long while records are still missing.
const consumeStallTimeout = 30 * time.Second

// Consumer fetch sizes: large enough that one fetch carries many 1 MiB
// batches, so the client's per-request overhead does not limit throughput.
const (
	fetchMaxBytes          = 64 << 20
	fetchMaxPartitionBytes = 16 << 20
	brokerMaxReadBytes     = fetchMaxBytes + 1<<20
)

// span is the half-open offset range [from, to) of one partition to read.
type span struct{ from, to int64 }

// runConsume reads every record in spans (partition → range) of cfg.Topic
// with up to cfg.Clients clients and returns the count, value bytes and time.
func runConsume(ctx context.Context, cfg Config, conn []kgo.Opt, spans map[int32]span) (phase, error) {
	groups := splitSpans(spans, cfg.Clients)
	clients := make([]*kgo.Client, 0, len(groups))
	defer func() {
		for _, cl := range clients {
			cl.Close()
		}
	}()
	for _, g := range groups {
		cl, err := kgo.NewClient(consumerOpts(cfg, conn, g)...)
		if err != nil {
			return phase{}, fmt.Errorf("bench: consumer client: %w", err)
		}
		clients = append(clients, cl)
	}
	var records, bytes atomic.Int64
	errs := make([]error, len(clients))
	start := time.Now()
	var wg sync.WaitGroup
	for i, cl := range clients {
		wg.Go(func() {
			n, b, err := drain(ctx, cl, groups[i])
			records.Add(n)
			bytes.Add(b)
			errs[i] = err
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return phase{}, fmt.Errorf("bench: consume: %w", err)
	}
	return phase{records: records.Load(), bytes: bytes.Load(), elapsed: elapsed}, nil
}

// splitSpans deals the non-empty spans out to at most n groups.
func splitSpans(spans map[int32]span, n int) []map[int32]span {
	var groups []map[int32]span
	i := 0
	for p := range int32(len(spans)) {
		s, ok := spans[p]
		if !ok || s.to <= s.from {
			continue
		}
		if len(groups) < n {
			groups = append(groups, map[int32]span{})
		}
		groups[i%n][p] = s
		i++
	}
	return groups
}

func consumerOpts(cfg Config, conn []kgo.Opt, group map[int32]span) []kgo.Opt {
	offsets := make(map[int32]kgo.Offset, len(group))
	for p, s := range group {
		offsets[p] = kgo.NewOffset().At(s.from)
	}
	return append([]kgo.Opt{
		kgo.ClientID("pitwall-bench"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic: offsets}),
		kgo.FetchMaxBytes(fetchMaxBytes),
		kgo.FetchMaxPartitionBytes(fetchMaxPartitionBytes),
		kgo.BrokerMaxReadBytes(brokerMaxReadBytes),
		kgo.FetchMaxWait(500 * time.Millisecond),
	}, conn...)
}

// drain polls cl until every partition of group has been read to its end.
func drain(ctx context.Context, cl *kgo.Client, group map[int32]span) (records, bytes int64, err error) {
	left := make(map[int32]int64, len(group)) // partition → next offset wanted
	for p, s := range group {
		left[p] = s.from
	}
	for len(left) > 0 {
		pctx, cancel := context.WithTimeout(ctx, consumeStallTimeout)
		fetches := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return records, bytes, err
		}
		if err := fetchError(fetches); err != nil {
			return records, bytes, err
		}
		if fetches.NumRecords() == 0 {
			return records, bytes, fmt.Errorf("stalled: nothing fetched for %v with %d partitions unfinished", consumeStallTimeout, len(left))
		}
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			if _, ok := left[fp.Partition]; !ok {
				return // finished; these are past its end
			}
			end := group[fp.Partition].to
			for _, r := range fp.Records {
				if r.Offset >= end {
					break
				}
				records++
				bytes += int64(len(r.Value))
				left[fp.Partition] = r.Offset + 1
			}
			if left[fp.Partition] >= end {
				delete(left, fp.Partition)
				cl.PauseFetchPartitions(map[string][]int32{fp.Topic: {fp.Partition}})
			}
		})
	}
	return records, bytes, nil
}

// fetchError returns the first real error in fetches; a poll that merely
// timed out is not one (the caller notices it fetched nothing).
func fetchError(fetches kgo.Fetches) error {
	for _, fe := range fetches.Errors() {
		if errors.Is(fe.Err, context.DeadlineExceeded) {
			continue
		}
		return fmt.Errorf("%s[%d]: %w", fe.Topic, fe.Partition, fe.Err)
	}
	return nil
}
