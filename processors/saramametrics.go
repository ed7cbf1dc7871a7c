package processors

import (
	"reflect"

	"github.com/rcrowley/go-metrics"
)

// nilMetrics is a sarama MetricRegistry that keeps nothing: every metric
// it hands out is go-metrics' no-op one. Nothing in Pitwall reads
// sarama's metrics, and keeping them (a locked, heap-ordered reservoir
// updated per fetch response and per partition, a meter per topic) was
// 2.5-4% of a processor's CPU under the pipeline's load (issue 17).
// sarama's own switch, metrics.UseNilMetrics, is a process-wide variable;
// this keeps the choice to the processors' clients.
type nilMetrics struct{}

var _ metrics.Registry = nilMetrics{}

func (nilMetrics) Each(func(string, any))            {}
func (nilMetrics) Get(string) any                    { return nil }
func (nilMetrics) GetAll() map[string]map[string]any { return map[string]map[string]any{} }
func (nilMetrics) Register(string, any) error        { return nil }
func (nilMetrics) RunHealthchecks()                  {}
func (nilMetrics) Unregister(string)                 {}
func (nilMetrics) UnregisterAll()                    {}

// GetOrRegister returns the no-op metric of the kind asked for, without
// building the real one (a histogram's reservoir, a meter's ticker).
func (nilMetrics) GetOrRegister(_ string, m any) any {
	switch m.(type) {
	case func() metrics.Histogram, metrics.Histogram:
		return metrics.NilHistogram{}
	case func() metrics.Meter, metrics.Meter:
		return metrics.NilMeter{}
	case func() metrics.Counter, metrics.Counter:
		return metrics.NilCounter{}
	case func() metrics.Gauge, metrics.Gauge:
		return metrics.NilGauge{}
	case func() metrics.Timer, metrics.Timer:
		return metrics.NilTimer{}
	}
	// An unknown kind: build it, so the caller's type assertion holds.
	if v := reflect.ValueOf(m); v.Kind() == reflect.Func && v.Type().NumIn() == 0 && v.Type().NumOut() == 1 {
		return v.Call(nil)[0].Interface()
	}
	return m
}
