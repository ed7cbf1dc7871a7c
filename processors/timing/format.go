package timing

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Formats Writer can write.
const (
	FormatTable = "table"
	FormatCSV   = "csv"
	FormatJSON  = "json"
)

// Writer writes laps in one format. Header once, then rows.
type Writer struct {
	w      io.Writer
	format string
	csv    *csv.Writer
	widths []int // table: the columns' widths so far
}

// NewWriter returns a writer of format (FormatTable, FormatCSV or
// FormatJSON) to w.
func NewWriter(w io.Writer, format string) (*Writer, error) {
	switch format {
	case FormatTable, FormatJSON:
		return &Writer{w: w, format: format}, nil
	case FormatCSV:
		return &Writer{w: w, format: format, csv: csv.NewWriter(w)}, nil
	}
	return nil, fmt.Errorf("timing: output %q: want table, csv or json", format)
}

// columns of the table and the CSV, in order.
var columns = []string{"group", "car", "session", "lap", "end", "time", "valid", "pit", "device", "diff", "sectors"}

// Header writes the column names (table, CSV) and sizes the table's
// columns to fit rows, the laps known at the start; later rows wider
// than a column push the columns after it along.
func (w *Writer) Header(rows []Row) error {
	switch w.format {
	case FormatCSV:
		return w.writeCSV([]string{"group", "car", "session", "lap", "start_ns", "end_ns", "time_s", "valid", "pit_lane",
			"device_time_s", "diff_s", "sectors_s"})
	case FormatTable:
		w.widths = make([]int, len(columns))
		for i, c := range columns {
			w.widths[i] = len(c)
		}
		for i := range rows {
			for j, c := range tableCells(&rows[i]) {
				w.widths[j] = max(w.widths[j], len(c))
			}
		}
		return w.writeTable(columns)
	}
	return nil
}

// Write writes one lap.
func (w *Writer) Write(r Row) error {
	switch w.format {
	case FormatCSV:
		return w.writeCSV(csvCells(&r))
	case FormatJSON:
		b, err := json.Marshal(jsonLap(&r))
		if err != nil {
			return err
		}
		_, err = w.w.Write(append(b, '\n'))
		return err
	}
	return w.writeTable(tableCells(&r))
}

func (w *Writer) writeCSV(cells []string) error {
	if err := w.csv.Write(cells); err != nil {
		return err
	}
	w.csv.Flush()
	return w.csv.Error()
}

func (w *Writer) writeTable(cells []string) error {
	var b strings.Builder
	for i, c := range cells {
		if i == len(cells)-1 {
			b.WriteString(c)
			break
		}
		b.WriteString(c)
		b.WriteString(strings.Repeat(" ", max(w.widths[i]-len(c), 0)+2))
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w.w, strings.TrimRight(b.String(), " \n")+"\n")
	return err
}

func tableCells(r *Row) []string {
	l := &r.Lap
	valid, pit, device, diff := "-", "-", "-", "-"
	if v, ok := r.Valid(); ok {
		valid = map[bool]string{true: "yes", false: "no"}[v]
	}
	if l.PitLane {
		pit = "pit"
	}
	if l.DeviceNs != nil {
		device = Clock(time.Duration(*l.DeviceNs))
		diff = Seconds(l.LapTime()-time.Duration(*l.DeviceNs), true)
	}
	sectors := make([]string, len(l.SectorsNs))
	for i, s := range l.SectorsNs {
		sectors[i] = Seconds(time.Duration(s), false)
	}
	return []string{dash(r.Group), l.Car, dash(l.Session), strconv.Itoa(int(l.Lap)),
		time.Unix(0, l.EndNs).UTC().Format("2006-01-02 15:04:05.000"), Clock(l.LapTime()),
		valid, pit, device, diff, dash(strings.Join(sectors, " "))}
}

func csvCells(r *Row) []string {
	l := &r.Lap
	valid, device, diff := "", "", ""
	if v, ok := r.Valid(); ok {
		valid = strconv.FormatBool(v)
	}
	if l.DeviceNs != nil {
		device = secs(*l.DeviceNs)
		diff = secs(l.EndNs - l.StartNs - *l.DeviceNs)
	}
	sectors := make([]string, len(l.SectorsNs))
	for i, s := range l.SectorsNs {
		sectors[i] = secs(s)
	}
	return []string{r.Group, l.Car, l.Session, strconv.Itoa(int(l.Lap)), strconv.FormatInt(l.StartNs, 10),
		strconv.FormatInt(l.EndNs, 10), secs(l.EndNs - l.StartNs), valid, strconv.FormatBool(l.PitLane), device, diff,
		strings.Join(sectors, " ")}
}

// lapJSON is one lap of --output json (one object per line).
type lapJSON struct {
	Group       string             `json:"group"`
	Car         string             `json:"car"`
	Session     string             `json:"session"`
	Lap         int32              `json:"lap"`
	Start       time.Time          `json:"start"`
	End         time.Time          `json:"end"`
	StartNs     int64              `json:"start_ns"`
	EndNs       int64              `json:"end_ns"`
	TimeS       float64            `json:"time_s"`
	SectorsS    []float64          `json:"sectors_s"`
	Valid       *bool              `json:"valid"`
	PitLane     bool               `json:"pit_lane"`
	DeviceTimeS *float64           `json:"device_time_s"`
	Metrics     map[string]float64 `json:"metrics"`
}

func jsonLap(r *Row) lapJSON {
	l := &r.Lap
	out := lapJSON{Group: r.Group, Car: l.Car, Session: l.Session, Lap: l.Lap,
		Start: time.Unix(0, l.StartNs).UTC(), End: time.Unix(0, l.EndNs).UTC(), StartNs: l.StartNs, EndNs: l.EndNs,
		TimeS: float64(l.EndNs-l.StartNs) / 1e9, SectorsS: []float64{}, PitLane: l.PitLane, Metrics: map[string]float64{}}
	for _, s := range l.SectorsNs {
		out.SectorsS = append(out.SectorsS, float64(s)/1e9)
	}
	if v, ok := r.Valid(); ok {
		out.Valid = &v
	}
	if l.DeviceNs != nil {
		d := float64(*l.DeviceNs) / 1e9
		out.DeviceTimeS = &d
	}
	for _, m := range l.Metrics {
		out.Metrics[m.Name] = m.Value
	}
	return out
}

// Clock formats a lap time as m:ss.mmm.
func Clock(d time.Duration) string {
	ms := d.Round(time.Millisecond).Milliseconds()
	return fmt.Sprintf("%d:%02d.%03d", ms/60000, ms/1000%60, ms%1000)
}

// Seconds formats d as s.mmm, with a sign when signed.
func Seconds(d time.Duration, signed bool) string {
	ms := d.Round(time.Millisecond).Milliseconds()
	sign := ""
	switch {
	case ms < 0:
		sign, ms = "-", -ms
	case signed:
		sign = "+"
	}
	return fmt.Sprintf("%s%d.%03d", sign, ms/1000, ms%1000)
}

// secs formats ns as seconds with every digit (CSV).
func secs(ns int64) string { return strconv.FormatFloat(float64(ns)/1e9, 'f', -1, 64) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
