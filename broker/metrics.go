package broker

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pitwall/pitwall/broker/internal/partition"
)

// metrics are the broker's Prometheus metrics, on a registry of the
// Server's own so that several servers in one process (tests, pitwall up)
// never collide.
type metrics struct {
	registry      *prometheus.Registry
	requests      *prometheus.CounterVec
	badInput      *prometheus.CounterVec
	bytesIn       prometheus.Counter
	bytesOut      prometheus.Counter
	connections   prometheus.Gauge
	producedBytes prometheus.Counter
	producedBatch prometheus.Counter
	// duplicateBatches counts idempotent retries answered from producer
	// state instead of being stored again.
	duplicateBatches prometheus.Counter
	// connectionsClosed counts connections the broker closed or refused,
	// by reason: idle, request_timeout, reply_timeout, max_connections,
	// max_connections_per_ip.
	connectionsClosed *prometheus.CounterVec
	// requestBudgetWaits counts requests that waited for request budget.
	requestBudgetWaits prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pitwall_broker_requests_total", Help: "Kafka requests served, by API.",
		}, []string{"api"}),
		badInput: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pitwall_broker_bad_input_total", Help: "Requests or batches refused as malformed, by kind.",
		}, []string{"kind"}),
		bytesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pitwall_broker_network_in_bytes_total", Help: "Request bytes read.",
		}),
		bytesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pitwall_broker_network_out_bytes_total", Help: "Response bytes written.",
		}),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pitwall_broker_connections", Help: "Open client connections.",
		}),
		producedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pitwall_broker_produced_bytes_total", Help: "Record batch bytes appended to logs.",
		}),
		producedBatch: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pitwall_broker_produced_batches_total", Help: "Record batches appended to logs.",
		}),
		duplicateBatches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pitwall_broker_duplicate_batches_total", Help: "Idempotent producer retries answered with their original offsets.",
		}),
	}
	m.connectionsClosed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pitwall_broker_connections_closed_total", Help: "Connections the broker closed or refused, by reason (idle, request_timeout, reply_timeout, max_connections, max_connections_per_ip).",
	}, []string{"reason"})
	m.requestBudgetWaits = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pitwall_broker_request_budget_waits_total", Help: "Requests whose reading waited for --max-inflight-request-bytes budget.",
	})
	m.registry.MustRegister(m.connectionsClosed, m.requestBudgetWaits, m.duplicateBatches, m.requests, m.badInput, m.bytesIn, m.bytesOut, m.connections,
		m.producedBytes, m.producedBatch, collectors.NewGoCollector())
	return m
}

// registerBudgets exports the bytes held under each broker-wide budget.
func (m *metrics) registerBudgets(requests, fetches *byteBudget) {
	m.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pitwall_broker_inflight_request_bytes", Help: "Request bytes being read, against --max-inflight-request-bytes.",
		}, func() float64 { return float64(requests.inUse()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pitwall_broker_fetch_memory_bytes", Help: "Record bytes held in fetch replies not yet written, against --fetch-memory.",
		}, func() float64 { return float64(fetches.inUse()) }),
	)
}

// registerPartitions exports what the open file limit allows and what is
// used of it, read from the registry at each scrape.
func (m *metrics) registerPartitions(topics *partition.Registry) {
	gauge := func(name, help string, f func(partition.MaintenanceStats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(topics.Stats()) })
	}
	m.registry.MustRegister(
		gauge("pitwall_broker_open_file_limit", "The open file limit (RLIMIT_NOFILE) the broker runs under.",
			func(st partition.MaintenanceStats) float64 { return float64(st.FileLimit) }),
		gauge("pitwall_broker_segment_file_budget", "Active segment files the broker keeps open at most; past it idle partitions close theirs.",
			func(st partition.MaintenanceStats) float64 { return float64(st.FileBudget) }),
		gauge("pitwall_broker_segment_files_open", "Active segment files open now.",
			func(st partition.MaintenanceStats) float64 { return float64(st.OpenFiles) }),
		gauge("pitwall_broker_partitions", "Partitions the broker holds, all topics together.",
			func(st partition.MaintenanceStats) float64 { return float64(st.Partitions) }),
		gauge("pitwall_broker_partitions_allowed", "Partitions the open file limit allows; topic creation beyond it is refused.",
			func(st partition.MaintenanceStats) float64 { return float64(st.MaxPartitions) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "pitwall_broker_idle_segment_files_closed_total", Help: "Active segment files closed because their partition was idle and the budget was full.",
		}, func() float64 { return float64(topics.Stats().IdleClosed) }),
	)
}

// MetricsHandler serves the broker's metrics in the Prometheus text format.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})
}

// badInput counts refused input by kind and logs each kind at most once per
// interval, with how many were refused since the last line, so a client
// spraying garbage cannot flood the log. The broker keeps one for bad
// input and one (slow) for connections closed or refused for their
// behaviour.
type badInput struct {
	log      *slog.Logger
	counter  *prometheus.CounterVec // nil: counted elsewhere
	interval time.Duration
	msg      string

	mu   sync.Mutex
	last map[string]*badKind
}

type badKind struct {
	logged     time.Time
	suppressed int
}

func newBadInput(log *slog.Logger, counter *prometheus.CounterVec) *badInput {
	return &badInput{log: log, counter: counter, interval: time.Minute, last: map[string]*badKind{}, msg: "refused bad input"}
}

// newSparseLog is a badInput for other refusals, logged as msg and not
// counted (the caller counts them).
func newSparseLog(log *slog.Logger, msg string) *badInput {
	return &badInput{log: log, interval: time.Minute, last: map[string]*badKind{}, msg: msg}
}

func (b *badInput) report(kind string, err error, attrs ...any) {
	if b.counter != nil {
		b.counter.WithLabelValues(kind).Inc()
	}
	now := time.Now()
	b.mu.Lock()
	k := b.last[kind]
	if k == nil {
		k = &badKind{}
		b.last[kind] = k
	}
	if !k.logged.IsZero() && now.Sub(k.logged) < b.interval {
		k.suppressed++
		b.mu.Unlock()
		return
	}
	suppressed := k.suppressed
	k.logged, k.suppressed = now, 0
	b.mu.Unlock()
	attrs = append(attrs, "kind", kind, "err", err)
	if suppressed > 0 {
		attrs = append(attrs, "suppressed_since_last", suppressed)
	}
	b.log.Warn(fmt.Sprintf("%s (logged once per %v per kind)", b.msg, b.interval), attrs...)
}
