package edge

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pitwall/pitwall/edge/spool"
)

// metrics are the edge's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg *prometheus.Registry

	framesRead    *prometheus.CounterVec // source
	framesIn      *prometheus.CounterVec // source
	framesDropped *prometheus.CounterVec // source
	samplesIn     *prometheus.CounterVec // source
	catalogsIn    *prometheus.CounterVec // source
	bad           *prometheus.CounterVec // source, reason
	events        *prometheus.CounterVec // source, event
	up            *prometheus.GaugeVec   // source
	dropped       *prometheus.CounterVec // source, reason

	acked        *prometheus.CounterVec // topic
	ackedSamples prometheus.Counter
	produceErrs  *prometheus.CounterVec // error
	latency      prometheus.Histogram
	inflight     prometheus.Gauge
	brokerUp     prometheus.Gauge
}

func newMetrics(sp *spool.Spool) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		m.reg.MustRegister(c)
		return c
	}
	m.framesRead = counter("edge_frames_read_total", "Frames decoded from a source, spooled or not.", "source")
	m.framesIn = counter("edge_frames_received_total", "Frames taken from a source and spooled.", "source")
	m.framesDropped = counter("edge_frames_dropped_total", "Frames decoded from a source that the spool refused (full disk, drop-newest): lost. edge_dropped_total has the reason.", "source")
	m.samplesIn = counter("edge_samples_received_total", "Samples in the frames taken from a source and spooled.", "source")
	m.catalogsIn = counter("edge_catalogs_received_total", "Channel catalogs taken from a source that changed a car's catalog.", "source")
	m.bad = counter("edge_bad_input_total", "Input that could not be decoded, sent to the dead-letter topic, by reason.", "source", "reason")
	m.events = counter("edge_source_events_total", "Source events that are not bad input (resync, unknown CAN id, adapter error reply).", "source", "event")
	m.dropped = counter("edge_dropped_total", "Records (frames, catalogs, dead letters) the spool refused (full disk, drop-newest policy): lost.", "source", "reason")
	m.acked = counter("edge_acked_records_total", "Records acknowledged by the broker, by topic.", "topic")
	m.produceErrs = counter("edge_produce_errors_total", "Records the producer gave up on (they are sent again).", "error")
	m.up = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "edge_source_up", Help: "1 while the source's device or connection is open."}, []string{"source"})
	m.ackedSamples = prometheus.NewCounter(prometheus.CounterOpts{Name: "edge_acked_samples_total", Help: "Samples in the frames acknowledged by the broker."})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "edge_ack_latency_seconds",
		Help:    "From receiving a record at the edge to the broker acknowledging it.",
		Buckets: []float64{.001, .002, .003, .005, .0075, .01, .015, .02, .03, .05, .075, .1, .15, .2, .3, .5, 1, 2, 5, 10, 30, 60, 300},
	})
	m.inflight = prometheus.NewGauge(prometheus.GaugeOpts{Name: "edge_inflight_records", Help: "Records handed to the producer, not yet acknowledged."})
	m.brokerUp = prometheus.NewGauge(prometheus.GaugeOpts{Name: "edge_broker_connected", Help: "1 while the producer is connected to the cluster."})
	m.reg.MustRegister(m.up, m.ackedSamples, m.latency, m.inflight, m.brokerUp,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	stat := func(name, help string, f func(spool.Stats) float64, counter bool) {
		fn := func() float64 { return f(sp.Stats()) }
		if counter {
			m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn))
		} else {
			m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
		}
	}
	stat("edge_spool_bytes", "Spool size on disk.", func(s spool.Stats) float64 { return float64(s.Bytes) }, false)
	stat("edge_spool_records", "Records in the spool not yet acknowledged by the broker.", func(s spool.Stats) float64 { return float64(s.Depth) }, false)
	stat("edge_spool_over_limit", "1 while the spool is over its bound (policy alarm: nothing dropped, disk filling).", func(s spool.Stats) float64 {
		if s.OverLimit {
			return 1
		}
		return 0
	}, false)
	stat("edge_spool_disk_full", "1 while the disk holding the spool refuses appends: new records are dropped until the broker takes the spooled ones.", func(s spool.Stats) float64 {
		if s.DiskFull {
			return 1
		}
		return 0
	}, false)
	stat("edge_spool_refused_records_total", "Records the spool refused because its disk was full.", func(s spool.Stats) float64 { return float64(s.Refused) }, true)
	stat("edge_spool_dropped_records_total", "Records the drop-oldest policy deleted undelivered.", func(s spool.Stats) float64 { return float64(s.Dropped) }, true)
	stat("edge_spool_corrupt_records_total", "Records lost to corruption found in the spool.", func(s spool.Stats) float64 { return float64(s.Corrupt) }, true)
	return m
}
