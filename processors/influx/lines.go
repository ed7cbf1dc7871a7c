package influx

import (
	"strconv"

	"github.com/pitwall/pitwall/telemetry"
)

// Measurements written.
const (
	// MeasurementLap has one point per lap: tags car, session; timestamp =
	// the lap's end; fields lap (int), lap_time, s1, s2, ... (seconds),
	// pit_lane (bool), and every metric of the Lap by its name.
	MeasurementLap = "lap"
	// MeasurementTelemetry has one point per car per downsampling window:
	// tags car, session; timestamp = the window's start; fields <channel>
	// (mean), <channel>_min, <channel>_max, and where known live_delta (s)
	// and lap_distance (m along the lap in progress, for plots by distance).
	MeasurementTelemetry = "telemetry"
)

// AppendLap appends l as one line of MeasurementLap. Car, session and
// metric names are restricted by package telemetry to characters line
// protocol needs no escaping for. extra adds fields (e.g. the delta to the
// session best) after the lap's own.
func AppendLap(dst []byte, l *telemetry.Lap, extra ...telemetry.Metric) []byte {
	dst = appendHead(dst, MeasurementLap, l.Car, l.Session)
	dst = append(dst, "lap="...)
	dst = strconv.AppendInt(dst, int64(l.Lap), 10)
	dst = append(dst, "i,lap_time="...)
	dst = appendSeconds(dst, l.EndNs-l.StartNs)
	for i, s := range l.SectorsNs {
		dst = append(dst, ",s"...)
		dst = strconv.AppendInt(dst, int64(i+1), 10)
		dst = append(dst, '=')
		dst = appendSeconds(dst, s)
	}
	dst = append(dst, ",pit_lane="...)
	dst = strconv.AppendBool(dst, l.PitLane)
	for _, ms := range [][]telemetry.Metric{l.Metrics, extra} {
		for _, m := range ms {
			dst = append(dst, ',')
			dst = append(dst, m.Name...)
			dst = append(dst, '=')
			dst = strconv.AppendFloat(dst, m.Value, 'g', -1, 64)
		}
	}
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, l.EndNs, 10)
	return append(dst, '\n')
}

func appendHead(dst []byte, measurement, car, session string) []byte {
	dst = append(dst, measurement...)
	dst = append(dst, ",car="...)
	dst = append(dst, car...)
	if session != "" {
		dst = append(dst, ",session="...)
		dst = append(dst, session...)
	}
	return append(dst, ' ')
}

// appendSeconds writes ns as seconds with all nine decimals, so a lap time
// read back is exactly the one computed.
func appendSeconds(dst []byte, ns int64) []byte {
	if ns < 0 {
		dst, ns = append(dst, '-'), -ns
	}
	dst = strconv.AppendInt(dst, ns/1e9, 10)
	frac := ns % 1e9
	dst = append(dst, '.')
	s := strconv.AppendInt(nil, frac+1e9, 10)
	return append(dst, s[1:]...)
}
