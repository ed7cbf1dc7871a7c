package broker_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupChildEnv, when set to "addr|group|topic", makes the test binary run
// one sarama consumer group member instead of the tests, reporting on
// stdout (see runGroupChild), so a test can kill a member with SIGKILL.
const groupChildEnv = "PITWALL_TEST_GROUP_MEMBER"

func init() {
	if spec := os.Getenv(groupChildEnv); spec != "" {
		os.Exit(runGroupChild(spec))
	}
}

// groupEvents receives what consumer group members see.
type groupEvents interface {
	claim(member string, generation int32, partitions []int32)
	record(member, value string)
}

// collector gathers every member's claims, per generation, and every
// record consumed; waiters are woken on each event.
type collector struct {
	mu       sync.Mutex
	claims   map[int32]map[string][]int32 // generation -> member -> partitions
	seen     map[string]int               // record value -> times consumed
	byMember map[string]int               // member -> records consumed
	changed  chan struct{}
}

func newCollector() *collector {
	return &collector{claims: map[int32]map[string][]int32{}, seen: map[string]int{}, byMember: map[string]int{}, changed: make(chan struct{})}
}

func (c *collector) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *collector) claim(member string, gen int32, parts []int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.claims[gen] == nil {
		c.claims[gen] = map[string][]int32{}
	}
	c.claims[gen][member] = slices.Sorted(slices.Values(parts))
	c.notify()
}

func (c *collector) record(member, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[value]++
	c.byMember[member]++
	c.notify()
}

// waitFor blocks until cond (called with the lock held) holds.
func (c *collector) waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for {
		c.mu.Lock()
		ok, ch := cond(), c.changed
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			c.mu.Lock()
			defer c.mu.Unlock()
			t.Fatalf("gave up waiting for %s; claims by generation: %v", what, c.claims)
		}
	}
}

// waitGeneration waits for a generation whose members are exactly members
// and whose claims cover partitions 0..n-1, and returns it.
func (c *collector) waitGeneration(t *testing.T, ctx context.Context, n int, members ...string) int32 {
	t.Helper()
	var found int32
	c.waitFor(t, ctx, fmt.Sprintf("a generation of %v owning %d partitions", members, n), func() bool {
		for gen, claims := range c.claims {
			if len(claims) != len(members) {
				continue
			}
			owned := 0
			for _, m := range members {
				owned += len(claims[m])
			}
			if owned == n && gen > found {
				found = gen
			}
		}
		return found > 0
	})
	return found
}

// checkExclusive fails the test if any generation gave a partition to two
// members.
func (c *collector) checkExclusive(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for gen, claims := range c.claims {
		owner := map[int32]string{}
		for m, parts := range claims {
			for _, p := range parts {
				if o, ok := owner[p]; ok {
					t.Errorf("generation %d: partition %d owned by %s and %s", gen, p, o, m)
				}
				owner[p] = m
			}
		}
	}
}

// missing returns the values in want that were never consumed.
func (c *collector) missing(want []string) []string {
	var out []string
	for _, v := range want {
		if c.seen[v] == 0 {
			out = append(out, v)
		}
	}
	return out
}

// groupSaramaConfig is a sarama consumer group configuration with short
// timeouts, so that rebalances and crash detection take seconds.
func groupSaramaConfig(clientID string) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = clientID
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
	cfg.Consumer.Group.Session.Timeout = 3 * time.Second
	cfg.Consumer.Group.Heartbeat.Interval = 300 * time.Millisecond
	cfg.Consumer.Group.Rebalance.Timeout = 10 * time.Second
	cfg.Consumer.Group.Rebalance.Retry.Backoff = 200 * time.Millisecond
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	return cfg
}

// saramaMember is one sarama ConsumerGroup member consuming topic.
type saramaMember struct {
	name   string
	group  sarama.ConsumerGroup
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// startSaramaMember starts a member that reports to events. logf gets
// errors the group reports (rebalances and restarts cause some).
func startSaramaMember(addr, groupID, topic, name string, events groupEvents, logf func(string, ...any)) (*saramaMember, error) {
	g, err := sarama.NewConsumerGroup([]string{addr}, groupID, groupSaramaConfig(name))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &saramaMember{name: name, group: g, cancel: cancel, done: make(chan struct{})}
	h := &saramaHandler{name: name, events: events}
	go func() {
		for err := range g.Errors() {
			logf("%s: %v", name, err)
		}
	}()
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			if err := g.Consume(ctx, []string{topic}, h); err != nil {
				if errors.Is(err, sarama.ErrClosedConsumerGroup) {
					return
				}
				logf("%s: consume: %v", name, err)
				select {
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
	}()
	return m, nil
}

// stop ends the member's session (committing what it marked) and leaves
// the group.
func (m *saramaMember) stop() error {
	var err error
	m.once.Do(func() {
		m.cancel()
		<-m.done
		err = m.group.Close()
	})
	return err
}

type saramaHandler struct {
	name   string
	events groupEvents
}

func (h *saramaHandler) Setup(s sarama.ConsumerGroupSession) error {
	var parts []int32
	for _, ps := range s.Claims() {
		parts = append(parts, ps...)
	}
	h.events.claim(h.name, s.GenerationID(), parts)
	return nil
}

func (h *saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			// Reported before it is marked: whatever may be
			// committed has been seen.
			h.events.record(h.name, string(msg.Value))
			s.MarkMessage(msg, "")
		case <-s.Context().Done():
			return nil
		}
	}
}

// stdoutEvents reports a child member's events as lines on stdout:
// "claim GEN P,P,..." and "rec VALUE".
type stdoutEvents struct{ mu sync.Mutex }

func (e *stdoutEvents) claim(_ string, gen int32, parts []int32) {
	s := make([]string, len(parts))
	for i, p := range parts {
		s[i] = strconv.Itoa(int(p))
	}
	e.mu.Lock()
	fmt.Fprintf(os.Stdout, "claim %d %s\n", gen, strings.Join(s, ","))
	e.mu.Unlock()
}

func (e *stdoutEvents) record(_, value string) {
	e.mu.Lock()
	fmt.Fprintf(os.Stdout, "rec %s\n", value)
	e.mu.Unlock()
}

func runGroupChild(spec string) int {
	f := strings.Split(spec, "|")
	if len(f) != 3 {
		fmt.Fprintf(os.Stderr, "%s=%q: want addr|group|topic\n", groupChildEnv, spec)
		return 2
	}
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	if _, err := startSaramaMember(f[0], f[1], f[2], "child", &stdoutEvents{}, logf); err != nil {
		logf("%v", err)
		return 1
	}
	select {} // until killed
}

// startChildMember starts a member in a child process and feeds what it
// reports to events as member "child".
func startChildMember(t *testing.T, addr, groupID, topic string, events groupEvents) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), groupChildEnv+"="+addr+"|"+groupID+"|"+topic)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			kind, rest, _ := strings.Cut(sc.Text(), " ")
			switch kind {
			case "rec":
				events.record("child", rest)
			case "claim":
				genStr, partStr, _ := strings.Cut(rest, " ")
				gen, _ := strconv.Atoi(genStr)
				var parts []int32
				for _, p := range strings.Split(partStr, ",") {
					if n, err := strconv.Atoi(p); err == nil {
						parts = append(parts, int32(n))
					}
				}
				events.claim("child", int32(gen), parts)
			}
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); <-read })
	return cmd
}

// produceValues produces n keyed records with values prefix-00000.. to
// topic and returns the values.
func produceValues(t *testing.T, ctx context.Context, cl *kgo.Client, topic, prefix string, n int) []string {
	t.Helper()
	vals := make([]string, n)
	recs := make([]*kgo.Record, n)
	for i := range recs {
		vals[i] = fmt.Sprintf("%s-%05d", prefix, i)
		recs[i] = &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint("car-", i%10)), Value: []byte(vals[i])}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return vals
}

// committedOffsets asks the group's coordinator for its committed offsets
// of topic's partitions 0..n-1.
func committedOffsets(t *testing.T, ctx context.Context, cl *kgo.Client, groupID, topic string, n int32) map[int32]int64 {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = groupID
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	for p := range n {
		rt.Partitions = append(rt.Partitions, p)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			out[p.Partition] = p.Offset
		}
	}
	return out
}

// highWatermarks returns the end offsets of topic's partitions 0..n-1.
func highWatermarks(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, n int32) map[int32]int64 {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for p := range n {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = p, -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			out[p.Partition] = p.Offset
		}
	}
	return out
}
