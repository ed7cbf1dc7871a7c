package bench

// Cluster targets (issue 13): `pitwall bench produce|consume --cluster N`
// measures a cluster of N `pitwall broker` child processes on loopback
// (every broker a controller voter, the topic created with replication
// factor N) and, beside it in the same run, one `pitwall broker` child
// process on its own (Peer "single"): the same binary, the same
// workload, so the ratio is what the cluster costs. `pitwall bench
// failover` (cluster_failover.go) uses the same cluster.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Target and peer names of cluster runs.
const (
	TargetCluster = "cluster" // Config.Cluster `pitwall broker` processes
	TargetSingle  = "single"  // one `pitwall broker` process
	PeerSingle    = "single"  // the peer of a --cluster run: one broker process
	maxCluster    = 9
)

// clusterReadyTimeout bounds how long a started cluster may take to list
// every broker and a controller.
const clusterReadyTimeout = time.Minute

// procNode is one broker process of a procCluster.
type procNode struct {
	id   int32
	addr string // Kafka listener
	ctl  string // controller listener
	dir  string
	proc *child // nil while stopped
}

// procCluster is a cluster of `pitwall broker` child processes on
// loopback, each with its own data directory under dir; with one node and
// no voters it is a single broker.
type procCluster struct {
	exe      string
	voters   string // empty: a single broker, not in cluster mode
	args     []string
	logLevel string // the brokers' --log-level; default error
	nodes    []*procNode
	log      *slog.Logger
}

// pitwallExe is exe, or this process's own executable.
func pitwallExe(exe string) (string, error) {
	if exe != "" {
		return exe, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	return exe, nil
}

// startProcCluster starts n brokers (cluster mode for n > 1, or with
// cluster set) with data under dir, each with args added to its command
// line, and waits until every broker's Metadata lists all n.
func startProcCluster(ctx context.Context, exe string, n int, cluster bool, dir string, args []string, log *slog.Logger) (*procCluster, error) {
	return startProcClusterLevel(ctx, exe, n, cluster, dir, args, "", log)
}

// startProcClusterLevel is startProcCluster with the brokers' --log-level.
func startProcClusterLevel(ctx context.Context, exe string, n int, cluster bool, dir string, args []string, level string, log *slog.Logger) (*procCluster, error) {
	pc := &procCluster{exe: exe, args: args, logLevel: level, log: log}
	var voters []string
	for i := range n {
		nd := &procNode{id: int32(i + 1), dir: filepath.Join(dir, strconv.Itoa(i+1))}
		var err error
		if nd.addr, err = freeAddr(); err != nil {
			return nil, err
		}
		if nd.ctl, err = freeAddr(); err != nil {
			return nil, err
		}
		voters = append(voters, fmt.Sprintf("%d@%s", nd.id, nd.ctl))
		pc.nodes = append(pc.nodes, nd)
	}
	if cluster {
		pc.voters = strings.Join(voters, ",")
	}
	for i := range pc.nodes {
		if err := pc.start(i); err != nil {
			pc.kill()
			return nil, err
		}
	}
	if err := pc.waitBrokers(ctx, n); err != nil {
		pc.kill()
		return nil, err
	}
	return pc, nil
}

// start starts node i (again).
func (pc *procCluster) start(i int) error {
	nd := pc.nodes[i]
	level := pc.logLevel
	if level == "" {
		level = "error"
	}
	args := []string{"broker", "--listen", nd.addr, "--data-dir", nd.dir, "--log-level", level}
	if pc.voters != "" {
		args = append(args, "--node-id", strconv.Itoa(int(nd.id)), "--controller-listen", nd.ctl, "--voters", pc.voters)
	}
	cmd := exec.Command(pc.exe, append(args, pc.args...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("bench: start broker %d: %w", nd.id, err)
	}
	nd.proc = &child{cmd: cmd, addr: nd.addr, done: make(chan error, 1)}
	go func() { nd.proc.done <- cmd.Wait() }()
	return nil
}

// killNode SIGKILLs node i and waits for it to be gone.
func (pc *procCluster) killNode(i int) {
	if nd := pc.nodes[i]; nd.proc != nil {
		nd.proc.kill()
		nd.proc = nil
	}
}

// stopNode sends node i SIGTERM and waits for it to exit.
func (pc *procCluster) stopNode(i int) error {
	nd := pc.nodes[i]
	if nd.proc == nil {
		return nil
	}
	_, err := nd.proc.stop()
	nd.proc = nil
	return err
}

// kill SIGKILLs every node.
func (pc *procCluster) kill() {
	for i := range pc.nodes {
		pc.killNode(i)
	}
}

// stop sends every running node SIGTERM and waits for them to exit.
func (pc *procCluster) stop() error {
	var errs []error
	for i, nd := range pc.nodes {
		if err := pc.stopNode(i); err != nil {
			errs = append(errs, fmt.Errorf("broker %d: %w", nd.id, err))
		}
	}
	return errors.Join(errs...)
}

func (pc *procCluster) seeds() []string {
	var out []string
	for _, nd := range pc.nodes {
		out = append(out, nd.addr)
	}
	return out
}

// index returns the index of the node with id, or -1.
func (pc *procCluster) index(id int32) int {
	for i, nd := range pc.nodes {
		if nd.id == id {
			return i
		}
	}
	return -1
}

// metadata asks node i alone for the metadata of topics (every topic
// when none is named).
func (pc *procCluster) metadata(ctx context.Context, i int, topics ...string) (*kmsg.MetadataResponse, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(pc.nodes[i].addr), kgo.ClientID("pitwall-bench-admin"))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := cl.SeedBrokers()[0].Request(rctx, req) // this node itself
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.MetadataResponse), nil
}

// waitBrokers waits until every running node's Metadata lists n brokers
// (and, in cluster mode, a controller).
func (pc *procCluster) waitBrokers(ctx context.Context, n int) error {
	deadline := time.Now().Add(clusterReadyTimeout)
	for i, nd := range pc.nodes {
		if nd.proc == nil {
			continue
		}
		for {
			m, err := pc.metadata(ctx, i)
			if err == nil && len(m.Brokers) == n && (pc.voters == "" || m.ControllerID >= 0) {
				break
			}
			select {
			case err := <-nd.proc.done:
				nd.proc.done <- err
				return fmt.Errorf("bench: broker %d exited: %v", nd.id, err)
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("bench: broker %d does not list %d brokers after %v (last: %v)", nd.id, n, clusterReadyTimeout, err)
			}
		}
	}
	return nil
}

// procTarget starts n `pitwall broker` processes (a cluster if n > 1)
// as a target of the workload, in cfg.DataDir/name or a temporary
// directory that stop removes.
func procTarget(ctx context.Context, cfg Config, name string, n int) (*target, error) {
	exe, err := pitwallExe(cfg.Broker)
	if err != nil {
		return nil, err
	}
	dir, cleanup := filepath.Join(cfg.DataDir, name), func() error { return nil }
	if cfg.DataDir == "" {
		tmp, err := os.MkdirTemp("", "pitwall-bench-"+name+"-")
		if err != nil {
			return nil, fmt.Errorf("bench: data dir: %w", err)
		}
		dir, cleanup = tmp, func() error { return os.RemoveAll(tmp) }
	}
	args := []string{"--fsync", cfg.Fsync, "--partitions", strconv.Itoa(cfg.Partitions)}
	pc, err := startProcCluster(ctx, exe, n, n > 1, dir, args, cfg.Logger)
	if err != nil {
		return nil, errors.Join(err, cleanup())
	}
	return &target{
		name:  name,
		seeds: pc.seeds(),
		rf:    int16(n),
		ready: func(ctx context.Context, topic string) error { return pc.readyTopic(ctx, topic, n) },
		stop:  func() error { return errors.Join(pc.stop(), cleanup()) },
	}, nil
}

// readyTopic waits until every broker agrees on topic (waitTopic), then
// until each partition has acknowledged one acks=all record: a leader
// named in every broker's Metadata may still be taking the partition
// over and answer NOT_LEADER_OR_FOLLOWER for a moment, which kgo retries
// but the raw producer takes for an error.
func (pc *procCluster) readyTopic(ctx context.Context, topic string, isr int) error {
	if err := pc.waitTopic(ctx, topic, isr); err != nil {
		return err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(pc.seeds()...), kgo.ClientID("pitwall-bench-admin"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		return err
	}
	defer cl.Close()
	m, err := pc.metadata(ctx, 0, topic)
	if err != nil {
		return err
	}
	var rs []*kgo.Record
	for _, t := range m.Topics {
		for _, p := range t.Partitions {
			rs = append(rs, &kgo.Record{Topic: topic, Partition: p.Partition, Value: []byte("ready")})
		}
	}
	pctx, cancel := context.WithTimeout(ctx, clusterReadyTimeout)
	defer cancel()
	if err := cl.ProduceSync(pctx, rs...).FirstErr(); err != nil {
		return fmt.Errorf("bench: topic %s: a record to each partition: %w", topic, err)
	}
	return nil
}

// waitTopic waits until every running node's Metadata lists topic with
// each partition led by the same broker on all of them and an ISR of
// isr replicas.
func (pc *procCluster) waitTopic(ctx context.Context, topic string, isr int) error {
	deadline := time.Now().Add(clusterReadyTimeout)
	for {
		err := pc.topicAgreed(ctx, topic, isr)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: topic %s not ready on every broker after %v: %w", topic, clusterReadyTimeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// topicAgreed is nil once every running node agrees on topic's leaders
// and each partition's ISR holds isr replicas.
func (pc *procCluster) topicAgreed(ctx context.Context, topic string, isr int) error {
	leaders := map[int32]int32{}
	for i, nd := range pc.nodes {
		if nd.proc == nil {
			continue
		}
		m, err := pc.metadata(ctx, i, topic)
		if err != nil {
			return fmt.Errorf("broker %d: %w", nd.id, err)
		}
		if len(m.Topics) != 1 || len(m.Topics[0].Partitions) == 0 {
			return fmt.Errorf("broker %d does not list the topic yet", nd.id)
		}
		for _, p := range m.Topics[0].Partitions {
			if l, ok := leaders[p.Partition]; ok && l != p.Leader {
				return fmt.Errorf("partition %d: brokers disagree on its leader (%d, %d)", p.Partition, l, p.Leader)
			}
			leaders[p.Partition] = p.Leader
			if p.ErrorCode != 0 || p.Leader < 0 || len(p.ISR) < isr {
				return fmt.Errorf("broker %d: partition %d: error %d, leader %d, ISR %v", nd.id, p.Partition, p.ErrorCode, p.Leader, p.ISR)
			}
		}
	}
	return nil
}
