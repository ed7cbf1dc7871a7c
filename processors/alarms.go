package processors

import (
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/processors/alarm"
	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/telemetry"
)

// alarmBeatEvery is the sensor time between two points of a raised alarm
// in InfluxDB, so any recent window of the alarms measurement shows it.
const alarmBeatEvery = time.Second

// newAlarms returns the alarm evaluator of a car with catalog cat; nil
// without Config.Alarms. A rule that finds no channel in the catalog is
// warned about once per rule.
func (p *partition) newAlarms(cat *telemetry.ChannelCatalog) *alarm.Car {
	if p.r.cfg.Alarms == nil {
		return nil
	}
	a := alarm.NewCar(p.r.cfg.Alarms, cat)
	for _, name := range a.Unmatched() {
		if p.r.ignored.first("alarm " + name) {
			p.r.cfg.Logger.Warn("processors: alarm rule matches no channel of the car (nor, maybe, of others): it raises nothing for it",
				"rule", name, "car", cat.Car)
		}
	}
	return a
}

// alarms evaluates the alarm rules on f, c's frame (crossed: it crossed
// start/finish), and queues every alarm raised or cleared for
// telemetry.alarms, produced and acknowledged with the laps before the
// offset passes the frame, and for InfluxDB. After a restart the
// re-read frames raise their alarms again: (car, rule, channel, since)
// names one alarm, and its InfluxDB points overwrite themselves.
func (p *partition) alarms(c *car, f *telemetry.Frame, crossed bool) {
	if c.alarms == nil {
		return
	}
	if crossed {
		c.alarms.Crossing(f.TimeNs)
	}
	evs := c.alarms.Frame(f, nil)
	for i := range evs {
		a := &evs[i]
		p.r.cfg.Logger.Info("processors: alarm", "car", a.Car, "rule", a.Rule, "channel", a.Channel, "active", a.Active,
			"severity", a.Severity, "value", a.Value, "at", time.Unix(0, a.TimeNs).UTC())
		v, err := p.r.codec.AppendAlarm(nil, a)
		if err != nil {
			p.r.bad.report("alarm encode", err)
			continue
		}
		p.outbox = append(p.outbox, &sarama.ProducerMessage{Topic: telemetry.TopicAlarms, Key: sarama.StringEncoder(a.Car),
			Value:   sarama.ByteEncoder(v),
			Headers: []sarama.RecordHeader{{Key: []byte(HeaderGroup), Value: []byte(p.r.cfg.Group)}}})
		if p.r.influx != nil {
			p.batch = influx.AppendAlarm(p.batch, a, a.TimeNs)
		}
	}
	if p.r.influx != nil && f.TimeNs-c.alarmBeat >= int64(alarmBeatEvery) {
		c.alarmBeat = f.TimeNs
		for _, a := range c.alarms.Active(nil) {
			if a.TimeNs != f.TimeNs {
				p.batch = influx.AppendAlarm(p.batch, &a, f.TimeNs)
			}
		}
	}
}
