package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// PipelineReport is what `pitwall bench pipeline` measured.
type PipelineReport struct {
	Cars     int    `json:"cars"`
	Channels int    `json:"channels"`
	Hz       int    `json:"hz"`
	Duration string `json:"duration"`
	In       string `json:"in"`
	Track    string `json:"track"`
	// EdgeArgs are the extra edge flags the run was given.
	EdgeArgs []string `json:"edge_args,omitempty"`
	// BrokerArgs are the extra broker flags the run was given.
	BrokerArgs []string `json:"broker_args,omitempty"`
	// Influx says which InfluxDB the processors wrote to.
	Influx string `json:"influx"`
	// Window is the processors' downsampling window (--window); empty
	// without InfluxDB.
	Window string `json:"window,omitempty"`
	// Nominal is cars x channels x Hz, samples/s.
	Nominal float64 `json:"nominal_samples_per_s"`
	// LoadBefore and LoadAfter are the machine's load average around
	// the run (/proc/loadavg).
	LoadBefore string `json:"load_before"`
	LoadAfter  string `json:"load_after"`
	// Machine is how busy the whole machine was while the load ran;
	// nil where /proc/stat cannot be read.
	Machine *Machine `json:"machine,omitempty"`
	// Stages in pipeline order; InfluxDB and Mosquitto last, when the
	// run started them (not Pitwall).
	Stages  []Stage   `json:"stages"`
	Latency []Latency `json:"latency"`
	// PartS is the length of the parts of the load that
	// Latency.P99ByPartMs and InfluxdWork are told by, seconds.
	PartS float64 `json:"part_s"`
	// InfluxdWork is what the local influxd logged doing besides
	// writes while the load ran: cache snapshots and TSM compactions.
	InfluxdWork []InfluxdWork `json:"influxd_work,omitempty"`
	Frames      struct {
		Offered int64 `json:"offered"`
		Lost    int64 `json:"lost"`
		Doubled int64 `json:"doubled"`
		Bad     int64 `json:"undecodable"`
	} `json:"frames"`
	// Pitwall's processes together (edge, broker, live subscriber,
	// processors; not the load generator, InfluxDB or Mosquitto).
	PitwallCPU        float64 `json:"pitwall_cpu_cores"`
	PitwallRSSMiB     float64 `json:"pitwall_rss_mib"`
	PitwallPeakRSSMiB float64 `json:"pitwall_peak_rss_mib"`
	// KeptUp is the rule; Saturated names the first stage that
	// did not keep up (pipeline order) and why.
	KeptUp    bool     `json:"kept_up"`
	Saturated string   `json:"saturated,omitempty"`
	Verdict   string   `json:"verdict"`
	Errors    []string `json:"errors,omitempty"`
}

// InfluxdWork is one stretch of background work of influxd: a cache
// snapshot (the in-memory cache written out as a TSM file) or a TSM
// compaction (files merged and rewritten), which compete with the
// pipeline for the CPU and the disk.
type InfluxdWork struct {
	// What is "snapshot" or "compaction level N" (or "full", "optimize").
	What string `json:"what"`
	// StartS is when it began, seconds from the start of the load;
	// Seconds how long it took.
	StartS  float64 `json:"start_s"`
	Seconds float64 `json:"seconds"`
}

// Stage is one row of the report.
type Stage struct {
	Name    string `json:"stage"`
	Process string `json:"process"`
	// Offered and Achieved are samples/s over the steady part of the
	// run (from a tenth of the duration to its end); -1: not measured.
	Offered  float64 `json:"offered_samples_per_s"`
	Achieved float64 `json:"achieved_samples_per_s"`
	// CPU is cores used over the same span; Waiting is how many of its
	// threads were runnable but waiting for a CPU, on average (see
	// Machine.WaitingThreads; -1: not known).
	CPU        float64 `json:"cpu_cores"`
	Waiting    float64 `json:"waiting_threads"`
	RSSMiB     float64 `json:"rss_mib"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	// Queue names what QueueAtEnd counts (at the end of the load; -1:
	// none); DrainedS is how long after the end it emptied (-1: not
	// within the drain wait, or no queue).
	Queue      string  `json:"queue"`
	QueueAtEnd int64   `json:"queue_at_end"`
	DrainedS   float64 `json:"drained_s"`
	Pitwall    bool    `json:"pitwall"`
	Note       string  `json:"note,omitempty"`
	// Simulator only: LateS is how much longer than --duration it took
	// to offer the load, BlockedS how long the wire held it back
	// (backpressure from the next stage).
	LateS    float64 `json:"late_s,omitempty"`
	BlockedS float64 `json:"blocked_s,omitempty"`
}

// heldBack reports whether the simulator fell behind because the wire
// held it back (at least half its lateness) rather than for want of CPU:
// then the stage after it is the one that did not keep up.
func (s Stage) heldBack() bool { return s.LateS > 0 && s.BlockedS >= s.LateS/2 }

// judge applies the rule: in pipeline order, the first stage that
// achieved less than KeptUpShare of what was offered, or whose queue
// did not drain within DrainWithin, saturated first. Lost or doubled
// frames fail the run too.
func (rep *PipelineReport) judge() {
	var why []string
	held := ""
	for _, s := range rep.Stages {
		if !s.Pitwall && s.Name != "simulator" {
			continue
		}
		var r []string
		if s.Achieved >= 0 && s.Achieved < KeptUpShare*s.Offered {
			r = append(r, fmt.Sprintf("achieved %.1f%% of offered", 100*s.Achieved/s.Offered))
		}
		if s.Queue != "-" && (s.DrainedS < 0 || s.DrainedS > DrainWithin.Seconds()) {
			if s.DrainedS < 0 {
				r = append(r, fmt.Sprintf("%s not drained", s.Queue))
			} else {
				r = append(r, fmt.Sprintf("%s drained only %.1f s after the end", s.Queue, s.DrainedS))
			}
		}
		if len(r) > 0 && s.heldBack() {
			held = fmt.Sprintf("it held the simulator back %.1f s: backpressure", s.BlockedS)
			continue // the next stage is the one that held it back
		}
		if len(r) > 0 && held != "" {
			r = append(r, held)
		}
		if len(r) > 0 && rep.Saturated == "" {
			rep.Saturated = s.Name
			why = append(r, fmt.Sprintf("it used %.2f cores", s.CPU))
		}
	}
	for _, s := range rep.Stages {
		if rep.Saturated == "processors" && s.Name == "influxd" {
			why = append(why, fmt.Sprintf("the InfluxDB it waits on %.2f", s.CPU))
		}
	}
	rep.KeptUp = rep.Saturated == "" && rep.Frames.Lost == 0 && rep.Frames.Doubled == 0
	switch {
	case rep.KeptUp:
		rep.Verdict = "kept up"
	case rep.Saturated != "":
		rep.Verdict = fmt.Sprintf("did not keep up: %s saturated first (%s)", rep.Saturated, strings.Join(why, "; "))
	default:
		rep.Verdict = "did not keep up"
	}
	if rep.Frames.Lost > 0 || rep.Frames.Doubled > 0 {
		rep.Verdict += fmt.Sprintf("; %d frames lost, %d doubled", rep.Frames.Lost, rep.Frames.Doubled)
	}
}

// WriteJSON prints the report as indented JSON.
func (rep *PipelineReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteTable prints the report: a title, a table per stage, the latency
// table, the frame count and the verdict.
func (rep *PipelineReport) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "pitwall bench pipeline: %d cars x %d channels x %d Hz = %s samples/s for %s over --in %s (%s)\n",
		rep.Cars, rep.Channels, rep.Hz, grouped(rep.Nominal), rep.Duration, rep.In, rep.Track)
	if len(rep.BrokerArgs) > 0 {
		fmt.Fprintf(w, "broker flags: %s\n", strings.Join(rep.BrokerArgs, " "))
	}
	if len(rep.EdgeArgs) > 0 {
		fmt.Fprintf(w, "edge flags: %s\n", strings.Join(rep.EdgeArgs, " "))
	}
	fmt.Fprintf(w, "InfluxDB: %s", rep.Influx)
	if rep.Window != "" {
		fmt.Fprintf(w, "; a point per car per %s", rep.Window)
	}
	fmt.Fprintf(w, "\nload average: %s before, %s after\n", rep.LoadBefore, rep.LoadAfter)
	if m := rep.Machine; m != nil {
		fmt.Fprintf(w, "machine (%d CPUs, every process) from a tenth of the load to its end: %.0f%% busy (user %.0f%%, system %.0f%%), iowait %.0f%%, steal %.0f%%, %s context switches/s",
			m.CPUs, m.BusyPct, m.UserPct, m.SystemPct, m.IOWaitPct, m.StealPct, grouped(m.ContextSwitchesPerS))
		if m.WaitingThreads >= 0 {
			fmt.Fprintf(w, ", %.1f threads waiting for a CPU on average", m.WaitingThreads)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "stage\toffered/s\tachieved/s\t%\tCPU cores\twaiting\tRSS MiB\tpeak MiB\tat end\tdrained\tprocess")
	for _, s := range rep.Stages {
		pct, off, ach := "-", "-", "-"
		if s.Offered > 0 {
			off = grouped(s.Offered)
		}
		if s.Achieved >= 0 {
			ach = grouped(s.Achieved)
			if s.Offered > 0 {
				pct = strconv.FormatFloat(100*s.Achieved/s.Offered, 'f', 1, 64)
			}
		}
		atEnd, drained := "-", "-"
		if s.Queue != "-" {
			atEnd = fmt.Sprintf("%d %s", s.QueueAtEnd, s.Queue)
			drained = "no"
			if s.DrainedS >= 0 {
				drained = (time.Duration(s.DrainedS * float64(time.Second))).Round(10 * time.Millisecond).String()
			}
		}
		waiting := "-"
		if s.Waiting >= 0 {
			waiting = strconv.FormatFloat(s.Waiting, 'f', 2, 64)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\t%s\t%.0f\t%.0f\t%s\t%s\t%s\n", s.Name, off, ach, pct, s.CPU, waiting, s.RSSMiB, s.PeakRSSMiB, atEnd, drained, s.Process)
	}
	fmt.Fprintf(tw, "Pitwall total\t\t\t\t%.2f\t\t%.0f\t%.0f\t\t\tedge, broker, live subscriber, processors\n", rep.PitwallCPU, rep.PitwallRSSMiB, rep.PitwallPeakRSSMiB)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "latency\tp50 ms\tp99 ms\tmax ms\tcount\thow")
	for _, l := range rep.Latency {
		if l.Count == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t0\t%s\n", l.What, l.Note)
			continue
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%d\t%s\n", l.What, l.P50Ms, l.P99Ms, l.MaxMs, l.Count, l.Note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := rep.writeParts(w); err != nil {
		return err
	}
	for _, s := range rep.Stages {
		if s.Note != "" {
			fmt.Fprintf(w, "%s: %s\n", s.Name, s.Note)
		}
	}
	fmt.Fprintf(w, "\nframes: %s offered, %d lost, %d doubled (against the simulator's sequence numbers)\n",
		grouped(float64(rep.Frames.Offered)), rep.Frames.Lost, rep.Frames.Doubled)
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
	_, err := fmt.Fprintf(w, "verdict: %s\n", rep.Verdict)
	return err
}

// writeParts prints the p99 latencies and influxd's background work by
// part of the load, when measured: a tail that comes from one stretch
// of the run (influxd compacting, say) shows as one column.
func (rep *PipelineReport) writeParts(w io.Writer) error {
	n := 0
	for _, l := range rep.Latency {
		n = max(n, len(l.P99ByPartMs))
	}
	if n == 0 || rep.PartS <= 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "p99 ms of the samples taken in each part of the load\t")
	for i := range n {
		fmt.Fprintf(tw, "%g-%gs\t", float64(i)*rep.PartS, float64(i+1)*rep.PartS)
	}
	fmt.Fprintln(tw)
	for _, l := range rep.Latency {
		if len(l.P99ByPartMs) == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t", strings.TrimSpace(l.What))
		for _, v := range l.P99ByPartMs {
			if v < 0 {
				fmt.Fprint(tw, "-\t")
			} else {
				fmt.Fprintf(tw, "%.1f\t", v)
			}
		}
		fmt.Fprintln(tw)
	}
	if strings.HasPrefix(rep.Influx, "a local influxd") {
		for _, kind := range []struct{ what, row string }{
			{"snapshot", "influxd writing cache snapshots, s"},
			{"compaction", "influxd compacting TSM files, s"},
		} {
			busy := make([]float64, n)
			for _, b := range rep.InfluxdWork {
				if strings.HasPrefix(b.What, kind.what) {
					spread(busy, b.StartS, b.StartS+b.Seconds, rep.PartS)
				}
			}
			fmt.Fprintf(tw, "%s\t", kind.row)
			for _, v := range busy {
				fmt.Fprintf(tw, "%.1f\t", v)
			}
			fmt.Fprintln(tw)
		}
	}
	return tw.Flush()
}

// spread adds the share of [from, to) that falls in each part of length
// every to busy.
func spread(busy []float64, from, to, every float64) {
	for i := range busy {
		lo, hi := float64(i)*every, float64(i+1)*every
		if d := min(hi, to) - max(lo, from); d > 0 {
			busy[i] += d
		}
	}
}

// grouped prints v rounded, with thousands separated by commas.
func grouped(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
