package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is what one target measured. For Consume, the throughput fields
// describe reading back and Fill describes the produce pass that wrote it.
type Result struct {
	Target        string  `json:"target"` // "pitwall", "broker" or "kfake"
	Addr          string  `json:"addr"`
	Partitions    int     `json:"partitions"`
	Records       int64   `json:"records"`
	Bytes         int64   `json:"bytes"` // record values only
	Seconds       float64 `json:"seconds"`
	MBPerSec      float64 `json:"mb_per_s"` // 10^6 bytes per second
	RecordsPerSec float64 `json:"records_per_s"`
	// P50Ms and P99Ms are produce latencies (produce call to ack), in
	// milliseconds; absent for a consume pass.
	P50Ms *float64 `json:"p50_ms,omitempty"`
	P99Ms *float64 `json:"p99_ms,omitempty"`
	Fill  *Result  `json:"fill,omitempty"`
}

// Ratio is the broker under test divided by the peer, field by field.
type Ratio struct {
	MBPerSec      float64  `json:"mb_per_s"`
	RecordsPerSec float64  `json:"records_per_s"`
	P50Ms         *float64 `json:"p50_ms,omitempty"`
	P99Ms         *float64 `json:"p99_ms,omitempty"`
}

// Report is one run: its settings, one Result per target (the broker under
// test first) and, with a peer, the ratio between them.
type Report struct {
	Workload    Workload `json:"workload"`
	RecordSize  int      `json:"record_size"`
	Acks        string   `json:"acks"`
	Partitions  int      `json:"partitions"`
	Clients     int      `json:"clients"`
	Compression string   `json:"compression"`
	Client      string   `json:"client"`          // produce load generator: kgo or raw
	Fsync       string   `json:"fsync,omitempty"` // embedded broker only
	GOGC        int      `json:"gogc"`            // the process's GC percent (-1: off)
	Records     int64    `json:"records_limit,omitempty"`
	Duration    string   `json:"duration_limit,omitempty"`
	Results     []Result `json:"results"`
	Ratio       *Ratio   `json:"ratio,omitempty"`
}

func newReport(cfg Config) *Report {
	r := &Report{
		Workload:    cfg.Workload,
		RecordSize:  cfg.RecordSize,
		Acks:        cfg.Acks,
		Partitions:  cfg.Partitions,
		Clients:     cfg.Clients,
		Compression: cfg.Compression,
		Client:      cfg.Client,
		Fsync:       cfg.Fsync,
		Records:     cfg.Records,
		GOGC:        gcPercent(),
	}
	if cfg.Records == 0 {
		r.Duration = cfg.Duration.String()
	}
	return r
}

// gcPercent reads the GC percent in effect: it matters to the figures,
// since the load generator, kfake and an embedded broker share this process.
func gcPercent() int {
	old := debug.SetGCPercent(-1)
	debug.SetGCPercent(old)
	return old
}

func resultOf(p phase) Result {
	secs := p.elapsed.Seconds()
	r := Result{Records: p.records, Bytes: p.bytes, Seconds: secs}
	if secs > 0 {
		r.MBPerSec = float64(p.bytes) / 1e6 / secs
		r.RecordsPerSec = float64(p.records) / secs
	}
	if p.latency != nil && p.latency.Count() > 0 {
		r.P50Ms = ms(p.latency.Quantile(0.50))
		r.P99Ms = ms(p.latency.Quantile(0.99))
	}
	return r
}

func ms(d time.Duration) *float64 {
	v := float64(d) / float64(time.Millisecond)
	return &v
}

func (r *Report) computeRatio() {
	if len(r.Results) != 2 {
		return
	}
	a, b := r.Results[0], r.Results[1]
	r.Ratio = &Ratio{MBPerSec: div(a.MBPerSec, b.MBPerSec), RecordsPerSec: div(a.RecordsPerSec, b.RecordsPerSec)}
	if a.P50Ms != nil && b.P50Ms != nil {
		v50, v99 := div(*a.P50Ms, *b.P50Ms), div(*a.P99Ms, *b.P99Ms)
		r.Ratio.P50Ms, r.Ratio.P99Ms = &v50, &v99
	}
}

func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// WriteJSON writes r as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes r as a title line and an aligned table: one column per
// target and, with a peer, a ratio column.
func (r *Report) WriteTable(w io.Writer) error {
	if _, err := fmt.Fprintln(w, r.title()); err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 3, ' ', 0)
	head := []string{""}
	for _, res := range r.Results {
		head = append(head, res.Target)
	}
	if r.Ratio != nil {
		head = append(head, r.Results[0].Target+"/"+r.Results[1].Target)
	}
	row(tw, head...)
	for _, line := range r.rows() {
		row(tw, line...)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// An empty last cell leaves padding behind; scripts prefer no
	// trailing blanks.
	for line := range strings.Lines(buf.String()) {
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

func row(w io.Writer, cells ...string) {
	fmt.Fprintln(w, strings.Join(cells, "\t"))
}

func (r *Report) title() string {
	limit := r.Duration
	if r.Records > 0 {
		limit = strconv.FormatInt(r.Records, 10) + " records"
	}
	t := fmt.Sprintf("pitwall bench %s: %d-byte records, acks=%s, %d partitions, %d %s clients, compression %s, %s",
		r.Workload, r.RecordSize, r.Acks, r.Partitions, r.Clients, r.Client, r.Compression, limit)
	if r.Fsync != "" {
		t += ", fsync " + r.Fsync
	}
	return t + ", GOGC " + strconv.Itoa(r.GOGC)
}

// rows returns the table body: label, one cell per result, maybe a ratio.
func (r *Report) rows() [][]string {
	type metric struct {
		label string
		cell  func(Result) string
		ratio func(*Ratio) string
	}
	none := func(*Ratio) string { return "" }
	metrics := []metric{
		{"address", func(x Result) string { return x.Addr }, none},
		{"records", func(x Result) string { return strconv.FormatInt(x.Records, 10) }, none},
		{"seconds", func(x Result) string { return f2(x.Seconds) }, none},
		{"MB/s", func(x Result) string { return f1(x.MBPerSec) }, func(q *Ratio) string { return f2(q.MBPerSec) }},
		{"records/s", func(x Result) string { return f0(x.RecordsPerSec) }, func(q *Ratio) string { return f2(q.RecordsPerSec) }},
	}
	if r.Workload == Produce {
		metrics = append(metrics,
			metric{"p50 latency ms", func(x Result) string { return optf2(x.P50Ms) }, func(q *Ratio) string { return optf2(q.P50Ms) }},
			metric{"p99 latency ms", func(x Result) string { return optf2(x.P99Ms) }, func(q *Ratio) string { return optf2(q.P99Ms) }})
	} else {
		metrics = append(metrics,
			metric{"fill MB/s", func(x Result) string { return f1(x.Fill.MBPerSec) }, none},
			metric{"fill p99 latency ms", func(x Result) string { return optf2(x.Fill.P99Ms) }, none})
	}
	out := make([][]string, 0, len(metrics))
	for _, m := range metrics {
		line := []string{m.label}
		for _, res := range r.Results {
			line = append(line, m.cell(res))
		}
		if r.Ratio != nil {
			line = append(line, m.ratio(r.Ratio))
		}
		out = append(out, line)
	}
	return out
}

func f0(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func optf2(v *float64) string {
	if v == nil {
		return "-"
	}
	return f2(*v)
}
