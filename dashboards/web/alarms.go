package web

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/telemetry"
)

// Alarms is the pit wall's view of telemetry.alarms: the alarms raised
// and not yet cleared. It is pure and not safe for concurrent use.
type Alarms struct {
	active map[alarmKey]telemetry.Alarm
}

type alarmKey struct{ car, rule, channel string }

// NewAlarms returns an empty set.
func NewAlarms() *Alarms { return &Alarms{active: map[alarmKey]telemetry.Alarm{}} }

// Add applies a raised or cleared alarm and reports whether the set
// changed. A record read again (a processor re-reading after a restart
// publishes its alarms again) changes nothing, and a clear removes the
// alarm only if it is not older than the raise.
//
// An alarm of a car's newer session drops the car's alarms of older
// sessions that were never cleared (a processor stopped mid-alarm).
func (as *Alarms) Add(a *telemetry.Alarm) bool {
	changed := as.Session(a.Car, a.Session, a.TimeNs)
	k := alarmKey{a.Car, a.Rule, a.Channel}
	cur, ok := as.active[k]
	if a.Active {
		if ok && cur.SinceNs == a.SinceNs && cur.TimeNs == a.TimeNs {
			return changed
		}
		as.active[k] = *a
		return true
	}
	if !ok || cur.TimeNs > a.TimeNs {
		return changed
	}
	delete(as.active, k)
	return true
}

// Session tells the set that car is in session at sensor time ns (a
// live record or an alarm): the car's alarms of other sessions raised
// before ns were never cleared (a processor stopped mid-alarm) and go.
// It reports whether any went.
func (as *Alarms) Session(car, session string, ns int64) bool {
	changed := false
	for k, cur := range as.active {
		if cur.Car == car && cur.Session != session && cur.TimeNs < ns {
			delete(as.active, k)
			changed = true
		}
	}
	return changed
}

var severityRank = map[string]int{telemetry.SeverityCritical: 3, telemetry.SeverityWarning: 2, telemetry.SeverityInfo: 1}

// Active returns the raised alarms, most severe first, then oldest first.
func (as *Alarms) Active() []telemetry.Alarm {
	out := make([]telemetry.Alarm, 0, len(as.active))
	for _, a := range as.active {
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y telemetry.Alarm) int {
		return cmp.Or(cmp.Compare(severityRank[y.Severity], severityRank[x.Severity]), cmp.Compare(x.TimeNs, y.TimeNs),
			cmp.Compare(x.Car, y.Car), cmp.Compare(x.Rule, y.Rule), cmp.Compare(x.Channel, y.Channel))
	})
	return out
}

// Mark sets each row's Alarm to the severity of its car's most severe
// raised alarm ("" for none).
func (as *Alarms) Mark(rows []Row) {
	worst := map[string]string{}
	for _, a := range as.active {
		if severityRank[a.Severity] > severityRank[worst[a.Car]] {
			worst[a.Car] = a.Severity
		}
	}
	for i := range rows {
		rows[i].Alarm = worst[rows[i].Car]
	}
}

// AlarmView is an alarm as the page shows it.
type AlarmView struct {
	Car       string  `json:"car"`
	Number    string  `json:"number"`
	Driver    string  `json:"driver"`
	Rule      string  `json:"rule"`
	Channel   string  `json:"channel"`
	Severity  string  `json:"severity"`
	Message   string  `json:"message"`
	Condition string  `json:"condition"`
	SinceNs   int64   `json:"since_ns"`
	TimeNs    int64   `json:"time_ns"`
	Value     float64 `json:"value"`
}

// alarmViews returns the raised alarms for the page, with the drivers'
// names; nil (no list on the page) when there are none.
func (s *Server) alarmViews() []AlarmView {
	act := s.alarms.Active()
	if len(act) == 0 {
		return nil
	}
	out := make([]AlarmView, len(act))
	for i, a := range act {
		d := s.cfg.Drivers.Of(a.Car)
		out[i] = AlarmView{Car: a.Car, Number: d.Number, Driver: d.Name, Rule: a.Rule, Channel: a.Channel, Severity: a.Severity,
			Message: a.Message, Condition: a.Condition, SinceNs: a.SinceNs, TimeNs: a.TimeNs, Value: a.Value}
	}
	return out
}

// readAlarms follows telemetry.alarms from its oldest record (alarms are
// few), waiting for the topic: a processor with --alarms creates it.
func (s *Server) readAlarms(ctx context.Context, client sarama.Client) {
	codec := telemetry.MustNewCodec()
	for ctx.Err() == nil {
		parts, err := client.Partitions(telemetry.TopicAlarms)
		if err != nil || len(parts) == 0 {
			_ = client.RefreshMetadata(telemetry.TopicAlarms)
			sleep(ctx, time.Second)
			continue
		}
		from := map[int32]int64{}
		for _, p := range parts {
			from[p] = sarama.OffsetOldest
		}
		// One consumer for every partition (follow.go): a consumer each
		// queued 12 more long polls on the connection the laps share.
		err = followAll(ctx, client, telemetry.TopicAlarms, from, func(m *sarama.ConsumerMessage) {
			if s.cfg.Group != "" && !processors.FromGroup(m, s.cfg.Group) {
				return
			}
			var a telemetry.Alarm
			if err := codec.DecodeAlarm(m.Value, &a); err != nil {
				s.bad("alarm", err)
				return
			}
			s.alarm(&a)
		})
		if err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("web: reading alarms", "err", err)
		}
		sleep(ctx, time.Second)
	}
}

func (s *Server) alarm(a *telemetry.Alarm) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.Session != "" && a.Session != s.cfg.Session {
		return
	}
	if s.alarms.Add(a) {
		s.change()
	}
}
