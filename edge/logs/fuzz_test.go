package logs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead feeds Read anything, in every format: it must not panic, and
// whatever it returns must keep the model's rules.
func FuzzRead(f *testing.F) {
	for _, s := range []string{raceChronoSample, trackAddictSample, aimSample, trackAddictLateLapColumn, aimRealQuirks, raceChronoRealQuirks, raceChrono1HzPhone, "time,lat,lon,speed\ns,deg,deg,mph\n1,51,0,60\n", "time,lat,lon,lap\n1,51,0,1\n2,51,0,2\n", "\"Format\",\"AiM CSV File\"\n\"Time\",\"a\",\"b\"\n"} {
		f.Add([]byte(s), uint8(0))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.csv"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
			f.Add(b, uint8(0))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		opts := Options{Car: "fuzz", Format: Formats[int(format)%len(Formats)], Map: nil}
		l, err := Read(bytes.NewReader(data), opts)
		if err != nil {
			return
		}
		checkValid(t, l)
	})
}
