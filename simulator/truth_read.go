package simulator

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/pitwall/pitwall/telemetry"
)

// ReadTruthFile reads a truth CSV that Run wrote (Config.Truth).
func ReadTruthFile(path string) ([]telemetry.Lap, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("simulator: truth: %w", err)
	}
	defer f.Close()
	return ReadTruth(f)
}

// ReadTruth reads the truth CSV back into laps, in file order (each car's
// laps in order): car, lap, start and end times, the sector times and the
// pit-lane flag. Columns are found by their header names, so columns
// added after these are ignored.
func ReadTruth(r io.Reader) ([]telemetry.Lap, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("simulator: truth: %w", err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("simulator: truth: empty file")
	}
	col := map[string]int{}
	var sectors []int
	for i, name := range rows[0] {
		col[name] = i
		if strings.HasPrefix(name, "s") && strings.HasSuffix(name, "_s") {
			sectors = append(sectors, i)
		}
	}
	for _, name := range []string{"car", "lap", "start_ns", "end_ns", "pit_lane"} {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("simulator: truth: no %s column", name)
		}
	}
	laps := make([]telemetry.Lap, 0, len(rows)-1)
	for i, row := range rows[1:] {
		l := telemetry.Lap{Car: row[col["car"]], PitLane: row[col["pit_lane"]] == "true"}
		n, err1 := strconv.ParseInt(row[col["lap"]], 10, 32)
		start, err2 := strconv.ParseInt(row[col["start_ns"]], 10, 64)
		end, err3 := strconv.ParseInt(row[col["end_ns"]], 10, 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("simulator: truth: row %d: %w", i+2, err)
		}
		l.Lap, l.StartNs, l.EndNs = int32(n), start, end
		for _, c := range sectors {
			ns, err := parseTruthSeconds(row[c])
			if err != nil {
				return nil, fmt.Errorf("simulator: truth: row %d: %s: %w", i+2, rows[0][c], err)
			}
			l.SectorsNs = append(l.SectorsNs, ns)
		}
		laps = append(laps, l)
	}
	return laps, nil
}

// parseTruthSeconds reads seconds as seconds writes them (up to nine
// decimals), exactly.
func parseTruthSeconds(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if len(frac) > 9 {
		return 0, fmt.Errorf("%q: more than nine decimals", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, err
	}
	var f int64
	if frac != "" {
		if f, err = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64); err != nil {
			return 0, err
		}
	}
	ns := w*1e9 + f
	if neg {
		ns = -ns
	}
	return ns, nil
}
