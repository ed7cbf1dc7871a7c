package processors

import (
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	in := `# HELP edge_spool_records Records in the spool.
# TYPE edge_spool_records gauge
edge_spool_records 12
edge_frames_received_total{source="serial:/dev/pts/3"} 1500
edge_frames_received_total{source="mqtt://127.0.0.1:1883/cars/+"} 500
edge_spool_bytes 4.5e+06
broken{line 7
no_value
bad_value{a="b"} x
`
	m := parseMetrics(strings.NewReader(in))
	want := map[string]float64{"edge_spool_records": 12, "edge_frames_received_total": 2000, "edge_spool_bytes": 4.5e6}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	for _, k := range []string{"broken", "no_value", "bad_value"} {
		if _, ok := m[k]; ok {
			t.Errorf("unreadable line %s was kept", k)
		}
	}
}

func FuzzParseMetrics(f *testing.F) {
	f.Add("edge_spool_records 12\n")
	f.Add("a{b=\"}\"} 1 1700000000000\n# x\n")
	f.Add("}{ 1\n{\n")
	f.Fuzz(func(t *testing.T, s string) {
		parseMetrics(strings.NewReader(s))
	})
}
