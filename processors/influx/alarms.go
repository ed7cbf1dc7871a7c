package influx

import (
	"strconv"
	"strings"

	"github.com/pitwall/pitwall/telemetry"
)

// MeasurementAlarms has a point per alarm raised or cleared, and one a
// second (sensor time) per alarm while it stays raised, so a query over
// any recent window sees it: tags car, session, rule, channel, severity;
// fields active (1 raised, 0 cleared), value, since (ns, when the
// condition began or the alarm was raised), message and condition
// (strings); timestamp = the sensor time of the event, or of the
// heartbeat. The provisioned Grafana alert rules
// (dashboards/provisioning/alerting) read it.
const MeasurementAlarms = "alarms"

// AppendAlarm appends a as one line of MeasurementAlarms at atNs.
// Car, session, rule and channel names need no escaping (package
// telemetry restricts them); message and condition are quoted.
func AppendAlarm(dst []byte, a *telemetry.Alarm, atNs int64) []byte {
	dst = appendHead(dst, MeasurementAlarms, a.Car, a.Session)
	dst = dst[:len(dst)-1] // the head's space: more tags follow
	dst = append(dst, ",channel="...)
	dst = append(dst, a.Channel...)
	dst = append(dst, ",rule="...)
	dst = append(dst, a.Rule...)
	dst = append(dst, ",severity="...)
	dst = append(dst, a.Severity...)
	dst = append(dst, " active="...)
	if a.Active {
		dst = append(dst, "1i"...)
	} else {
		dst = append(dst, "0i"...)
	}
	dst = append(dst, ",value="...)
	dst = strconv.AppendFloat(dst, a.Value, 'g', -1, 64)
	dst = append(dst, ",since="...)
	dst = strconv.AppendInt(dst, a.SinceNs, 10)
	dst = append(dst, "i,message="...)
	dst = appendString(dst, a.Message)
	dst = append(dst, ",condition="...)
	dst = appendString(dst, a.Condition)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, atNs, 10)
	return append(dst, '\n')
}

// fieldEscaper escapes a line protocol string field value; a newline
// would end the line, so it becomes a space.
var fieldEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", " ", "\r", " ")

func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = append(dst, fieldEscaper.Replace(s)...)
	return append(dst, '"')
}
