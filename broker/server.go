package broker

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pitwall/pitwall/broker/internal/cluster"
	"github.com/pitwall/pitwall/broker/internal/commitlog"
	"github.com/pitwall/pitwall/broker/internal/durable"
	"github.com/pitwall/pitwall/broker/internal/group"
	"github.com/pitwall/pitwall/broker/internal/partition"
)

// Server is a running broker: a listener, its connections, and the topics
// (internal/partition) and groups (internal/group) under Config.DataDir.
//
// Locks: Server.connMu guards conns and is a leaf (no other lock is taken
// while it is held). The topics' and groups' locks belong to their packages
// (lock order in their docs); the broker holds none of its own across calls
// into them.
type Server struct {
	cfg   Config
	log   *slog.Logger
	fsync commitlog.FsyncPolicy
	// listeners are the sockets served (listeners.go), one per security
	// protocol; ln, host and port are the first one's, as before there
	// were several.
	listeners []*listener
	ln        net.Listener
	host      string
	port      int32
	sec       *security // TLS, SASL and the authorizer (security.go)
	clusterID string
	lock      *os.File // flock on DataDir, held for the server's life
	metrics   *metrics
	bad       *badInput
	slow      *badInput // connections closed or refused for how they behave
	// requestBudget holds request bodies being read
	// (MaxInflightRequestBytes); fetchBudget the record bytes of fetch
	// replies not yet written (FetchMemory).
	requestBudget *byteBudget
	fetchBudget   *byteBudget
	pids          *producerIDs
	topics        *partition.Registry // opened in New (its partitions in the background), closed in shutdown
	groups        *group.Coordinator  // started in New, closed in shutdown before the topics; nil in cluster mode
	// cgroups are cluster mode's coordinators, one per __consumer_offsets
	// partition led (cluster_groups.go), closed by reconcileLoop.
	cgroups *clusterGroups
	// cluster is the controller quorum member in cluster mode
	// (Config.Voters, cluster.go); nil on a single broker.
	cluster *cluster.Controller
	// replicas holds the replica fetchers in cluster mode
	// (replication.go), made and closed by reconcileLoop.
	replicas *replicaManager
	// openFailed is why the background opening of partitions stopped the
	// broker (opening.go); set before drain, read after Serve's goroutines end.
	openFailed error

	// ctx is the server's lifetime; cancel ends every connection.
	ctx    context.Context
	cancel context.CancelFunc
	// draining is closed when shutdown begins: long polls answer at once
	// and connections stop reading new requests.
	draining  chan struct{}
	drainOnce sync.Once
	// stopOnce runs the controlled shutdown once (Serve's cancellation
	// and Close may both ask).
	stopOnce sync.Once

	connMu sync.Mutex
	conns  map[*conn]struct{}
	perIP  map[string]int // open connections by client address
	connWG sync.WaitGroup

	started   atomic.Bool   // Serve has run (or Close made sure it never will)
	serving   chan struct{} // closed when Serve returns
	closeOnce sync.Once
	closeErr  error
}

// New opens DataDir (recovering every partition log) and binds the
// listener. Serve starts serving.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	fsync, _ := commitlog.ParseFsyncPolicy(cfg.Fsync) // validated by withDefaults
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		fsync:    fsync,
		metrics:  newMetrics(),
		draining: make(chan struct{}),
		conns:    map[*conn]struct{}{},
		perIP:    map[string]int{},
		serving:  make(chan struct{}),

		requestBudget: newByteBudget(cfg.MaxInflightRequestBytes),
		fetchBudget:   newByteBudget(cfg.FetchMemory),
	}
	s.bad = newBadInput(s.log, s.metrics.badInput)
	s.slow = newSparseLog(s.log, "closing connection")
	s.metrics.registerBudgets(s.requestBudget, s.fetchBudget)
	s.metrics.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "pitwall_broker_corrupt_batches_total", Help: "Damaged stretches of stored batches found (by reads, the scrub or recovery); their offsets are skipped.",
	}, s.corruptBatches))
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.openDataDir(); err != nil {
		s.cancel()
		return nil, err
	}
	start := time.Now()
	if err := s.openState(); err != nil {
		s.lock.Close()
		s.cancel()
		return nil, err
	}
	if err := s.listen(); err != nil {
		s.groups.Close()
		s.topics.Close()
		s.lock.Close()
		s.cancel()
		return nil, err
	}
	if err := s.openCluster(); err != nil {
		s.closeListeners()
		s.groups.Close()
		s.topics.Close()
		s.lock.Close()
		s.cancel()
		return nil, err
	}
	s.log.Info("broker ready", "listen", s.listenersString(), "advertise", s.advertisedString(),
		"data_dir", cfg.DataDir, "fsync", cfg.Fsync, "topics", s.topics.Len(), "open_time", time.Since(start).Round(time.Millisecond))
	return s, nil
}

// openState opens what DataDir holds: the producer id block, the topics
// (whose partitions open in the background, opening.go) and the group
// coordinator, replayed from __consumer_offsets (opened first). On error nothing is left open.
func (s *Server) openState() (err error) {
	if s.pids, err = openProducerIDs(filepath.Join(s.cfg.DataDir, "producer-ids.json")); err != nil {
		return err
	}
	pc := s.cfg.partitionConfig(s.fsync)
	pc.OpenInBackground = true // served as they open (opening.go)
	if s.topics, err = partition.Open(pc); err != nil {
		return err
	}
	s.metrics.registerPartitions(s.topics)
	if err = s.startGroups(); err != nil {
		s.topics.Close()
	}
	return err
}

// openDataDir creates DataDir, takes an exclusive lock on it so two brokers
// never share one, and reads or creates the cluster id.
func (s *Server) openDataDir() error {
	if err := os.MkdirAll(s.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("broker: data dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.cfg.DataDir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("broker: data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("broker: data dir %s is in use by another broker: %w", s.cfg.DataDir, err)
	}
	s.lock = f
	path := filepath.Join(s.cfg.DataDir, "meta.json")
	var meta struct {
		ClusterID string `json:"cluster_id"`
	}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &meta); err != nil || meta.ClusterID == "" {
			f.Close()
			return fmt.Errorf("broker: %s is corrupt: %v", path, err)
		}
	case errors.Is(err, os.ErrNotExist):
		var id [16]byte
		if _, err := rand.Read(id[:]); err != nil {
			f.Close()
			return err
		}
		meta.ClusterID = base64.RawURLEncoding.EncodeToString(id[:])
		b, _ := json.Marshal(meta)
		if err := durable.WriteFile(path, b); err != nil {
			f.Close()
			return err
		}
	default:
		f.Close()
		return err
	}
	s.clusterID = meta.ClusterID
	return nil
}

// Serve accepts connections until ctx is done or Close is called, then
// shuts down gracefully: it stops accepting and reading, sends every reply
// already owed, fsyncs and closes the logs (writing their clean-shutdown
// markers). It returns nil after a requested shutdown.
func (s *Server) Serve(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("broker: Serve called twice or after Close")
	}
	defer close(s.serving)
	var wg sync.WaitGroup
	wg.Add(5)
	go func() { defer wg.Done(); s.topics.Maintain(s.draining) }()
	go func() { defer wg.Done(); s.reconcileLoop(s.draining) }()
	go func() { defer wg.Done(); s.watchOpening(s.draining) }()
	go func() { defer wg.Done(); s.scrubLoop(s.draining) }()
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			s.controlledShutdown()
		case <-s.draining:
		}
		s.drain()
	}()
	err := s.acceptLoops()
	s.drain()
	wg.Wait()
	s.shutdown()
	if err == nil {
		err = s.openFailed
	}
	return err
}

func (s *Server) acceptLoop(l *listener) error {
	var delay time.Duration
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			select {
			case <-s.draining:
				return nil
			default:
			}
			if isTemporary(err) {
				// Out of file descriptors and the like: back off, as
				// net/http does, rather than spin or die.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept", "err", err, "retry_in", delay)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("broker: accept: %w", err)
		}
		delay = 0
		if tc, ok := nc.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		ip := clientIP(nc)
		s.connMu.Lock()
		if refused := s.refuseLocked(ip); refused != nil {
			s.connMu.Unlock()
			// Counted and logged before the close, so a client that sees
			// the connection end finds it in the log and the metric.
			s.metrics.connectionsClosed.WithLabelValues(refused.kind).Inc()
			s.slow.report(refused.kind, refused, "remote", nc.RemoteAddr().String())
			nc.Close()
			continue
		}
		c := newConn(s, l.wrap(nc), l)
		s.conns[c] = struct{}{}
		s.perIP[ip]++
		select {
		case <-s.draining:
			// Accepted as shutdown began, after drain woke the
			// others: wake this one too.
			nc.SetReadDeadline(time.Now())
		default:
		}
		s.connMu.Unlock()
		s.metrics.connections.Inc()
		s.connWG.Add(1)
		go func() {
			defer s.connWG.Done()
			c.serve()
			s.connMu.Lock()
			delete(s.conns, c)
			if s.perIP[ip]--; s.perIP[ip] == 0 {
				delete(s.perIP, ip)
			}
			s.connMu.Unlock()
			s.metrics.connections.Dec()
		}()
	}
}

// scrubLoop checks every closed segment of every partition once per
// ScrubInterval (the first pass one interval after start), until stop
// closes. Damage found is reported by the log and counted in
// pitwall_broker_corrupt_batches_total.
func (s *Server) scrubLoop(stop <-chan struct{}) {
	if s.cfg.ScrubInterval < 0 {
		return
	}
	t := time.NewTicker(s.cfg.ScrubInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		for _, tp := range s.topics.All() {
			for _, p := range tp.Partitions() {
				if _, err := p.Log().Scrub(stop); err != nil {
					s.log.Warn("scrub", "topic", tp.Name(), "partition", p.Index(), "err", err)
				}
			}
		}
	}
}

// corruptBatches sums the damaged stretches every partition's log found.
func (s *Server) corruptBatches() float64 {
	var n int64
	for _, tp := range s.topics.All() {
		for _, p := range tp.Partitions() {
			n += p.Log().CorruptBatches()
		}
	}
	return float64(n)
}

// connRefusal is why a connection was refused.
type connRefusal struct {
	kind  string // the metric's reason
	open  int
	limit int
	flag  string
}

func (r *connRefusal) Error() string {
	return fmt.Sprintf("refusing connection: %d open, %s %d", r.open, r.flag, r.limit)
}

// refuseLocked says why a new connection from ip must be refused, if it
// must. Caller holds connMu.
func (s *Server) refuseLocked(ip string) *connRefusal {
	if n := len(s.conns); n >= s.cfg.MaxConnections {
		return &connRefusal{kind: "max_connections", open: n, limit: s.cfg.MaxConnections, flag: "--max-connections"}
	}
	if n := s.perIP[ip]; n >= s.cfg.MaxConnectionsPerIP {
		return &connRefusal{kind: "max_connections_per_ip", open: n, limit: s.cfg.MaxConnectionsPerIP, flag: "--max-connections-per-ip"}
	}
	return nil
}

// clientIP is the address a connection comes from, without the port.
func clientIP(nc net.Conn) string {
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, err := net.SplitHostPort(nc.RemoteAddr().String())
	if err != nil {
		return nc.RemoteAddr().String()
	}
	return host
}

func isTemporary(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// controlledShutdownTimeout bounds how long a broker of a cluster waits,
// when asked to stop, for the controller to move its leaderships away.
const controlledShutdownTimeout = 5 * time.Second

// controlledShutdown, in a cluster, hands this broker's leaderships to
// the other ISR members before it stops serving (cluster.Controller's
// ControlledShutdown), so that its clients move to the new leaders while
// it still answers them. Without a controller to ask it gives up after
// controlledShutdownTimeout and the broker stops as a single one does.
func (s *Server) controlledShutdown() {
	if s.cluster != nil {
		s.stopOnce.Do(s.leaveCluster)
	}
}

func (s *Server) leaveCluster() {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), controlledShutdownTimeout)
	defer cancel()
	err := s.cluster.ControlledShutdown(ctx)
	if errors.Is(err, cluster.ErrFencedNotApplied) {
		s.log.Info("controlled shutdown: the controller moved this broker's leaderships (this broker had not heard so when it stopped waiting); stopping", "took", time.Since(start).Round(time.Millisecond))
		return
	}
	if err != nil {
		s.log.Warn("controlled shutdown: the controller did not move this broker's leaderships; stopping anyway (the others fence it after its session)", "err", err, "took", time.Since(start).Round(time.Millisecond))
		return
	}
	s.log.Info("controlled shutdown: this broker leads nothing now and is in no ISR; stopping", "took", time.Since(start).Round(time.Millisecond))
	// Still serving a moment: a client's next Produce here is answered
	// NOT_LEADER_OR_FOLLOWER with the new leader (leaderHints), which a
	// KIP-951 client moves to at once; a closed connection would leave it
	// to its next metadata refresh (franz-go: up to 5 s by default).
	time.Sleep(shutdownHintTime)
}

// shutdownHintTime is how long a broker that handed its leaderships away
// goes on answering before it stops.
const shutdownHintTime = 300 * time.Millisecond

// drain begins shutdown: no new connections, no new requests; replies
// already owed are still sent.
func (s *Server) drain() {
	s.drainOnce.Do(func() {
		close(s.draining)
		s.closeListeners()
		s.connMu.Lock()
		for c := range s.conns {
			// Wakes the read loop at once; the writer carries on.
			c.nc.SetReadDeadline(time.Now())
		}
		s.connMu.Unlock()
	})
}

// shutdownGrace bounds how long shutdown waits for replies owed to clients
// that do not read them.
const shutdownGrace = 10 * time.Second

func (s *Server) shutdown() {
	done := make(chan struct{})
	go func() { s.connWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownGrace):
		s.log.Warn("connections did not finish in time; closing them")
		s.cancel()
		s.connMu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.connMu.Unlock()
		<-done
	}
	s.cancel()
	if s.cluster != nil {
		// Leaves the quorum: the others fence this broker after its
		// session and elect new leaders for what it led.
		if err := s.cluster.Close(); err != nil {
			s.log.Warn("closing the controller quorum member", "err", err)
		}
	}
	s.groups.Close() // its last writes go to the logs
	if err := s.topics.Close(); err != nil {
		s.closeErr = err
		s.log.Error("closing logs", "err", err)
	}
	s.lock.Close()
	s.log.Info("broker stopped")
}

// Close shuts the server down as Serve does on cancellation and waits for
// that to finish. On a server that never served it closes the listener and
// the logs.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.started.Load() {
			s.controlledShutdown()
		}
		s.drain()
		if s.started.CompareAndSwap(false, true) {
			// Serve never ran, and now never will.
			s.shutdown()
			close(s.serving)
		}
	})
	<-s.serving
	return s.closeErr
}
