package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pitwall/pitwall/broker"
)

func runBroker(ctx context.Context, args []string) error {
	fs := newFlagSet("broker", "[flags]")
	listen := fs.String("listen", broker.DefaultListen, "listeners, Kafka's form: comma list of [PROTOCOL://]HOST:PORT, PROTOCOL one of PLAINTEXT (the default), SSL, SASL_PLAINTEXT, SASL_SSL")
	advertise := fs.String("advertise", "", "addresses clients are told to connect to, per listener as in --listen (default: the listen addresses)")
	tlsCert := fs.String("tls-cert", "", "PEM certificate (chain) of SSL and SASL_SSL listeners; reloaded with --tls-key on SIGHUP")
	tlsKey := fs.String("tls-key", "", "PEM private key of --tls-cert")
	tlsClientCA := fs.String("tls-client-ca", "", "PEM CA certificates for mutual TLS: SSL clients must present a certificate they signed (principal User:<CN>); reloaded on SIGHUP")
	saslMechs := fs.String("sasl-mechanisms", strings.Join(broker.DefaultSASLMechanisms, ","), "SASL mechanisms SASL listeners offer: SCRAM-SHA-256, SCRAM-SHA-512, PLAIN")
	authorizer := fs.String("authorizer", "", "acl: check every request against the ACLs (pitwall acls); empty: allow everything")
	superUsers := fs.String("super-users", "", "principals the authorizer allows everything, e.g. User:admin[,User:ops]")
	dataDir := fs.String("data-dir", "pitwall-data", "directory holding the topics")
	fsync := fs.String("fsync", broker.DefaultFsync, "when data is fsynced: batch (acks=all answered after fsync, group commit), interval or never")
	fsyncInterval := fs.Duration("fsync-interval", broker.DefaultFsyncInterval, "fsync period for --fsync interval")
	partitions := fs.Int("partitions", broker.DefaultPartitions, "partitions of auto-created topics")
	retention := fs.Duration("retention", broker.DefaultRetention, "how long closed segments are kept (topic retention.ms overrides; negative: forever)")
	retentionBytes := fs.Int64("retention-bytes", 0, "largest size of a partition before old segments go (0: unlimited)")
	segmentBytes := fs.Int64("segment-bytes", broker.DefaultSegmentBytes, "segment roll size")
	autoCreate := fs.Bool("auto-create", true, "create topics on first produce or metadata request")
	maxRequest := fs.Int("max-request-bytes", broker.DefaultMaxRequestBytes, "largest request accepted; larger closes the connection")
	maxMessage := fs.Int("max-message-bytes", broker.DefaultMaxMessageBytes, "largest record batch accepted (topic max.message.bytes overrides)")
	fetchMax := fs.Int("fetch-max-bytes", broker.DefaultFetchMaxBytes, "most record bytes in one fetch response, whatever the client asks (Kafka's fetch.max.bytes)")
	inflight := fs.Int64("max-inflight-request-bytes", broker.DefaultMaxInflightRequestBytes, "request bytes being read at once across all connections; more waits (Kafka's queued.max.request.bytes)")
	requestTimeout := fs.Duration("request-timeout", broker.DefaultRequestTimeout, "a request must arrive, and a reply be taken by the client, within this, or the connection closes")
	maxIdle := fs.Duration("connections-max-idle", broker.DefaultConnectionsMaxIdle, "close connections idle this long (negative: never)")
	maxConns := fs.Int("max-connections", broker.DefaultMaxConnections, "most client connections at once; more are refused")
	maxConnsPerIP := fs.Int("max-connections-per-ip", broker.DefaultMaxConnectionsPerIP, "most client connections from one address; more are refused")
	fetchMemory := fs.Int64("fetch-memory", broker.DefaultFetchMemory, "record bytes held in fetch replies at once across all connections")
	verifyReads := fs.Bool("verify-reads", true, "check the CRC of fetched batches not yet checked this run (false only to measure what the checks cost)")
	scrubInterval := fs.Duration("scrub-interval", broker.DefaultScrubInterval, "how often closed segments are read back and their CRCs checked (negative: never)")
	groupDelay := fs.Duration("group-initial-rebalance-delay", broker.KafkaGroupInitialRebalanceDelay, "how long a new consumer group's first rebalance waits for more members (Kafka's group.initial.rebalance.delay.ms)")
	metricsListen := fs.String("metrics-listen", "", "serve Prometheus metrics on http://ADDR/metrics (e.g. 127.0.0.1:9644; default off)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	nodeID := fs.Int("node-id", 0, "this broker's id (in a cluster, one of --voters)")
	voters := fs.String("voters", "", "cluster mode: the controller quorum, every broker of the cluster, as ID@HOST:PORT,... (e.g. 1@127.0.0.1:9093,2@127.0.0.1:9193,3@127.0.0.1:9293); default: a single broker")
	controllerListen := fs.String("controller-listen", "", "cluster mode: the address to serve the controller quorum on (default: this node's address in --voters)")
	defaultRF := fs.Int("default-replication-factor", 0, "cluster mode: replication factor of auto-created topics and of requests for the default (default: min(3, voters))")
	sessionTimeout := fs.Duration("broker-session-timeout", broker.DefaultBrokerSessionTimeout, "cluster mode: a broker whose heartbeats stop reaching the controller this long is fenced and its partitions get new leaders")
	rebalance := fs.Bool("auto-leader-rebalance", true, "cluster mode: move partition leaders back to their preferred replica once it is live and in the ISR again (Kafka's auto.leader.rebalance.enable)")
	rebalanceEvery := fs.Duration("leader-imbalance-check-interval", broker.DefaultLeaderImbalanceCheckInterval, "cluster mode: how often the controller looks for leaders away from their preferred replica (Kafka's leader.imbalance.check.interval.seconds)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	log, err := newLogger(*logLevel)
	if err != nil {
		return err
	}
	if *voters == "" && (*controllerListen != "" || *defaultRF != 0) {
		return errors.New("--controller-listen and --default-replication-factor need --voters (cluster mode)")
	}
	if *nodeID < 0 || *nodeID > 1<<31-1 {
		return fmt.Errorf("--node-id %d: want 0 or more", *nodeID)
	}
	if *maxRequest <= 0 || *maxRequest > 1<<30 || *maxMessage < 0 || *maxMessage > 1<<30 || *fetchMax <= 0 || *fetchMax > 1<<30 {
		return errors.New("--max-request-bytes, --max-message-bytes and --fetch-max-bytes must be between 1 and 1 GiB")
	}
	srv, err := broker.New(broker.Config{
		Listen:            *listen,
		Advertise:         *advertise,
		TLSCertFile:       *tlsCert,
		TLSKeyFile:        *tlsKey,
		TLSClientCAFile:   *tlsClientCA,
		SASLMechanisms:    splitList(*saslMechs),
		Authorizer:        *authorizer,
		SuperUsers:        splitList(*superUsers),
		DataDir:           *dataDir,
		Fsync:             *fsync,
		FsyncInterval:     *fsyncInterval,
		Partitions:        *partitions,
		Retention:         *retention,
		RetentionBytes:    *retentionBytes,
		SegmentBytes:      *segmentBytes,
		DisableAutoCreate: !*autoCreate,
		MaxRequestBytes:   int32(*maxRequest),
		MaxMessageBytes:   int32(*maxMessage),
		FetchMaxBytes:     int32(*fetchMax),
		Logger:            log,

		MaxInflightRequestBytes: *inflight,
		RequestTimeout:          *requestTimeout,
		ConnectionsMaxIdle:      *maxIdle,
		MaxConnections:          *maxConns,
		MaxConnectionsPerIP:     *maxConnsPerIP,
		FetchMemory:             *fetchMemory,
		ScrubInterval:           *scrubInterval,
		SkipReadChecks:          !*verifyReads,

		GroupInitialRebalanceDelay: *groupDelay,

		NodeID:                   int32(*nodeID),
		Voters:                   *voters,
		ControllerListen:         *controllerListen,
		DefaultReplicationFactor: *defaultRF,
		BrokerSessionTimeout:     *sessionTimeout,

		LeaderImbalanceCheckInterval: *rebalanceEvery,
		DisableLeaderRebalance:       !*rebalance,
	})
	if err != nil {
		return err
	}
	if *metricsListen != "" {
		stop, err := serveMetrics(*metricsListen, srv.MetricsHandler())
		if err != nil {
			srv.Close()
			return err
		}
		defer stop()
	}
	stopHUP := reloadOnHUP(srv)
	defer stopHUP()
	return srv.Serve(ctx)
}

// reloadOnHUP reloads the broker's TLS certificate, key and client CAs on each SIGHUP
// (main leaves SIGHUP to the broker) until stop is called.
func reloadOnHUP(srv *broker.Server) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-hup:
				srv.ReloadTLS() // logs the outcome
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(hup); close(done); <-exited }
}

// splitList splits a comma list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// serveMetrics serves h on http://addr/metrics until stop is called.
func serveMetrics(addr string, h http.Handler) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	hs := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ln, err := listenTCP(addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen: %w", err)
	}
	done := make(chan struct{})
	go func() { defer close(done); hs.Serve(ln) }()
	return func() { hs.Close(); <-done }, nil
}
