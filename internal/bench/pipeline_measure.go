package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/pitwall/pitwall/internal/admin"
)

// snapshot is every counter of the run at one moment.
type snapshot struct {
	at          time.Time
	simSamples  int64
	simFrames   int64
	edge        metrics // nil without an edge or when it did not answer
	kafkaAcked  int64   // samples (--in kafka)
	kafkaFrames int64
	live        stageProgress
	procSamples int64 // samples every processor has in InfluxDB
	procAt      time.Time
	procBefore  map[string]int64
	usage       map[*proc]usage
	self        usage
	machine     machineCPU
	influx      influxWrites // the local influxd's own counters; zero when not read
}

// influxWrites is what influxd counted of its HTTP writes (/debug/vars,
// the httpd statistics): requests and the bytes of their bodies.
type influxWrites struct {
	ok       bool
	requests int64
	bytes    int64
}

// readInfluxWrites reads the write counters of the influxd at url.
func readInfluxWrites(ctx context.Context, url string) influxWrites {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/debug/vars", nil)
	if err != nil {
		return influxWrites{}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return influxWrites{}
	}
	defer resp.Body.Close()
	var vars map[string]json.RawMessage
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&vars) != nil {
		return influxWrites{}
	}
	var w influxWrites
	for key, raw := range vars {
		if !strings.HasPrefix(key, "httpd") {
			continue
		}
		var st struct {
			Name   string `json:"name"`
			Values struct {
				WriteReq      int64 `json:"writeReq"`
				WriteReqBytes int64 `json:"writeReqBytes"`
			} `json:"values"`
		}
		if json.Unmarshal(raw, &st) == nil && st.Name == "httpd" {
			w.ok = true
			w.requests += st.Values.WriteReq
			w.bytes += st.Values.WriteReqBytes
		}
	}
	return w
}

func (r *pipelineRun) snapshot(ctx context.Context, l *load, w wire) snapshot {
	s := snapshot{at: time.Now(), simSamples: l.samples.Load(), simFrames: l.frames.Load(), usage: map[*proc]usage{}}
	s.self = r.usage(os.Getpid())
	s.self.waits = readThreadWaits(os.Getpid())
	s.machine = readMachineCPU()
	for _, p := range r.procs {
		if !p.exited() {
			u := r.usage(p.cmd.Process.Pid)
			u.waits = readThreadWaits(p.cmd.Process.Pid)
			s.usage[p] = u
		}
	}
	if kw, ok := w.(*kafkaWire); ok {
		s.kafkaAcked, s.kafkaFrames = kw.acked.Load(), kw.ackedFr.Load()
	}
	if r.edgeAt != "" {
		s.edge, _ = scrape(ctx, r.edgeAt)
	}
	s.live = r.live.progress()
	s.procBefore = map[string]int64{}
	for i, p := range r.process {
		pr := p.progress()
		at := time.Unix(0, pr.AtNs)
		if i == 0 || at.Before(s.procAt) {
			s.procAt = at
		}
		for car, t := range pr.Before {
			s.procBefore[car] = t
		}
	}
	s.procSamples = l.samplesBefore(s.procBefore)
	if r.influxd != nil {
		s.influx = readInfluxWrites(ctx, r.cfg.InfluxURL)
	}
	return s
}

// usage reads pid's usage and keeps its peak RSS: the kernel's VmHWM
// alone can lag the VmRSS read a moment before.
func (r *pipelineRun) usage(pid int) usage {
	u := usageOf(pid)
	r.peakMu.Lock()
	r.peak[pid] = max(r.peak[pid], u.rss, u.hwm)
	r.peakMu.Unlock()
	return u
}

// peakOf is the highest RSS seen of pid (VmHWM or VmRSS).
func (r *pipelineRun) peakOf(pid int) int64 {
	r.peakMu.Lock()
	defer r.peakMu.Unlock()
	return r.peak[pid]
}

// samplePeaks reads every process's RSS twice a second until stop closes.
func (r *pipelineRun) samplePeaks(stop <-chan struct{}) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			r.usage(os.Getpid())
			for _, p := range r.procs {
				if !p.exited() {
					r.usage(p.cmd.Process.Pid)
				}
			}
		}
	}
}

// drainState is when (after the end of the load) each queue emptied; a
// zero value is not yet.
type drainState struct {
	edge, broker, live, process, lag time.Duration
	lagAtEnd                         int64
	lagLast                          int64
}

func (d *drainState) mark(at *time.Duration, ok bool, since time.Time) {
	if ok && *at == 0 {
		*at = max(time.Since(since), time.Nanosecond)
	}
}

// drain polls until every queue is empty or cfg.Drain passes.
func (r *pipelineRun) drain(ctx context.Context, l *load, w wire, ac *admin.Client, end time.Time) drainState {
	var d drainState
	d.lagAtEnd = r.consumerLag(ctx, ac)
	offered := l.offered()
	for {
		s := r.snapshot(ctx, l, w)
		if r.edge != nil {
			ok := s.edge != nil && s.edge.sum("edge_samples_received_total") >= float64(s.simSamples)
			d.mark(&d.edge, ok && s.edge.sum("edge_spool_records") == 0, end)
			d.mark(&d.broker, ok && s.edge.sum("edge_acked_samples_total") >= float64(s.simSamples) && s.edge.sum("edge_inflight_records") == 0, end)
		} else {
			d.mark(&d.broker, s.kafkaFrames >= s.simFrames, end)
		}
		d.mark(&d.live, s.live.Frames >= s.simFrames, end)
		if r.cfg.InfluxURL != "" {
			done := len(offered) > 0
			for car, o := range offered {
				if s.procBefore[car] <= o.lastNs-int64(r.cfg.Window) {
					done = false
				}
			}
			d.mark(&d.process, done, end)
		}
		d.lagLast = r.consumerLag(ctx, ac)
		d.mark(&d.lag, d.lagLast == 0, end)
		all := d.broker > 0 && d.live > 0 && d.lag > 0 && (r.edge == nil || d.edge > 0) && (r.cfg.InfluxURL == "" || d.process > 0)
		if all || time.Since(end) > r.cfg.Drain || ctx.Err() != nil {
			return d
		}
		_ = sleepCtx(ctx, 100*time.Millisecond)
	}
}

// measure offers the load, takes the snapshots, waits for the drain,
// collects the stages' results and builds the report.
func (r *pipelineRun) measure(ctx context.Context, w wire, closeWire func() error) (*PipelineReport, error) {
	cfg := r.cfg
	ac, err := admin.Dial(ctx, r.addr, "pitwall-bench-lag")
	if err != nil {
		return nil, err
	}
	defer ac.Close()
	// The load's first sample is due loadLead from now: building the
	// simulator and announcing every car's catalog (a synchronous produce
	// each over kafka, a few thousand lines over serial) happen before
	// it, not during its first ticks (which then started up to ~100 ms
	// late, and that lateness went into every latency).
	start := time.Now().Add(loadLead).Truncate(time.Millisecond)
	sim, err := r.newSim(start)
	if err != nil {
		return nil, err
	}
	l := newLoad(sim, w, start)
	t0 := time.Now()
	if err := l.announce(); err != nil {
		return nil, err
	}
	announced := time.Since(t0)
	rep := &PipelineReport{Cars: cfg.Cars, Channels: cfg.Channels, Hz: cfg.Hz, Duration: cfg.Duration.String(), In: cfg.In,
		Influx: r.influx, Track: cfg.Track, EdgeArgs: cfg.EdgeArgs, BrokerArgs: cfg.BrokerArgs, Nominal: float64(cfg.Cars * cfg.Channels * cfg.Hz), LoadBefore: loadAverage()}
	if cfg.InfluxURL != "" {
		rep.Window = cfg.Window.String()
	}
	cfg.Logger.Info("bench: offering the load", "samples_per_s", rep.Nominal, "duration", cfg.Duration, "in", cfg.In,
		"catalogs_announced_in", announced.Round(time.Millisecond))
	stopPeaks := make(chan struct{})
	peaksDone := make(chan struct{})
	go func() { defer close(peaksDone); r.samplePeaks(stopPeaks) }()
	defer func() { close(stopPeaks); <-peaksDone }()
	done := make(chan error, 1)
	go func() { done <- l.run(ctx, cfg.Duration) }()
	var s1 snapshot
	select {
	case err := <-done:
		return nil, fmt.Errorf("bench: the load ended early: %v", err)
	case <-time.After(time.Until(start.Add(cfg.Duration / 10))):
		s1 = r.snapshot(ctx, l, w)
	}
	if err := <-done; err != nil {
		return nil, err
	}
	end := time.Now()
	s2 := r.snapshot(ctx, l, w)
	rep.LoadAfter = loadAverage()
	cfg.Logger.Info("bench: load done, draining")
	d := r.drain(ctx, l, w, ac, end)
	s3 := r.snapshot(ctx, l, w)
	live, err := r.live.finish(30 * time.Second)
	if err != nil {
		return nil, err
	}
	var procs []*stageResult
	for _, p := range r.process {
		res, err := p.finish(time.Minute)
		if err != nil {
			return nil, err
		}
		procs = append(procs, res)
	}
	if r.edge != nil {
		if err := r.edge.stop(30 * time.Second); err != nil {
			return nil, fmt.Errorf("bench: edge: %w", err)
		}
	}
	if err := closeWire(); err != nil {
		return nil, err
	}
	simRate := float64(l.samples.Load()) / end.Sub(start).Seconds()
	r.fill(rep, l, w, simRate, s1, s2, s3, d, live, procs)
	st := &rep.Stages[0]
	st.LateS = max(end.Sub(start)-cfg.Duration, 0).Seconds()
	st.BlockedS = time.Duration(l.blocked.Load()).Seconds()
	if kw, ok := w.(*kafkaWire); ok {
		st.BlockedS += time.Duration(kw.blocked.Load()).Seconds()
	}
	st.Note = fmt.Sprintf("%s; took %.2f s longer than --duration, held back by the wire for %.2f s", st.Note, st.LateS, st.BlockedS)
	rep.judge()
	return rep, nil
}

// loadLead is how far ahead of now the load's first sample is due.
const loadLead = time.Second

// rate is (b - a) per second over dt, or -1 (not measured) when dt is
// not positive.
func rate(a, b float64, dt time.Duration) float64 {
	if dt <= 0 {
		return -1
	}
	return (b - a) / dt.Seconds()
}

// fill computes the report's figures from the snapshots and results.
// simRate is what the simulator offered over the whole run: every sample
// over the wall time from the first tick to the last step.
func (r *pipelineRun) fill(rep *PipelineReport, l *load, w wire, simRate float64, s1, s2, s3 snapshot, d drainState, live *stageResult, procs []*stageResult) {
	dt := s2.at.Sub(s1.at)
	// Every stage is offered the load (cars x channels x Hz): a stage
	// that holds the simulator back gets less, and that shows as its
	// shortfall, not as a smaller offer.
	offered := rep.Nominal
	cpu := func(p *proc) float64 {
		return float64(s2.usage[p].ticks-s1.usage[p].ticks) / clockTicks / dt.Seconds()
	}
	waiting := func(p *proc) float64 { return waitingThreads(s1.usage[p].waits, s2.usage[p].waits, dt) }
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	drained := func(t time.Duration) float64 {
		if t == 0 {
			return -1
		}
		return t.Seconds()
	}
	rep.Machine = machineBetween(s1.machine, s2.machine, dt)
	selfCPU := float64(s2.self.ticks-s1.self.ticks) / clockTicks / dt.Seconds()
	rep.Stages = append(rep.Stages, Stage{Name: "simulator", Process: "pitwall bench (the load)", Offered: rep.Nominal, Achieved: simRate,
		CPU: selfCPU, Waiting: waitingThreads(s1.self.waits, s2.self.waits, dt), RSSMiB: mib(s2.self.rss), PeakRSSMiB: mib(r.peakOf(os.Getpid())), Queue: "-", QueueAtEnd: -1, DrainedS: -1,
		Note: fmt.Sprintf("ran up to %v behind real time", time.Duration(l.lagMax.Load()).Round(time.Millisecond))})
	if r.edge != nil {
		rep.Stages = append(rep.Stages, Stage{Name: "edge", Process: "pitwall edge", Offered: offered,
			Achieved: rate(s1.edge.sum("edge_samples_received_total"), s2.edge.sum("edge_samples_received_total"), dt),
			CPU:      cpu(r.edge), Waiting: waiting(r.edge), RSSMiB: mib(s2.usage[r.edge].rss), PeakRSSMiB: mib(r.peakOf(r.edge.cmd.Process.Pid)), Queue: "spool records",
			QueueAtEnd: int64(s2.edge.sum("edge_spool_records")), DrainedS: drained(d.edge), Pitwall: true})
		rep.Stages = append(rep.Stages, Stage{Name: "broker", Process: "pitwall broker", Offered: offered,
			Achieved: rate(s1.edge.sum("edge_acked_samples_total"), s2.edge.sum("edge_acked_samples_total"), dt),
			CPU:      cpu(r.broker), Waiting: waiting(r.broker), RSSMiB: mib(s2.usage[r.broker].rss), PeakRSSMiB: mib(r.peakOf(r.broker.cmd.Process.Pid)), Queue: "unacked records",
			QueueAtEnd: int64(s2.edge.sum("edge_inflight_records")), DrainedS: drained(d.broker), Pitwall: true,
			Note: "achieved: samples the edge had acknowledged"})
	} else {
		rep.Stages = append(rep.Stages, Stage{Name: "broker", Process: "pitwall broker", Offered: offered,
			Achieved: rate(float64(s1.kafkaAcked), float64(s2.kafkaAcked), dt),
			CPU:      cpu(r.broker), Waiting: waiting(r.broker), RSSMiB: mib(s2.usage[r.broker].rss), PeakRSSMiB: mib(r.peakOf(r.broker.cmd.Process.Pid)), Queue: "unacked frames",
			QueueAtEnd: s2.simFrames - s2.kafkaFrames, DrainedS: drained(d.broker), Pitwall: true,
			Note: "achieved: samples the producer had acknowledged"})
	}
	liveDt := time.Duration(s2.live.AtNs - s1.live.AtNs)
	rep.Stages = append(rep.Stages, Stage{Name: "live stream", Process: "live subscriber (stage process)", Offered: offered,
		Achieved: rate(float64(s1.live.Samples), float64(s2.live.Samples), liveDt),
		CPU:      cpu(r.live), Waiting: waiting(r.live), RSSMiB: mib(s2.usage[r.live].rss), PeakRSSMiB: mib(r.peakOf(r.live.cmd.Process.Pid)), Queue: "frames behind",
		QueueAtEnd: s2.simFrames - s2.live.Frames, DrainedS: drained(d.live), Pitwall: true})
	pst := Stage{Name: "processors", Offered: offered, Queue: "consumer lag records",
		QueueAtEnd: d.lagAtEnd, DrainedS: drained(d.lag), Pitwall: true, Achieved: -1}
	if r.cfg.InfluxURL != "" {
		pst.Achieved = rate(float64(s1.procSamples), float64(s2.procSamples), s2.procAt.Sub(s1.procAt))
		pst.Note = "achieved: samples in InfluxDB"
		if d.process == 0 {
			pst.DrainedS = -1
		} else {
			pst.DrainedS = max(pst.DrainedS, d.process.Seconds())
		}
	}
	var each []string
	for _, p := range r.process {
		if w := waiting(p); w < 0 || pst.Waiting < 0 {
			pst.Waiting = -1
		} else {
			pst.Waiting += w
		}
		pst.CPU += cpu(p)
		pst.RSSMiB += mib(s2.usage[p].rss)
		pst.PeakRSSMiB += mib(r.peakOf(p.cmd.Process.Pid))
		each = append(each, fmt.Sprintf("%.2f", cpu(p)))
	}
	pst.Process = fmt.Sprintf("lap processor x%d (cores %s)", len(r.process), strings.Join(each, " + "))
	rep.Stages = append(rep.Stages, pst)
	for _, p := range []*proc{r.influxd, r.mosq} {
		if p != nil {
			st := Stage{Name: p.name, Process: p.name + " (not Pitwall)", Offered: -1, Achieved: -1,
				CPU: cpu(p), Waiting: waiting(p), RSSMiB: mib(s2.usage[p].rss), PeakRSSMiB: mib(r.peakOf(p.cmd.Process.Pid)), Queue: "-", QueueAtEnd: -1, DrainedS: -1}
			if p == r.influxd && s1.influx.ok && s2.influx.ok {
				if n := s2.influx.requests - s1.influx.requests; n > 0 {
					st.Note = fmt.Sprintf("%d write requests (%.1f/s), %.0f KB each on average",
						n, float64(n)/s2.at.Sub(s1.at).Seconds(), float64(s2.influx.bytes-s1.influx.bytes)/float64(n)/1000)
				}
			}
			rep.Stages = append(rep.Stages, st)
		}
	}
	for _, s := range rep.Stages {
		if s.Pitwall {
			rep.PitwallCPU += s.CPU
			rep.PitwallRSSMiB += s.RSSMiB
			rep.PitwallPeakRSSMiB += s.PeakRSSMiB
		}
	}
	r.latencies(rep, l, w, s3, live, procs)
	if r.influxd != nil {
		work, err := readInfluxdWork(r.influxd.log, l.start, l.start.Add(r.cfg.Duration))
		if err != nil {
			rep.Errors = append(rep.Errors, "influxd's log: "+err.Error())
		}
		rep.InfluxdWork = work
	}
	r.frames(rep, l, live)
}

// latencies fills the latency rows, each with its p99 by part of the
// load where the histogram kept its seconds.
func (r *pipelineRun) latencies(rep *PipelineReport, l *load, w wire, s3 snapshot, live *stageResult, procs []*stageResult) {
	every, n := loadParts(r.cfg.Duration)
	rep.PartS = every.Seconds()
	row := func(h *latencyHist, what, note string) {
		lat := h.latency(what, note)
		lat.P99ByPartMs = h.p99By(l.start, every, n)
		rep.Latency = append(rep.Latency, lat)
	}
	row(&l.made, "    sample → made by the simulator", "the frame handed to the wire: the load's own lateness, part of every row below")
	if kw, ok := w.(*kafkaWire); ok {
		row(&kw.ack, "(a) sample → broker ack", "the producer's acknowledgements (acks=all)")
	} else {
		var lr latencyHist
		lr.add(live.Receipt)
		row(&lr, "    sample → edge receipt", "record timestamp minus sample time")
		rep.Latency = append(rep.Latency, s3.edge.promLatency("edge_ack_latency_seconds", "(a) edge receipt → broker ack",
			"the edge's histogram (buckets: p50/p99 interpolated, max a bucket bound)"))
	}
	var lf latencyHist
	lf.add(live.Fetched)
	row(&lf, "    sample → live subscriber fetched", "when the subscriber got the frame, before the plugin's 16 ms batching")
	var lv latencyHist
	lv.add(live.Latency)
	row(&lv, "(b) sample → live stream", "a row per car per sample of the streamed channel, batched 16 ms as the plugin does")
	var lp latencyHist
	for _, p := range procs {
		lp.add(p.Latency)
		if p.Err != "" {
			rep.Errors = append(rep.Errors, "processor: "+p.Err)
		}
	}
	note := "a sample per car per 10 ms of sensor time, when the write holding it was accepted"
	if r.cfg.InfluxURL == "" {
		note = "no InfluxDB"
	}
	row(&lp, "(c) sample → InfluxDB accepted", note)
}

// loadParts splits a load of duration d into n parts of every: a sixth
// of d rounded down to whole seconds (10 s for a minute; seven parts of
// 7 s for 45 s), at least a second each.
func loadParts(d time.Duration) (every time.Duration, n int) {
	every = max((d / 6).Truncate(time.Second), time.Second)
	return every, int((d + every - 1) / every)
}

// readInfluxdWork reads influxd's log (level info) for the cache
// snapshots and TSM compactions that overlapped [from, to), with their
// start relative to from. influxd logs each one's end with its elapsed
// time:
//
//	ts=... msg="TSM compaction (end)" ... tsm1_level=1 tsm1_strategy=level ... op_name=tsm1_compact_group ... op_event=end op_elapsed=8608.507ms
func readInfluxdWork(path string, from, to time.Time) ([]InfluxdWork, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var work []InfluxdWork
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		b, ok := parseInfluxdWork(sc.Text())
		if !ok {
			continue
		}
		end := b.start.Add(b.took)
		if end.Before(from) || !b.start.Before(to) {
			continue
		}
		work = append(work, InfluxdWork{What: b.what, StartS: b.start.Sub(from).Seconds(), Seconds: b.took.Seconds()})
	}
	return work, sc.Err()
}

type influxdOp struct {
	what  string
	start time.Time
	took  time.Duration
}

// parseInfluxdWork reads one logfmt line of influxd's: the end of a
// cache snapshot or of a TSM compaction.
func parseInfluxdWork(line string) (influxdOp, bool) {
	if !strings.Contains(line, "op_event=end") {
		return influxdOp{}, false
	}
	fields := map[string]string{}
	for f := range strings.FieldsSeq(line) {
		if k, v, ok := strings.Cut(f, "="); ok {
			fields[k] = v
		}
	}
	if fields["op_event"] != "end" {
		return influxdOp{}, false
	}
	var what string
	switch fields["op_name"] {
	case "tsm1_cache_snapshot":
		what = "snapshot"
	case "tsm1_compact_group":
		what = "compaction " + fields["tsm1_strategy"]
		if fields["tsm1_strategy"] == "level" {
			what = "compaction level " + fields["tsm1_level"]
		}
	default:
		return influxdOp{}, false
	}
	end, err := time.Parse(time.RFC3339Nano, fields["ts"])
	if err != nil {
		return influxdOp{}, false
	}
	took, err := time.ParseDuration(fields["op_elapsed"])
	if err != nil || took < 0 {
		return influxdOp{}, false
	}
	return influxdOp{what: what, start: end.Add(-took), took: took}, true
}

// frames counts lost and doubled frames against the simulator's
// sequence numbers.
func (r *pipelineRun) frames(rep *PipelineReport, l *load, live *stageResult) {
	for car, o := range l.offered() {
		rep.Frames.Offered += o.frames
		got := live.Cars[car]
		rep.Frames.Lost += max(o.frames-got.Frames, 0)
		rep.Frames.Doubled += got.Doubled
		if got.Frames > 0 && (got.First != 0 || got.Last != o.lastSeq) {
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s: seqs %d..%d seen, %d..%d offered", car, got.First, got.Last, 0, o.lastSeq))
		}
	}
	rep.Frames.Bad = live.Bad
}
