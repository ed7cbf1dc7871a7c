package up

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/telemetry"
)

// MeasurementPipeline is the InfluxDB measurement the "Pipeline" dashboard
// reads: one point per PipelineEvery, tag host=up; fields frames_per_s and
// samples_per_s (taken by the edge), spool_records and spool_bytes (the
// edge's spool depth), consumer_lag (records of telemetry the lap
// processor's group has not committed yet, over all partitions).
const MeasurementPipeline = "pipeline"

// PipelineEvery is how often the pipeline point is written.
const PipelineEvery = time.Second

// pipelineStats writes MeasurementPipeline to InfluxDB until ctx ends.
type pipelineStats struct {
	edgeMetrics string // the edge's /metrics address
	brokers     []string
	group       string
	influx      influx.Config
}

func (p *pipelineStats) run(ctx context.Context) error {
	w, err := influx.New(p.influx)
	if err != nil {
		return err
	}
	defer w.Close()
	sc := sarama.NewConfig()
	sc.ClientID = "pitwall-up-pipeline"
	sc.Metadata.AllowAutoTopicCreation = false
	client, err := sarama.NewClient(p.brokers, sc)
	if err != nil {
		return fmt.Errorf("up: pipeline stats: %w", err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return fmt.Errorf("up: pipeline stats: %w", err)
	}
	// Closing the admin would close the shared client.
	tick := time.NewTicker(PipelineEvery)
	defer tick.Stop()
	prev, prevAt := map[string]float64{}, time.Now()
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
		line, m, ok := p.point(wctx, client, admin, prev, prevAt, final)
		if ok {
			prev, prevAt = m, time.Now()
			if err := w.Write(wctx, line); err != nil && !final && ctx.Err() == nil {
				cancel()
				return err
			}
		}
		cancel()
		if final {
			return nil
		}
	}
}

// point builds one pipeline point from the edge's metrics and the
// group's lag; rates are since prev (taken at prevAt). The final point
// falls back on prev if the edge no longer answers.
func (p *pipelineStats) point(ctx context.Context, client sarama.Client, admin sarama.ClusterAdmin, prev map[string]float64, prevAt time.Time, final bool) ([]byte, map[string]float64, bool) {
	now := time.Now()
	m, err := scrape(ctx, p.edgeMetrics)
	switch {
	case err != nil && !final:
		return nil, nil, false // the edge is busy; the next tick tries again
	case err != nil:
		m = prev // the edge has stopped serving: its last figures
	}
	dt := max(now.Sub(prevAt).Seconds(), 1e-3)
	line := fmt.Sprintf("%s,host=up spool_records=%g,spool_bytes=%g,frames_per_s=%g,samples_per_s=%g", MeasurementPipeline,
		m["edge_spool_records"], m["edge_spool_bytes"],
		(m["edge_frames_received_total"]-prev["edge_frames_received_total"])/dt,
		(m["edge_samples_received_total"]-prev["edge_samples_received_total"])/dt)
	if lag, ok := groupLag(client, admin, p.group); ok {
		line += fmt.Sprintf(",consumer_lag=%di", lag)
	}
	line += " " + strconv.FormatInt(now.UnixNano(), 10) + "\n"
	return []byte(line), m, true
}

// scrape reads the edge's /metrics and sums each metric over its labels.
func scrape(ctx context.Context, addr string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
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

// groupLag is the group's lag on telemetry: end offsets minus committed
// offsets (a partition without a commit counts from its start).
func groupLag(client sarama.Client, admin sarama.ClusterAdmin, group string) (int64, bool) {
	parts, err := client.Partitions(telemetry.TopicFrames)
	if err != nil {
		return 0, false
	}
	committed, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{telemetry.TopicFrames: parts})
	if err != nil {
		return 0, false
	}
	var lag int64
	for _, p := range parts {
		end, err := client.GetOffset(telemetry.TopicFrames, p, sarama.OffsetNewest)
		if err != nil {
			return 0, false
		}
		start := int64(0)
		if b := committed.GetBlock(telemetry.TopicFrames, p); b != nil && b.Offset >= 0 {
			start = b.Offset
		} else if first, err := client.GetOffset(telemetry.TopicFrames, p, sarama.OffsetOldest); err == nil {
			start = first
		}
		lag += max(end-start, 0)
	}
	return lag, true
}
