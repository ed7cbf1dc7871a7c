package up

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/dashboards/web"
	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/telemetry"
)

const ansiRed = "\x1b[1;31m"

// ansiAlarm is the colour of an alarm of severity sev.
func ansiAlarm(sev string) string {
	switch sev {
	case telemetry.SeverityCritical:
		return ansiRed
	case telemetry.SeverityWarning:
		return ansiPit
	}
	return ansiDim
}

// RenderAlarms writes one line per raised alarm (most severe first, as
// web.Alarms.Active orders them), each at most 80 columns:
// "ALARM car02 water_hot     Water temperature over 110 °C (water_temp 113.5)".
func RenderAlarms(w io.Writer, alarms []telemetry.Alarm, drivers web.Drivers, colour bool) error {
	for _, a := range alarms {
		car := carName(web.Row{Car: a.Car, Number: drivers.Of(a.Car).Number, Driver: drivers.Of(a.Car).Name})
		line := clip(fmt.Sprintf("ALARM %-8s %-14s %s (%s %.4g)", car, clip(a.Rule, 14), a.Message, a.Channel, a.Value), 80)
		if colour {
			line = ansiAlarm(a.Severity) + line + ansiReset
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

// AlarmLine is the one-line form of an alarm raised or cleared, for
// output that is not a terminal: "car02 ALARM water_hot water_temp
// raised: Water temperature over 110 °C (113.5)".
func AlarmLine(a *telemetry.Alarm) string {
	state := "cleared"
	if a.Active {
		state = "raised"
	}
	return fmt.Sprintf("%s ALARM %s %s %s: %s (%.4g)", a.Car, a.Rule, a.Channel, state, a.Message, a.Value)
}

// alarmTail follows telemetry.alarms (this run's group and session) and
// hands the alarms on.
func (a *assembly) alarmTail(ctx context.Context, out chan<- telemetry.Alarm) error {
	codec := telemetry.MustNewCodec()
	return a.follow(ctx, "pitwall-up-board-alarms", telemetry.TopicAlarms, func(m *sarama.ConsumerMessage) {
		var al telemetry.Alarm
		if !processors.FromGroup(m, a.cfg.Group) || codec.DecodeAlarm(m.Value, &al) != nil || al.Session != a.session {
			return
		}
		select {
		case out <- al:
		case <-ctx.Done():
		}
	})
}

// alarmLines is RenderAlarms to a string, with a blank line before.
func alarmLines(alarms []telemetry.Alarm, drivers web.Drivers) string {
	if len(alarms) == 0 {
		return ""
	}
	var sb strings.Builder
	sb.WriteByte('\n')
	_ = RenderAlarms(&sb, alarms, drivers, true)
	return sb.String()
}
