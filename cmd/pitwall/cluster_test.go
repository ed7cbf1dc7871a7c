package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/internal/freeport"
	"github.com/pitwall/pitwall/internal/netproxy"
)

// A broker cluster of separate `pitwall broker` processes on loopback,
// as issue 13 asks its tests to run: each with its own data directory,
// Kafka port and controller port, started, SIGKILLed and restarted.

type clusterNode struct {
	id   int32
	dir  string
	addr string // Kafka listener
	ctl  string // controller listener
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}

	// With clusterOpts.proxied: the proxy in front of the Kafka
	// listener, advertised to clients and the other brokers, and the
	// proxies this broker dials the others' controller listeners
	// through (by index; nil for itself).
	kafkaProxy *netproxy.Proxy
	ctlProxies []*netproxy.Proxy
}

type testCluster struct {
	t      *testing.T
	bin    string
	opts   clusterOpts
	voters string
	nodes  []*clusterNode
}

// clusterOpts are a test cluster's settings beyond its size.
type clusterOpts struct {
	// session is the brokers' --broker-session-timeout; default 1s.
	session string
	// proxied puts the brokers behind internal/netproxy proxies so that
	// c.cut can partition one off (see cut).
	proxied bool
	// args, if set, are more flags for a broker, after the others (a
	// repeated flag's last value wins: --listen with a second listener,
	// say).
	args func(nd *clusterNode) []string
}

// freeAddr reserves a loopback port and lets it go for a broker to bind
// (freeport: never one handed out before in this test binary run; two
// brokers of one cluster were once handed the same port).
func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func startTestCluster(t *testing.T, bin string, n int) *testCluster {
	t.Helper()
	return startTestClusterOpts(t, bin, n, clusterOpts{})
}

// startTestClusterOpts is startTestCluster with settings.
func startTestClusterOpts(t *testing.T, bin string, n int, opts clusterOpts) *testCluster {
	t.Helper()
	if opts.session == "" {
		opts.session = "1s"
	}
	c := &testCluster{t: t, bin: bin, opts: opts}
	var voters []string
	for i := range n {
		nd := &clusterNode{id: int32(i + 1), dir: filepath.Join(t.TempDir(), "data"), addr: freeAddr(t), ctl: freeAddr(t)}
		c.nodes = append(c.nodes, nd)
		voters = append(voters, fmt.Sprintf("%d@%s", nd.id, nd.ctl))
	}
	c.voters = strings.Join(voters, ",")
	if opts.proxied {
		c.startProxies()
	}
	for i := range c.nodes {
		c.start(i)
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.kill(i)
		}
		if t.Failed() {
			for _, nd := range c.nodes {
				t.Logf("broker %d:\n%s", nd.id, nd.log)
			}
		}
	})
	return c
}

// startProxies starts, for each broker, a proxy in front of its Kafka
// listener and one in front of its controller listener per other
// broker, closed when the test ends.
func (c *testCluster) startProxies() {
	c.t.Helper()
	proxy := func(target string) *netproxy.Proxy {
		p, err := netproxy.Start(target)
		if err != nil {
			c.t.Fatal(err)
		}
		c.t.Cleanup(func() { p.Close() })
		return p
	}
	for _, nd := range c.nodes {
		nd.kafkaProxy = proxy(nd.addr)
		nd.ctlProxies = make([]*netproxy.Proxy, len(c.nodes))
		for j, to := range c.nodes {
			if to != nd {
				nd.ctlProxies[j] = proxy(to.ctl)
			}
		}
	}
}

// votersFor is broker i's --voters: the others' controller addresses
// through i's own proxies when proxied, so that a cut of i stops what it
// dials as well as what it is dialed by (Raft and the controller RPC go
// both ways on connections either side opens).
func (c *testCluster) votersFor(i int) string {
	if !c.opts.proxied {
		return c.voters
	}
	var voters []string
	for j, nd := range c.nodes {
		addr := nd.ctl
		if j != i {
			addr = c.nodes[i].ctlProxies[j].Addr()
		}
		voters = append(voters, fmt.Sprintf("%d@%s", nd.id, addr))
	}
	return strings.Join(voters, ",")
}

// cut partitions broker i (index) off from the others: every controller
// connection between them, either way, and every connection to its Kafka
// listener through the address it advertises are closed, and new ones
// refused, until heal. The test still reaches broker i directly at
// c.nodes[i].addr: the minority side a client in the same place sees.
// What i dials on the others' Kafka listeners (its replica fetchers, as
// a follower of their partitions) is not cut: the Kafka addresses are one
// per broker, advertised alike to all; a broker cut off from the
// controller quorum is fenced and leads nothing, whatever it fetches.
func (c *testCluster) cut(i int) { c.setLinks(i, (*netproxy.Proxy).Cut) }

// heal undoes cut(i).
func (c *testCluster) heal(i int) { c.setLinks(i, (*netproxy.Proxy).Heal) }

func (c *testCluster) setLinks(i int, set func(*netproxy.Proxy)) {
	c.t.Helper()
	if !c.opts.proxied {
		c.t.Fatal("cut and heal need a cluster started with clusterOpts.proxied")
	}
	set(c.nodes[i].kafkaProxy)
	for j, nd := range c.nodes {
		if j != i {
			set(c.nodes[i].ctlProxies[j])
			set(nd.ctlProxies[i])
		}
	}
}

func (c *testCluster) start(i int) {
	c.t.Helper()
	nd := c.nodes[i]
	args := []string{"broker", "--node-id", strconv.Itoa(int(nd.id)), "--listen", nd.addr,
		"--controller-listen", nd.ctl, "--voters", c.votersFor(i), "--data-dir", nd.dir,
		"--broker-session-timeout", c.opts.session, "--partitions", "3"}
	if nd.kafkaProxy != nil {
		args = append(args, "--advertise", nd.kafkaProxy.Addr())
	}
	if c.opts.args != nil {
		args = append(args, c.opts.args(nd)...)
	}
	nd.cmd = exec.Command(c.bin, args...)
	if nd.log == nil {
		nd.log = &syncBuffer{}
	}
	nd.cmd.Stdout, nd.cmd.Stderr = nd.log, nd.log
	if err := nd.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	nd.done = make(chan struct{})
	go func() { nd.cmd.Wait(); close(nd.done) }()
}

// kill SIGKILLs broker i (index) and waits for it to be gone.
func (c *testCluster) kill(i int) {
	nd := c.nodes[i]
	if nd.cmd == nil {
		return
	}
	nd.cmd.Process.Signal(syscall.SIGKILL)
	<-nd.done
	nd.cmd = nil
}

// client is a franz-go client seeded with the given brokers (indexes),
// every broker if none.
func (c *testCluster) client(opts []kgo.Opt, seeds ...int) *kgo.Client {
	c.t.Helper()
	if len(seeds) == 0 {
		for i := range c.nodes {
			seeds = append(seeds, i)
		}
	}
	var addrs []string
	for _, i := range seeds {
		addrs = append(addrs, c.nodes[i].addr)
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.MetadataMinAge(50 * time.Millisecond)}, opts...)...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(cl.Close)
	return cl
}

// metadata asks broker i (index) directly for the cluster's metadata.
func (c *testCluster) metadata(i int) (*kmsg.MetadataResponse, error) {
	cl := c.client(nil, i)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.MetadataResponse), nil
}

// waitMetadata polls broker i's metadata until cond holds.
func (c *testCluster) waitMetadata(i int, what string, cond func(*kmsg.MetadataResponse) bool) *kmsg.MetadataResponse {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last *kmsg.MetadataResponse
	for time.Now().Before(deadline) {
		m, err := c.metadata(i)
		if err == nil {
			last = m
			if cond(m) {
				return m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("broker %d: timed out waiting for %s; last metadata: %s", c.nodes[i].id, what, describeMetadata(last))
	return nil
}

func describeMetadata(m *kmsg.MetadataResponse) string {
	if m == nil {
		return "none"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "controller %d brokers", m.ControllerID)
	for _, br := range m.Brokers {
		fmt.Fprintf(&b, " %d", br.NodeID)
	}
	for _, t := range m.Topics {
		fmt.Fprintf(&b, "; %s:", *t.Topic)
		for _, p := range t.Partitions {
			fmt.Fprintf(&b, " p%d leader %d epoch %d replicas %v isr %v offline %v err %d", p.Partition, p.Leader, p.LeaderEpoch, p.Replicas, p.ISR, p.OfflineReplicas, p.ErrorCode)
		}
	}
	return b.String()
}

func mustPort(t *testing.T, addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitTopic waits until every running broker's Metadata has the topics.
func (c *testCluster) waitTopic(names ...string) {
	c.t.Helper()
	for i, nd := range c.nodes {
		if nd.cmd == nil {
			continue
		}
		c.waitMetadata(i, fmt.Sprint("topics ", names), func(m *kmsg.MetadataResponse) bool {
			for _, n := range names {
				if findTopic(m, n) == nil {
					return false
				}
			}
			return true
		})
	}
}

func brokerIDs(m *kmsg.MetadataResponse) []int32 {
	var ids []int32
	for _, b := range m.Brokers {
		ids = append(ids, b.NodeID)
	}
	slices.Sort(ids)
	return ids
}

func findTopic(m *kmsg.MetadataResponse, name string) *kmsg.MetadataResponseTopic {
	for i := range m.Topics {
		if t := &m.Topics[i]; t.Topic != nil && *t.Topic == name && t.ErrorCode == 0 {
			return t
		}
	}
	return nil
}

// rawBatch is a record batch v2 of one record with value v, as a
// producer without idempotence sends it.
func rawBatch(v []byte) []byte {
	var rec []byte
	rec = append(rec, 0)               // attributes
	rec = binary.AppendVarint(rec, 0)  // timestamp delta
	rec = binary.AppendVarint(rec, 0)  // offset delta
	rec = binary.AppendVarint(rec, -1) // null key
	rec = binary.AppendVarint(rec, int64(len(v)))
	rec = append(rec, v...)
	rec = binary.AppendVarint(rec, 0) // no headers
	recs := binary.AppendVarint(nil, int64(len(rec)))
	recs = append(recs, rec...)

	now := time.Now().UnixMilli()
	b := binary.BigEndian.AppendUint64(nil, 0) // base offset
	b = binary.BigEndian.AppendUint32(b, 0)    // length, below
	b = binary.BigEndian.AppendUint32(b, 0xffffffff)
	b = append(b, 2)                        // magic
	b = binary.BigEndian.AppendUint32(b, 0) // crc, below
	crcFrom := len(b)
	b = binary.BigEndian.AppendUint16(b, 0) // attributes
	b = binary.BigEndian.AppendUint32(b, 0) // last offset delta
	b = binary.BigEndian.AppendUint64(b, uint64(now))
	b = binary.BigEndian.AppendUint64(b, uint64(now))
	b = binary.BigEndian.AppendUint64(b, ^uint64(0)) // producer id -1
	b = binary.BigEndian.AppendUint16(b, 0xffff)     // producer epoch -1
	b = binary.BigEndian.AppendUint32(b, 0xffffffff) // base sequence -1
	b = binary.BigEndian.AppendUint32(b, 1)          // one record
	b = append(b, recs...)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[crcFrom:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// acksClient is a client seeded with broker i (index) for raw Produce
// requests with acks: franz-go rewrites a raw Produce's acks to its
// configured ones.
func (c *testCluster) acksClient(i int, acks int16) *kgo.Client {
	c.t.Helper()
	var opts []kgo.Opt
	switch acks {
	case 0:
		opts = []kgo.Opt{kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite()}
	case 1:
		opts = []kgo.Opt{kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite()}
	}
	return c.client(opts, i)
}

// produceRaw sends one Produce of one record to broker i (index) and
// returns the partition's error code.
func (c *testCluster) produceRaw(i int, topic string, p int32, acks int16) int16 {
	c.t.Helper()
	return c.produceRawResp(i, topic, p, acks).Topics[0].Partitions[0].ErrorCode
}

// produceRawResp sends one Produce of one record to broker i (index), at
// the highest version both sides speak, and returns the answer.
func (c *testCluster) produceRawResp(i int, topic string, p int32, acks int16) *kmsg.ProduceResponse {
	c.t.Helper()
	cl := c.acksClient(i, acks)
	defer cl.Close()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = acks, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = p, rawBatch([]byte("raw"))
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.(*kmsg.ProduceResponse)
}

// offsetForLeaderEpoch asks broker i (index) where leader epoch ask ends
// on topic's partition p, as a follower would (current epoch cur, -1 for
// none).
func (c *testCluster) offsetForLeaderEpoch(i int, topic string, p, cur, ask int32) (epoch int32, end int64, code int16) {
	c.t.Helper()
	cl := c.client(nil, i)
	defer cl.Close()
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.ReplicaID = -1
	rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = p, cur, ask
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		c.t.Fatal(err)
	}
	r := resp.(*kmsg.OffsetForLeaderEpochResponse).Topics[0].Partitions[0]
	return r.LeaderEpoch, r.EndOffset, r.ErrorCode
}

// TestClusterTopicsAndLeaders: three `pitwall broker` processes form a
// cluster; every broker's Metadata lists the three; `pitwall topics
// create --replication-factor 3` through one and `describe` through
// another show each partition's leader, replicas and ISR, leaders spread
// over the brokers; a franz-go producer seeded with one broker writes to
// every partition's leader, and a consumer seeded with another reads it
// all back in order; the wrong broker answers NOT_LEADER_OR_FOLLOWER, and
// acks=all to three replicas is acknowledged once the followers hold it.
func TestClusterTopicsAndLeaders(t *testing.T) {
	c := startTestCluster(t, buildPitwall(t), 3)
	for i := range c.nodes {
		c.waitMetadata(i, "three brokers", func(m *kmsg.MetadataResponse) bool {
			return slices.Equal(brokerIDs(m), []int32{1, 2, 3}) && m.ControllerID > 0
		})
	}
	mustTopics(t, "create", "laps", "--partitions", "6", "--replication-factor", "3", "--brokers", c.nodes[1].addr)
	// Created once the broker asked has it; the others apply it a moment
	// later (and the admin client may ask any of them).
	c.waitTopic("laps")
	desc := mustTopics(t, "describe", "laps", "--brokers", c.nodes[2].addr)
	rows := fields(desc)
	if !hasRow(rows, "replication-factor:", "3") {
		t.Fatalf("describe:\n%s", desc)
	}
	leaders := map[string]int{}
	for p := range 6 {
		i := slices.IndexFunc(rows, func(r []string) bool { return len(r) == 4 && r[0] == strconv.Itoa(p) })
		if i < 0 {
			t.Fatalf("no row for partition %d:\n%s", p, desc)
		}
		r := rows[i]
		replicas := strings.Split(r[2], ",")
		if len(replicas) != 3 || r[1] != replicas[0] || r[3] != r[2] {
			t.Errorf("partition %d: leader %s replicas %s isr %s", p, r[1], r[2], r[3])
		}
		leaders[r[1]]++
	}
	if leaders["1"] != 2 || leaders["2"] != 2 || leaders["3"] != 2 {
		t.Errorf("leaders not spread: %v\n%s", leaders, desc)
	}
	// librdkafka (kcat -L) through the third broker sees the same.
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not installed: run scripts/install-test-deps.sh (make test does)")
	}
	out, err := exec.Command(kcat, "-b", c.nodes[0].addr, "-L", "-t", "laps", "-m", "10").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat -L: %v\n%s", err, out)
	}
	for p := range 6 {
		i := slices.IndexFunc(rows, func(r []string) bool { return len(r) == 4 && r[0] == strconv.Itoa(p) })
		r := rows[i]
		want := fmt.Sprintf("partition %d, leader %s, replicas: %s, isrs: %s", p, r[1], r[2], r[3])
		if !strings.Contains(string(out), want) {
			t.Errorf("kcat -L lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(string(out), " 3 brokers:") {
		t.Errorf("kcat -L does not list 3 brokers:\n%s", out)
	}

	// An RF=1 topic, written through broker 1 only, read through broker 3.
	mustTopics(t, "create", "solo", "--partitions", "3", "--replication-factor", "1", "--brokers", c.nodes[0].addr)
	c.waitTopic("solo")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prod := c.client([]kgo.Opt{kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(), kgo.DefaultProduceTopic("solo")}, 0)
	const n = 90
	for i := range n {
		if err := prod.ProduceSync(ctx, &kgo.Record{Partition: int32(i % 3), Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	// kgo's default partitioner ignores Record.Partition; count per partition.
	cons := c.client([]kgo.Opt{kgo.ConsumeTopics("solo"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, 2)
	var got []int
	last := map[int32]int64{0: -1, 1: -1, 2: -1}
	for len(got) < n {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d: %v", len(got), n, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != last[r.Partition]+1 {
				t.Errorf("partition %d: offset %d after %d", r.Partition, r.Offset, last[r.Partition])
			}
			last[r.Partition] = r.Offset
			v, _ := strconv.Atoi(string(r.Value))
			got = append(got, v)
		})
	}
	slices.Sort(got)
	for i, v := range got {
		if v != i {
			t.Fatalf("consumed %v, want 0..%d once each", got, n-1)
		}
	}

	m := c.waitMetadata(0, "topic solo", func(m *kmsg.MetadataResponse) bool { return findTopic(m, "solo") != nil })
	for _, p := range findTopic(m, "solo").Partitions {
		leader := int(p.Leader) - 1
		other := (leader + 1) % 3
		if code := c.produceRaw(other, "solo", p.Partition, 1); code != kerr.NotLeaderForPartition.Code {
			t.Errorf("solo/%d through broker %d (not its leader %d): code %d, want NOT_LEADER_OR_FOLLOWER", p.Partition, other+1, p.Leader, code)
		}
		if code := c.produceRaw(leader, "solo", p.Partition, -1); code != 0 {
			t.Errorf("solo/%d acks=all through its leader: code %d", p.Partition, code)
		}
	}
	lp := findTopic(c.waitMetadata(0, "topic laps", func(m *kmsg.MetadataResponse) bool { return findTopic(m, "laps") != nil }), "laps").Partitions[0]
	if code := c.produceRaw(int(lp.Leader)-1, "laps", 0, -1); code != 0 {
		t.Errorf("laps/0 (3 replicas) acks=all: code %d, want it acknowledged once the ISR holds it", code)
	}

	// Every broker names the same group coordinator (the leader of the
	// group's __consumer_offsets partition, made on first use: until it
	// has one, COORDINATOR_NOT_AVAILABLE), at that broker's own port.
	// TestClusterGroupCoordinatorRouting checks it leads that partition.
	coordinator := int32(-1)
	for i := range c.nodes {
		cl := c.client(nil, i)
		var co kmsg.FindCoordinatorResponseCoordinator
		waitFor(t, fmt.Sprintf("a coordinator named by broker %d", i+1), func() bool {
			req := kmsg.NewPtrFindCoordinatorRequest()
			req.CoordinatorKey, req.CoordinatorKeys = "laps-group", []string{"laps-group"} // below v4, v4+
			resp, err := cl.SeedBrokers()[0].Request(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			r := resp.(*kmsg.FindCoordinatorResponse)
			if len(r.Coordinators) != 1 {
				t.Fatalf("FindCoordinator v%d: %d coordinators", r.Version, len(r.Coordinators))
			}
			co = r.Coordinators[0]
			return co.ErrorCode == 0
		})
		cl.Close()
		if coordinator < 0 {
			coordinator = co.NodeID
		}
		if co.NodeID != coordinator || co.NodeID < 1 || int(co.NodeID) > len(c.nodes) ||
			co.Port != int32(mustPort(t, c.nodes[co.NodeID-1].addr)) {
			t.Errorf("FindCoordinator through broker %d: node %d port %d, want node %d at its own port", i+1, co.NodeID, co.Port, coordinator)
		}
	}

	// Deleted through one broker: gone from every broker's Metadata and
	// data directory.
	mustTopics(t, "delete", "laps", "--brokers", c.nodes[2].addr)
	for i, nd := range c.nodes {
		c.waitMetadata(i, "laps deleted", func(m *kmsg.MetadataResponse) bool { return findTopic(m, "laps") == nil })
		dir := filepath.Join(nd.dir, "topics", "laps")
		deadline := time.Now().Add(30 * time.Second)
		for _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist); _, err = os.Stat(dir) {
			if time.Now().After(deadline) {
				t.Fatalf("broker %d still holds %s (%v)", nd.id, dir, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestClusterControllerKilled: the broker that is the active controller
// is SIGKILLed. The other two elect a new controller and fence it after
// its session: partitions it led move to another ISR member at a new
// leader epoch and it leaves their ISRs; its only-replica partition has
// no leader (offline, no unclean election); a topic can still be
// created. Restarted, it is back in Metadata, leads that partition again
// and serves the records written to it before the kill.
func TestClusterControllerKilled(t *testing.T) {
	c := startTestCluster(t, buildPitwall(t), 3)
	m := c.waitMetadata(0, "three brokers", func(m *kmsg.MetadataResponse) bool {
		return slices.Equal(brokerIDs(m), []int32{1, 2, 3}) && m.ControllerID > 0
	})
	victim := int(m.ControllerID) - 1
	vid := m.ControllerID
	other := (victim + 1) % 3
	// The admin client asks the broker it dials for the controller: wait
	// until that one knows it too (it applies the quorum's state a moment
	// after node 0 did).
	c.waitMetadata(other, "the controller known", func(m *kmsg.MetadataResponse) bool { return m.ControllerID == vid })
	createThroughController(t, "r3", "--partitions", "6", "--replication-factor", "3", "--brokers", c.nodes[other].addr)
	createThroughController(t, "solo", "--partitions", "3", "--replication-factor", "1", "--brokers", c.nodes[other].addr)
	c.waitTopic("r3", "solo")
	m = c.waitMetadata(other, "both topics", func(m *kmsg.MetadataResponse) bool {
		return findTopic(m, "r3") != nil && findTopic(m, "solo") != nil
	})
	var led []int32 // r3 partitions the victim leads
	for _, p := range findTopic(m, "r3").Partitions {
		if p.Leader == vid {
			led = append(led, p.Partition)
		}
	}
	var own int32 = -1 // the solo partition on the victim
	for _, p := range findTopic(m, "solo").Partitions {
		if p.Leader == vid {
			own = p.Partition
		}
	}
	if len(led) == 0 || own < 0 {
		t.Fatalf("the victim %d leads nothing: %s", vid, describeMetadata(m))
	}
	for range 5 {
		if code := c.produceRaw(victim, "solo", own, -1); code != 0 {
			t.Fatalf("solo/%d: code %d", own, code)
		}
	}

	c.kill(victim)
	m = c.waitMetadata(other, "the victim fenced and its partitions moved", func(m *kmsg.MetadataResponse) bool {
		if slices.Contains(brokerIDs(m), vid) || m.ControllerID <= 0 || m.ControllerID == vid {
			return false
		}
		for _, p := range findTopic(m, "r3").Partitions {
			if p.Leader == vid || p.Leader < 0 || slices.Contains(p.ISR, vid) {
				return false
			}
		}
		return true
	})
	for _, p := range findTopic(m, "r3").Partitions {
		if slices.Contains(led, p.Partition) && p.LeaderEpoch < 1 {
			t.Errorf("r3/%d moved without a new leader epoch: %d", p.Partition, p.LeaderEpoch)
		}
		if !slices.Equal(p.OfflineReplicas, []int32{vid}) {
			t.Errorf("r3/%d offline replicas %v, want [%d]", p.Partition, p.OfflineReplicas, vid)
		}
	}
	// The new leader of a partition the victim led: epoch 0 (the
	// victim's) ends where the new epoch began, at its log end (0: no
	// data replication yet); a request at the old current epoch is fenced.
	for _, p := range findTopic(m, "r3").Partitions {
		if !slices.Contains(led, p.Partition) {
			continue
		}
		// The new leader serves the partition once it has a session with
		// the new controller too (the old one was the victim): until then
		// it answers NOT_LEADER_OR_FOLLOWER, which clients retry.
		e, end, code := c.offsetForLeaderEpoch(int(p.Leader)-1, "r3", p.Partition, -1, 0)
		for deadline := time.Now().Add(30 * time.Second); code == kerr.NotLeaderForPartition.Code && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
			e, end, code = c.offsetForLeaderEpoch(int(p.Leader)-1, "r3", p.Partition, -1, 0)
		}
		if code != 0 || e != 0 || end != 0 {
			t.Errorf("r3/%d OffsetForLeaderEpoch(0) on the new leader %d: (%d, %d) code %d, want (0, 0)", p.Partition, p.Leader, e, end, code)
		}
		if e, end, code := c.offsetForLeaderEpoch(int(p.Leader)-1, "r3", p.Partition, -1, p.LeaderEpoch); code != 0 || e != p.LeaderEpoch || end != 0 {
			t.Errorf("r3/%d OffsetForLeaderEpoch(%d): (%d, %d) code %d", p.Partition, p.LeaderEpoch, e, end, code)
		}
		if _, _, code := c.offsetForLeaderEpoch(int(p.Leader)-1, "r3", p.Partition, 0, 0); code != kerr.FencedLeaderEpoch.Code {
			t.Errorf("r3/%d at the deposed epoch 0: code %d, want FENCED_LEADER_EPOCH", p.Partition, code)
		}
		break
	}
	for _, p := range findTopic(m, "solo").Partitions {
		if p.Partition == own && (p.Leader != -1 || p.ErrorCode != kerr.LeaderNotAvailable.Code || !slices.Equal(p.ISR, []int32{vid})) {
			t.Errorf("solo/%d without its only replica: leader %d error %d isr %v; want no leader, LEADER_NOT_AVAILABLE, ISR kept", p.Partition, p.Leader, p.ErrorCode, p.ISR)
		}
	}
	mustTopics(t, "create", "after", "--partitions", "2", "--replication-factor", "2", "--brokers", c.nodes[other].addr)

	c.start(victim)
	c.waitMetadata(victim, "the victim back, leading its partition", func(m *kmsg.MetadataResponse) bool {
		s := findTopic(m, "solo")
		return slices.Equal(brokerIDs(m), []int32{1, 2, 3}) && findTopic(m, "after") != nil && s != nil && s.Partitions[own].Leader == vid
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons := c.client([]kgo.Opt{kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"solo": {own: kgo.NewOffset().AtStart()}})}, other)
	for got := 0; got < 5; {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of 5 records back from the restarted broker: %v", got, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Value) != "raw" || r.Offset != int64(got) {
				t.Errorf("record %d: offset %d value %q", got, r.Offset, r.Value)
			}
			got++
		})
	}
}

// TestBrokerClusterFlagErrors: bad cluster flags stop pitwall broker
// with one line naming the flag's problem, before it binds anything.
func TestBrokerClusterFlagErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--voters", "1@127.0.0.1"}, "voter"},
		{[]string{"--voters", "x@127.0.0.1:1"}, "ID@HOST:PORT"},
		{[]string{"--voters", "1@127.0.0.1:1,1@127.0.0.1:2"}, "named twice"},
		{[]string{"--node-id", "4", "--voters", "1@127.0.0.1:1,2@127.0.0.1:2"}, "NodeID 4 is not among the voters"},
		{[]string{"--node-id", "1", "--voters", "1@127.0.0.1:1", "--default-replication-factor", "2"}, "DefaultReplicationFactor 2 not in 1..1"},
		{[]string{"--node-id", "1", "--voters", "1@127.0.0.1:1", "--broker-session-timeout", "-1s"}, "BrokerSessionTimeout -1s is negative"},
		{[]string{"--node-id", "1", "--voters", "1@127.0.0.1:1", "--leader-imbalance-check-interval", "-1s"}, "LeaderImbalanceCheckInterval -1s is negative"},
		{[]string{"--controller-listen", "127.0.0.1:0"}, "need --voters"},
		{[]string{"--node-id", "-2"}, "--node-id -2"},
	} {
		err := runBroker(t.Context(), append([]string{"--listen", "127.0.0.1:0", "--data-dir", dir}, c.args...))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want one line containing %q", c.args, err, c.want)
		}
	}
}

// createThroughController runs `pitwall topics create` until it works
// or a minute has passed: the admin client asks the broker it dials for
// the controller, and a Raft leadership change between brokers (seen at
// the start of a -race run) leaves it a moment without one ("controller
// is not available"), which the user's answer is to run it again.
func createThroughController(t *testing.T, topic string, args ...string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := topics(t, append([]string{"create", topic}, args...)...)
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "controller is not available") || time.Now().After(deadline) {
			t.Fatalf("pitwall topics create %s %s: %v", topic, strings.Join(args, " "), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
