package processors

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/telemetry"
)

// MeasurementPipeline is the InfluxDB measurement the "Pipeline" dashboard
// reads, written by Run when Config.Influx is set: one point per
// PipelineEvery from each processor, tags group (the consumer group) and
// member (the processor's member id in the group, as `pitwall groups
// describe` shows it; absent before it first joined); fields:
//
//   - consumer_lag: records of telemetry on the partitions the processor
//     holds that it has not handled yet (log end offset minus its
//     position). The group's lag is the sum over its members. This is the
//     lag of lap timing, the LAG `pitwall groups describe` shows (there
//     from the position committed with the offsets, at most a flush
//     behind); the committed offsets trail further by design (each car's
//     restart offset, the start of its open lap, see partition.mark):
//     describe shows that distance as IN-LAP, Kafka's tools as lag.
//   - when Config.EdgeMetrics names the edges and all of them answer,
//     spool_records and spool_bytes (the edges' spool depth) and
//     frames_per_s and samples_per_s (their ingest rate), summed over the
//     edges.
const MeasurementPipeline = "pipeline"

// PipelineEvery is how often the pipeline point is written.
const PipelineEvery = time.Second

// pipelineStats writes MeasurementPipeline to InfluxDB until ctx ends.
// It never stops the processor: a failed scrape, lag query or write is
// logged (once until it works again) and the next tick tries again.
type pipelineStats struct {
	r      *runner
	cfg    Config
	client sarama.Client

	prev    map[string]float64 // the edges' counters at prevAt
	prevAt  time.Time
	failing map[string]bool // kinds of failure logged and not yet recovered
}

func runPipelineStats(ctx context.Context, r *runner) {
	cfg := r.cfg
	w, err := influx.New(*cfg.Influx)
	if err != nil {
		cfg.Logger.Error("processors: pipeline stats", "err", err)
		return
	}
	defer w.Close()
	sc := saramaConfig(cfg, false)
	sc.ClientID = "pitwall-process-pipeline"
	client, err := sarama.NewClient(cfg.Brokers, sc)
	if err != nil {
		cfg.Logger.Error("processors: pipeline stats", "err", err)
		return
	}
	defer client.Close()
	p := &pipelineStats{r: r, cfg: cfg, client: client, failing: map[string]bool{}}
	tick := time.NewTicker(PipelineEvery)
	defer tick.Stop()
	for {
		final := false
		select {
		case <-ctx.Done():
			final = true // one last point, so even a short run leaves one
		case <-tick.C:
		}
		wctx, cancel := ctx, context.CancelFunc(func() {})
		if final {
			wctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
		}
		if line := p.point(wctx); line != nil {
			p.result("influx write", w.Write(wctx, line))
		}
		cancel()
		if final {
			return
		}
	}
}

// result logs err the first time its kind fails, and the recovery.
func (p *pipelineStats) result(kind string, err error) {
	switch {
	case err != nil && !p.failing[kind]:
		p.failing[kind] = true
		p.cfg.Logger.Warn("processors: pipeline stats: "+kind+" failed; retrying every "+PipelineEvery.String(), "err", err)
	case err == nil && p.failing[kind]:
		delete(p.failing, kind)
		p.cfg.Logger.Info("processors: pipeline stats: " + kind + " works again")
	}
}

// point builds one pipeline point, or nil when there is nothing to say.
// The edge fields are left out while an edge does not answer; the rates
// need two scrapes, so the first point carries the gauges only.
func (p *pipelineStats) point(ctx context.Context) []byte {
	now := time.Now()
	var fields []string
	if len(p.cfg.EdgeMetrics) > 0 {
		m, err := scrapeAll(ctx, p.cfg.EdgeMetrics)
		p.result("edge metrics scrape", err)
		if err == nil {
			fields = append(fields,
				"spool_records="+fmtFloat(m["edge_spool_records"]),
				"spool_bytes="+fmtFloat(m["edge_spool_bytes"]))
			if p.prev != nil {
				dt := max(now.Sub(p.prevAt).Seconds(), 1e-3)
				fields = append(fields,
					"frames_per_s="+fmtFloat(max(m["edge_frames_received_total"]-p.prev["edge_frames_received_total"], 0)/dt),
					"samples_per_s="+fmtFloat(max(m["edge_samples_received_total"]-p.prev["edge_samples_received_total"], 0)/dt))
			}
			p.prev, p.prevAt = m, now
		} else {
			p.prev = nil // an edge restarted or vanished: its counters start over
		}
	}
	lag, held, err := p.lag()
	p.result("consumer lag query", err)
	if err == nil && held {
		fields = append(fields, "consumer_lag="+strconv.FormatInt(lag, 10)+"i")
	}
	if len(fields) == 0 {
		return nil
	}
	tags := ",group=" + escapeTag(p.cfg.Group)
	if m := p.r.member.Load(); m != nil && *m != "" {
		tags += ",member=" + escapeTag(*m)
	}
	return fmt.Appendf(nil, "%s%s %s %d\n", MeasurementPipeline, tags, strings.Join(fields, ","), now.UnixNano())
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// escapeTag escapes a line-protocol tag value.
func escapeTag(s string) string {
	return strings.NewReplacer(`\`, `\\`, ",", `\,`, "=", `\=`, " ", `\ `).Replace(s)
}

// scrapeAll reads every edge's /metrics and sums each metric over the
// edges and its labels; it fails if any edge does not answer, so that a
// missing edge does not look like a drop in its rate.
func scrapeAll(ctx context.Context, addrs []string) (map[string]float64, error) {
	sum := map[string]float64{}
	for _, a := range addrs {
		m, err := scrape(ctx, a)
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			sum[k] += v
		}
	}
	return sum, nil
}

// scrape reads one edge's /metrics and sums each metric over its labels.
func scrape(ctx context.Context, addr string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, PipelineEvery)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET http://%s/metrics: %s", addr, resp.Status)
	}
	return parseMetrics(resp.Body), nil
}

// parseMetrics sums the samples of every metric in Prometheus text format
// by name; lines it cannot read are skipped.
func parseMetrics(r io.Reader) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				continue
			}
			name, rest, ok = line[:i], strings.TrimSpace(line[j+1:]), true
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(rest + " 0")[0], 64)
		if err != nil {
			continue
		}
		out[name] += v
	}
	return out
}

// lag is the processor's consumer lag over the partitions it holds
// (held false while it holds none, between group sessions).
func (p *pipelineStats) lag() (lag int64, held bool, err error) {
	p.r.positions.Range(func(k, v any) bool {
		held = true
		part, next := k.(int32), v.(*atomic.Int64).Load()
		var end int64
		if end, err = p.client.GetOffset(telemetry.TopicFrames, part, sarama.OffsetNewest); err != nil {
			return false
		}
		if next < 0 { // sarama's OffsetOldest or OffsetNewest: nothing handled yet
			if next == sarama.OffsetNewest {
				return true
			}
			if next, err = p.client.GetOffset(telemetry.TopicFrames, part, sarama.OffsetOldest); err != nil {
				return false
			}
		}
		lag += max(end-next, 0)
		return true
	})
	return lag, held, err
}
