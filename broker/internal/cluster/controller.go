package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// DefaultSessionTimeout is how long a broker may go without a heartbeat
// reaching the controller before it is fenced (--broker-session-timeout).
const DefaultSessionTimeout = 3 * time.Second

// DefaultRebalanceInterval is how often the active controller moves
// leaders back to their preferred replicas (Kafka's
// leader.imbalance.check.interval.seconds, 300).
const DefaultRebalanceInterval = 5 * time.Minute

// LeaderImbalancePercent is Kafka's leader.imbalance.per.broker.percentage
// default: a broker's partitions are moved back once more than this share
// of those it is the preferred replica of are led by others.
const LeaderImbalancePercent = 10

// Voter is one member of the controller quorum: a broker's node id and
// its controller address.
type Voter struct {
	ID   int32
	Addr string
}

// ParseVoters reads Kafka's controller.quorum.voters form:
// "1@127.0.0.1:9093,2@127.0.0.1:9193,3@127.0.0.1:9293".
func ParseVoters(s string) ([]Voter, error) {
	var out []Voter
	seen := map[int32]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		idS, addr, ok := strings.Cut(part, "@")
		id, err := strconv.ParseInt(idS, 10, 32)
		if !ok || err != nil || id < 0 {
			return nil, fmt.Errorf("voter %q: want ID@HOST:PORT with ID a node id of 0 or more", part)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("voter %q: %v", part, err)
		}
		if seen[int32(id)] {
			return nil, fmt.Errorf("voter %q: node id %d named twice", part, id)
		}
		seen[int32(id)] = true
		out = append(out, Voter{ID: int32(id), Addr: addr})
	}
	return out, nil
}

// Config configures a Controller.
type Config struct {
	// NodeID is this broker's id; it must be one of Voters.
	NodeID int32
	// Listen is the controller address to bind (host:port); default the
	// address Voters gives NodeID.
	Listen string
	// Listener, if set, is the bound controller listener (tests bind
	// random ports first); Listen is then ignored.
	Listener net.Listener
	// Voters is the quorum: every broker of the cluster.
	Voters []Voter
	// Dir holds the Raft log (raft.db) and snapshots.
	Dir string
	// Host and Port are this broker's Kafka address, registered for
	// Metadata.
	Host string
	Port int32
	// SessionTimeout fences a broker whose heartbeats stop for this long.
	// Default DefaultSessionTimeout.
	SessionTimeout time.Duration
	// RebalanceInterval is how often the active controller moves leaders
	// back to their preferred replicas (State.Imbalanced). Default
	// DefaultRebalanceInterval; negative: never (ElectPreferred still
	// does it on request).
	RebalanceInterval time.Duration
	Logger            *slog.Logger
}

// Controller is one broker's member of the controller quorum: its Raft
// node, the replicated State, and (on the Raft leader, the active
// controller) the broker sessions.
type Controller struct {
	cfg   Config
	log   *slog.Logger
	fsm   *fsm
	raft  *raft.Raft
	store *raftboltdb.BoltStore
	mux   *mux
	http  *http.Server
	hc    *http.Client
	addrs map[raft.ServerID]string // controller address by Raft id

	// hbAt is when this broker's last heartbeat was answered (unix ns)
	// and hbIndex the active controller's state index in that answer.
	hbAt    atomic.Int64
	hbIndex atomic.Uint64
	// caughtUp is set once State reached an hbIndex (see CaughtUp).
	caughtUp atomic.Bool

	sessMu   sync.Mutex
	lastSeen map[int32]time.Time // on the active controller: the last heartbeat of each broker

	stop     chan struct{}
	wg       sync.WaitGroup
	closeOne sync.Once

	// hbStop ends the heartbeats (a controlled shutdown: they would
	// register the broker again); hbDone is closed once they have.
	hbStop     chan struct{}
	hbDone     chan struct{}
	hbStopOnce sync.Once
}

// Open starts this broker's Raft node (bootstrapping the quorum from
// Voters on first start), its controller RPC server, and the heartbeats
// that register the broker and keep it unfenced.
func Open(cfg Config) (*Controller, error) {
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	if cfg.RebalanceInterval == 0 {
		cfg.RebalanceInterval = DefaultRebalanceInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	addrs := map[raft.ServerID]string{}
	var self string
	for _, v := range cfg.Voters {
		addrs[serverID(v.ID)] = v.Addr
		if v.ID == cfg.NodeID {
			self = v.Addr
		}
	}
	if self == "" {
		return nil, fmt.Errorf("cluster: node id %d is not among the voters", cfg.NodeID)
	}
	if cfg.Listen == "" {
		cfg.Listen = self
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	c := &Controller{
		cfg:      cfg,
		log:      cfg.Logger.With("node_id", cfg.NodeID),
		fsm:      newFSM(),
		addrs:    addrs,
		lastSeen: map[int32]time.Time{},
		stop:     make(chan struct{}),
		hbStop:   make(chan struct{}),
		hbDone:   make(chan struct{}),
	}
	if err := c.start(self); err != nil {
		c.shutdown()
		return nil, err
	}
	c.wg.Add(3)
	go c.heartbeatLoop()
	go c.sessionLoop()
	go c.rebalanceLoop()
	return c, nil
}

func (c *Controller) start(self string) error {
	hl := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: newSlogWriter(c.log)})
	var err error
	c.store, err = raftboltdb.NewBoltStore(filepath.Join(c.cfg.Dir, "raft.db"))
	if err != nil {
		return fmt.Errorf("cluster: raft log: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(c.cfg.Dir, 2, hl)
	if err != nil {
		return fmt.Errorf("cluster: snapshots: %w", err)
	}
	ln := c.cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", c.cfg.Listen); err != nil {
			return fmt.Errorf("cluster: controller listener: %w", err)
		}
	}
	c.mux = newMux(ln)
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  raftLayer{chanListener{c.mux, c.mux.raft}},
		MaxPool: 3,
		Timeout: 2 * time.Second,
		Logger:  hl,
	})
	rc := raft.DefaultConfig()
	rc.LocalID = serverID(c.cfg.NodeID)
	rc.Logger = hl
	// A switch between trackside machines: much quicker than the WAN
	// defaults, and elections inside the broker session timeout: 500 ms
	// from a 1 s session up (the default is 3 s), half of a shorter one,
	// so that the death of the active controller, noticed by Raft within
	// two heartbeat timeouts, costs about one session like any broker's
	// (the new controller counts its session from its last Raft contact:
	// sessionLoop).
	hb := max(min(500*time.Millisecond, c.cfg.SessionTimeout/2), 50*time.Millisecond)
	rc.HeartbeatTimeout = hb
	rc.ElectionTimeout = hb
	// The lease as long as the heartbeat timeout (the library's default
	// is half): with one of three brokers dead, the controller keeps its
	// lease only through the one left, and on a busy 2-core machine that
	// one answered late enough now and then (> 250 ms) to depose it just
	// as it was fencing the dead broker; the next controller then gave
	// the dead broker a whole session again (9.5 s failovers at 3 s).
	rc.LeaderLeaseTimeout = hb
	rc.SnapshotThreshold = 1024
	rc.SnapshotInterval = 30 * time.Second
	existing, err := raft.HasExistingState(c.store, c.store, snaps)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.raft, err = raft.NewRaft(rc, c.fsm, c.store, c.store, snaps, trans)
	if err != nil {
		return fmt.Errorf("cluster: raft: %w", err)
	}
	if !existing {
		var conf raft.Configuration
		for _, v := range c.cfg.Voters {
			conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: serverID(v.ID), Address: raft.ServerAddress(v.Addr)})
		}
		if err := c.raft.BootstrapCluster(conf).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return fmt.Errorf("cluster: bootstrap: %w", err)
		}
	}
	c.hc = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if _, err := conn.Write([]byte{rpcMagic}); err != nil {
				conn.Close()
				return nil, err
			}
			return conn, nil
		},
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     30 * time.Second,
	}}
	hm := http.NewServeMux()
	hm.HandleFunc("POST /heartbeat", c.serveHeartbeat)
	hm.HandleFunc("POST /create-topic", c.serveCreateTopic)
	hm.HandleFunc("POST /delete-topic", c.serveDeleteTopic)
	hm.HandleFunc("POST /alter-isr", c.serveAlterISR)
	hm.HandleFunc("POST /elect-preferred", c.serveElectPreferred)
	hm.HandleFunc("POST /shutdown", c.serveRoute)
	c.http = &http.Server{Handler: hm, ReadHeaderTimeout: helloTimeout}
	go c.http.Serve(chanListener{c.mux, c.mux.rpc})
	return nil
}

func serverID(id int32) raft.ServerID { return raft.ServerID(strconv.Itoa(int(id))) }

// State is the metadata as this broker last applied it.
func (c *Controller) State() *State { return c.fsm.state.Load() }

// Changed returns a channel closed at the next change of State.
func (c *Controller) Changed() <-chan struct{} { return c.fsm.wait() }

// Leader is the node id of the active controller (the Raft leader) as
// this broker knows it, or -1.
func (c *Controller) Leader() int32 {
	_, id := c.raft.LeaderWithID()
	n, err := strconv.Atoi(string(id))
	if err != nil {
		return -1
	}
	return int32(n)
}

// Close leaves the quorum's traffic (the others elect a new leader if
// this was it) and closes the Raft log.
func (c *Controller) Close() error {
	var err error
	c.closeOne.Do(func() {
		close(c.stop)
		c.wg.Wait()
		if c.raft != nil && c.raft.State() == raft.Leader {
			// Hands the quorum to another voter that is caught up,
			// so the cluster has a controller again at once rather
			// than after an election timeout. Best effort: with no
			// voter to take it, Shutdown below leaves as before.
			if lerr := c.raft.LeadershipTransfer().Error(); lerr != nil {
				c.log.Info("cluster: handing the controller to another broker failed; it is elected instead", "err", lerr)
			}
		}
		err = c.shutdown()
	})
	return err
}

func (c *Controller) shutdown() error {
	var err error
	if c.raft != nil {
		err = c.raft.Shutdown().Error()
	}
	if c.http != nil {
		c.http.Close()
	}
	if c.mux != nil {
		c.mux.close()
		c.mux.wg.Wait()
	}
	if c.hc != nil {
		c.hc.CloseIdleConnections()
	}
	if c.store != nil {
		err = errors.Join(err, c.store.Close())
	}
	return err
}

// heartbeatLoop registers this broker and keeps its session alive: a
// heartbeat to the active controller every third of the session timeout.
func (c *Controller) heartbeatLoop() {
	defer c.wg.Done()
	defer close(c.hbDone)
	every := max(c.cfg.SessionTimeout/3, 50*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		ctx, cancel := context.WithTimeout(context.Background(), every)
		sent := time.Now()
		var resp heartbeatResp
		err := c.call(ctx, "/heartbeat", heartbeatReq{ID: c.cfg.NodeID, Host: c.cfg.Host, Port: c.cfg.Port}, &resp)
		cancel()
		if err == nil {
			c.hbIndex.Store(resp.Index)
			c.hbAt.Store(sent.UnixNano())
		}
		switch {
		case err != nil && !failing:
			failing = true
			c.log.Warn("cluster: heartbeat to the controller failed (logged once until one succeeds)", "err", err)
		case err == nil && failing:
			failing = false
			c.log.Info("cluster: heartbeats reach the controller again")
		}
		select {
		case <-c.stop:
			return
		case <-c.hbStop:
			return
		case <-t.C:
		}
	}
}

// ControlledShutdown takes this broker out of the cluster before it stops
// (Kafka's controlled shutdown): it stops the heartbeats, has the active
// controller fence the broker at once, which gives every partition it led
// to another ISR member and takes it out of every ISR, and waits until
// this broker has applied that. Its clients then get
// NOT_LEADER_OR_FOLLOWER and find the new leaders while this broker still
// answers, instead of losing its connections and waiting a whole session
// for the fence. ctx bounds the wait (no quorum, no controller: the
// broker stops anyway, and the session fences it later).
func (c *Controller) ControlledShutdown(ctx context.Context) error {
	c.hbStopOnce.Do(func() { close(c.hbStop) })
	select {
	case <-c.hbDone:
	case <-ctx.Done():
		return ctx.Err()
	}
	var resp struct {
		Index uint64 `json:"index"`
	}
	if err := c.call(ctx, "/shutdown", shutdownReq{ID: c.cfg.NodeID}, &resp); err != nil {
		return err
	}
	// A follower learns that an entry is committed from the leader's
	// next heartbeat; when the whole cluster stops at once, the
	// controller may be gone before it sends one.
	wctx, cancel := context.WithTimeout(ctx, shutdownApplyWait)
	defer cancel()
	if _, err := c.WaitIndex(wctx, resp.Index); err != nil {
		return fmt.Errorf("%w (index %d): %v", ErrFencedNotApplied, resp.Index, err)
	}
	return nil
}

// shutdownApplyWait bounds how long ControlledShutdown waits for this
// broker to apply its own fence once the controller has committed it:
// a few Raft heartbeats.
const shutdownApplyWait = 2 * time.Second

// ErrFencedNotApplied: the controller fenced this broker (its partitions
// have new leaders), but this broker has not heard so yet.
var ErrFencedNotApplied = errors.New("cluster: fenced by the controller, not yet applied here")

type shutdownReq struct {
	ID int32 `json:"id"`
}

// fenceOnRequest fences broker r.ID on its request (see ControlledShutdown).
func (c *Controller) fenceOnRequest(r shutdownReq) (map[string]uint64, error) {
	s := c.State()
	b := s.Brokers[r.ID]
	if b == nil || b.Fenced {
		return map[string]uint64{"index": s.Index}, nil
	}
	c.log.Info("cluster: fencing broker: controlled shutdown", "broker", r.ID)
	s, err := c.applyCmd(command{Fence: &fenceCmd{ID: b.ID, Epoch: b.Epoch}})
	if err != nil {
		return nil, err
	}
	return map[string]uint64{"index": s.Index}, nil
}

// sessionLoop runs on every broker and acts on the active controller:
// it fences brokers whose heartbeats stopped for the session timeout.
func (c *Controller) sessionLoop() {
	defer c.wg.Done()
	t := time.NewTicker(max(c.cfg.SessionTimeout/10, 20*time.Millisecond))
	defer t.Stop()
	leading := false
	var prev raft.ServerID    // the active controller while this broker followed
	var prevContact time.Time // when this broker last heard from it
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if c.raft.State() != raft.Leader {
			leading = false
			if _, id := c.raft.LeaderWithID(); id != "" {
				prev, prevContact = id, c.raft.LastContact()
			}
			continue
		}
		now := time.Now()
		c.sessMu.Lock()
		if !leading {
			// A new active controller gives every broker a full session
			// from now: it has heard nobody yet. Except the broker that
			// was the active controller: its Raft contact is the last
			// sign of life this one had from it, and the quorum elected
			// another because that contact stopped (its death, in
			// failover, would otherwise wait out an election and then a
			// whole session).
			leading = true
			clear(c.lastSeen)
			if id, err := strconv.Atoi(string(prev)); err == nil && int32(id) != c.cfg.NodeID && !prevContact.IsZero() {
				c.lastSeen[int32(id)] = prevContact
			}
		}
		var fence []fenceCmd
		for _, b := range c.State().Brokers {
			seen, ok := c.lastSeen[b.ID]
			if !ok {
				c.lastSeen[b.ID] = now
				continue
			}
			if !b.Fenced && now.Sub(seen) > c.cfg.SessionTimeout {
				fence = append(fence, fenceCmd{ID: b.ID, Epoch: b.Epoch})
			}
		}
		c.sessMu.Unlock()
		for _, f := range fence {
			c.log.Warn("cluster: fencing broker: no heartbeat within the session timeout", "broker", f.ID, "session_timeout", c.cfg.SessionTimeout)
			if _, err := c.applyCmd(command{Fence: &f}); err != nil {
				c.log.Warn("cluster: fencing broker", "broker", f.ID, "err", err)
			}
		}
	}
}

// applyCmd appends cmd to the Raft log on the active controller and
// waits for it to be applied here, returning the FSM's answer.
func (c *Controller) applyCmd(cmd command) (*State, error) {
	f := c.raft.Apply(encode(cmd), 5*time.Second)
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotController, err)
	}
	if err, ok := f.Response().(error); ok && err != nil {
		return nil, err
	}
	return c.State(), nil
}

type heartbeatReq struct {
	ID   int32  `json:"id"`
	Host string `json:"host"`
	Port int32  `json:"port"`
}

// heartbeatResp carries the active controller's state index: the broker
// is caught up once it has applied that far.
type heartbeatResp struct {
	Index uint64 `json:"index"`
}

func (c *Controller) heartbeat(r heartbeatReq) (heartbeatResp, error) {
	c.sessMu.Lock()
	c.lastSeen[r.ID] = time.Now()
	c.sessMu.Unlock()
	s := c.State()
	b := s.Brokers[r.ID]
	if b != nil && !b.Fenced && b.Host == r.Host && b.Port == r.Port {
		return heartbeatResp{Index: s.Index}, nil
	}
	c.log.Info("cluster: registering broker", "broker", r.ID, "host", r.Host, "port", r.Port)
	s, err := c.applyCmd(command{Register: &registerCmd{ID: r.ID, Host: r.Host, Port: r.Port}})
	if err != nil {
		return heartbeatResp{}, err
	}
	return heartbeatResp{Index: s.Index}, nil
}

// CaughtUp reports whether this broker has, since it started, applied
// the state up to the index of an answered heartbeat. Until then, after a
// restart, State may lack what the quorum's log holds (Raft applies the
// committed entries once it hears from the leader): a topic missing from
// it may well exist. Once true it stays true.
func (c *Controller) CaughtUp() bool {
	if c.caughtUp.Load() {
		return true
	}
	i := c.hbIndex.Load()
	if i == 0 || c.State().Index < i {
		return false
	}
	c.caughtUp.Store(true)
	return true
}

// Active reports whether this broker may act on the state it holds (lead
// partitions): its last heartbeat was answered within the session
// timeout (so the controller has not fenced it, and it is on the
// majority's side), it has applied the state as of that answer, and the
// state has it live. A broker cut off from the quorum stops leading once
// its session runs out, as the quorum fences it.
func (c *Controller) Active() bool {
	at := c.hbAt.Load()
	if at == 0 || time.Since(time.Unix(0, at)) >= c.cfg.SessionTimeout {
		return false
	}
	s := c.State()
	return s.Index >= c.hbIndex.Load() && s.Live(c.cfg.NodeID)
}

// CreateTopicRequest asks for a topic. Replicas, if given, is the
// assignment (one replica list per partition); otherwise Partitions and
// ReplicationFactor are spread over the live brokers.
type CreateTopicRequest struct {
	Name              string            `json:"name"`
	Partitions        int               `json:"partitions"`
	ReplicationFactor int               `json:"replication_factor"`
	Replicas          [][]int32         `json:"replicas,omitempty"`
	Configs           map[string]string `json:"configs,omitempty"`
}

// CreateTopic creates a topic through the active controller (forwarded
// to it if it is another broker) and returns it once this broker's state
// has it.
func (c *Controller) CreateTopic(ctx context.Context, req CreateTopicRequest) (*Topic, error) {
	var resp struct {
		Index uint64 `json:"index"`
	}
	if err := c.call(ctx, "/create-topic", req, &resp); err != nil {
		return nil, err
	}
	s, err := c.WaitIndex(ctx, resp.Index)
	if err != nil {
		return nil, err
	}
	if t := s.Topics[req.Name]; t != nil {
		return t, nil
	}
	return nil, fmt.Errorf("%w: %s deleted as it was created", ErrUnknownTopic, req.Name)
}

func (c *Controller) createTopic(req CreateTopicRequest) (*State, error) {
	s := c.State()
	if s.Topics[req.Name] != nil {
		return nil, fmt.Errorf("%w: %s", ErrTopicExists, req.Name)
	}
	cmd := &createTopicCmd{Name: req.Name, Configs: req.Configs, Replicas: req.Replicas}
	if len(cmd.Replicas) == 0 {
		var live []int32
		for _, b := range s.LiveBrokers() {
			live = append(live, b.ID)
		}
		start := 0
		if len(live) > 0 {
			start = int(s.Index % uint64(len(live)))
		}
		var err error
		if cmd.Replicas, err = Assign(live, req.Partitions, req.ReplicationFactor, start); err != nil {
			return nil, err
		}
	}
	if _, err := rand.Read(cmd.ID[:]); err != nil {
		return nil, err
	}
	return c.applyCmd(command{CreateTopic: cmd})
}

// DeleteTopic deletes a topic through the active controller.
func (c *Controller) DeleteTopic(ctx context.Context, name string) error {
	var resp struct {
		Index uint64 `json:"index"`
	}
	if err := c.call(ctx, "/delete-topic", deleteTopicCmd{Name: name}, &resp); err != nil {
		return err
	}
	_, err := c.WaitIndex(ctx, resp.Index)
	return err
}

// AlterISR asks the active controller to set a partition's ISR; leader
// and leaderEpoch must be the partition's current ones (ErrStaleLeader).
func (c *Controller) AlterISR(ctx context.Context, topic string, partition, leader, leaderEpoch int32, isr []int32) error {
	var resp struct {
		Index uint64 `json:"index"`
	}
	req := alterISRCmd{Topic: topic, Partition: partition, Leader: leader, LeaderEpoch: leaderEpoch, ISR: isr}
	if err := c.call(ctx, "/alter-isr", req, &resp); err != nil {
		return err
	}
	_, err := c.WaitIndex(ctx, resp.Index)
	return err
}

// WaitIndex waits until this broker has applied Raft index i.
func (c *Controller) WaitIndex(ctx context.Context, i uint64) (*State, error) {
	for {
		ch := c.Changed()
		if s := c.State(); s.Index >= i {
			return s, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.stop:
			return nil, ErrNotController
		}
	}
}

// The RPC server: each handler answers only on the active controller
// (errNotLeader otherwise, and the caller asks again whoever leads then).

var errNotLeader = errors.New("cluster: not the active controller")

// rpcError is an error as it crosses the wire: a kind naming the sentinel
// error, and the message.
type rpcError struct {
	Kind  string `json:"kind"`
	Error string `json:"error"`
}

var kinds = map[string]error{
	"topic_exists":            ErrTopicExists,
	"unknown_topic":           ErrUnknownTopic,
	"replication_factor":      ErrReplicationFactor,
	"assignment":              ErrAssignment,
	"stale_leader":            ErrStaleLeader,
	"not_leader":              errNotLeader,
	"not_controller":          ErrNotController,
	"election_not_needed":     ErrElectionNotNeeded,
	"preferred_not_available": ErrPreferredNotAvailable,
}

func toRPCError(err error) rpcError {
	for k, e := range kinds {
		if errors.Is(err, e) {
			return rpcError{Kind: k, Error: err.Error()}
		}
	}
	return rpcError{Error: err.Error()}
}

func (e rpcError) err() error {
	if s := kinds[e.Kind]; s != nil {
		return fmt.Errorf("%w: %s", s, strings.TrimPrefix(e.Error, s.Error()+": "))
	}
	return errors.New(e.Error)
}

// route runs f if this broker is the active controller.
func (c *Controller) route(path string, body []byte) (any, error) {
	if c.raft.State() != raft.Leader {
		return nil, errNotLeader
	}
	switch path {
	case "/heartbeat":
		var r heartbeatReq
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, err
		}
		return c.heartbeat(r)
	case "/create-topic":
		var r CreateTopicRequest
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, err
		}
		s, err := c.createTopic(r)
		if err != nil {
			return nil, err
		}
		return map[string]uint64{"index": s.Index}, nil
	case "/delete-topic":
		var r deleteTopicCmd
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, err
		}
		s, err := c.applyCmd(command{DeleteTopic: &r})
		if err != nil {
			return nil, err
		}
		return map[string]uint64{"index": s.Index}, nil
	case "/elect-preferred":
		var r electPreferredReq
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, err
		}
		return c.electPreferred(r)
	case "/shutdown":
		var r shutdownReq
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, err
		}
		return c.fenceOnRequest(r)
	case "/alter-isr":
		var r alterISRCmd
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, err
		}
		s, err := c.applyCmd(command{AlterISR: &r})
		if err != nil {
			return nil, err
		}
		return map[string]uint64{"index": s.Index}, nil
	}
	return nil, fmt.Errorf("cluster: no such call %s", path)
}

func (c *Controller) serveRoute(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	out, err := c.route(r.URL.Path, body)
	if err != nil {
		w.WriteHeader(http.StatusConflict)
		json.NewEncoder(w).Encode(toRPCError(err))
		return
	}
	json.NewEncoder(w).Encode(out)
}

func (c *Controller) serveHeartbeat(w http.ResponseWriter, r *http.Request)   { c.serveRoute(w, r) }
func (c *Controller) serveCreateTopic(w http.ResponseWriter, r *http.Request) { c.serveRoute(w, r) }
func (c *Controller) serveDeleteTopic(w http.ResponseWriter, r *http.Request) { c.serveRoute(w, r) }
func (c *Controller) serveAlterISR(w http.ResponseWriter, r *http.Request)    { c.serveRoute(w, r) }
func (c *Controller) serveElectPreferred(w http.ResponseWriter, r *http.Request) {
	c.serveRoute(w, r)
}

// call sends a request to the active controller, itself or another
// broker, asking again (whoever leads by then) until ctx ends while no
// controller answers.
func (c *Controller) call(ctx context.Context, path string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	var last error = ErrNotController
	for {
		out, err := c.callOnce(ctx, path, body)
		if err == nil {
			if resp != nil {
				return json.Unmarshal(out, resp)
			}
			return nil
		}
		if !errors.Is(err, errNotLeader) && !errors.Is(err, ErrNotController) {
			return err
		}
		last = err
		select {
		case <-ctx.Done():
			if errors.Is(last, ErrNotController) {
				return last
			}
			return fmt.Errorf("%w: %v", ErrNotController, last)
		case <-c.stop:
			return ErrNotController
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Controller) callOnce(ctx context.Context, path string, body []byte) ([]byte, error) {
	addr, id := c.raft.LeaderWithID()
	if addr == "" {
		return nil, fmt.Errorf("%w: no leader elected", ErrNotController)
	}
	// Raft knows the leader by the address it listens on; this broker
	// reaches it at the one its Voters give (the same unless something,
	// such as a test's proxy, stands between them).
	if a, ok := c.addrs[id]; ok {
		addr = raft.ServerAddress(a)
	}
	if id == serverID(c.cfg.NodeID) {
		out, err := c.route(path, body)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+string(addr)+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hresp, err := c.hc.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotController, err)
	}
	defer hresp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(hresp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotController, err)
	}
	if hresp.StatusCode != http.StatusOK {
		var e rpcError
		if json.Unmarshal(out, &e) != nil {
			return nil, fmt.Errorf("%w: %s answered %s", ErrNotController, addr, hresp.Status)
		}
		return nil, e.err()
	}
	return out, nil
}

// slogWriter passes Raft's log lines (warnings and errors only) to slog,
// at most one per raftLogEvery: a peer that is down makes Raft log every
// retry, and the broker's own lines say what matters (fencing, failed
// heartbeats).
type slogWriter struct {
	log *slog.Logger
	mu  *sync.Mutex
	at  *time.Time
	n   *int
}

const raftLogEvery = 10 * time.Second

func newSlogWriter(log *slog.Logger) slogWriter {
	return slogWriter{log: log, mu: new(sync.Mutex), at: new(time.Time), n: new(int)}
}

func (w slogWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if time.Since(*w.at) < raftLogEvery {
		*w.n++
		return len(b), nil
	}
	w.log.Warn(strings.TrimSpace(string(b)), "component", "raft", "not_logged", *w.n)
	*w.at, *w.n = time.Now(), 0
	return len(b), nil
}
