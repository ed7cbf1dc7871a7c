package processors

import (
	"testing"

	"github.com/rcrowley/go-metrics"
)

// TestNilMetrics: every kind of metric sarama asks its registry for comes
// back as go-metrics' no-op one, of the type the caller asserts.
func TestNilMetrics(t *testing.T) {
	var r nilMetrics
	if _, ok := metrics.GetOrRegisterMeter("request-rate", r).(metrics.NilMeter); !ok {
		t.Error("meter is not the no-op one")
	}
	if _, ok := metrics.GetOrRegisterCounter("requests-in-flight", r).(metrics.NilCounter); !ok {
		t.Error("counter is not the no-op one")
	}
	if _, ok := metrics.GetOrRegisterGauge("gauge", r).(metrics.NilGauge); !ok {
		t.Error("gauge is not the no-op one")
	}
	h := r.GetOrRegister("batch-size", func() metrics.Histogram {
		t.Error("the real histogram was built")
		return metrics.NewHistogram(metrics.NewUniformSample(10))
	})
	if _, ok := h.(metrics.NilHistogram); !ok {
		t.Errorf("histogram %T is not the no-op one", h)
	}
	// A kind it does not know is built, so the caller's assertion holds.
	if g := metrics.GetOrRegisterGaugeFloat64("f", r); g == nil {
		t.Error("float gauge: nil")
	}
	if v, ok := r.GetOrRegister("x", func() int { return 7 }).(int); !ok || v != 7 {
		t.Errorf("unknown func kind: %v", v)
	}
	if r.Get("request-rate") != nil || len(r.GetAll()) != 0 {
		t.Error("the registry kept something")
	}
}
