package zkmetrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// gatherValues collects c and returns the value of each unlabelled counter
// and gauge by name.
func gatherValues(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, f := range gather(t, c) {
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) > 0 {
				continue
			}
			switch {
			case m.Counter != nil:
				out[f.GetName()] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[f.GetName()] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

// histogramOf returns the call duration histogram of op.
func histogramOf(t *testing.T, c prometheus.Collector, op string) *dto.Histogram {
	t.Helper()
	for _, f := range gather(t, c) {
		if f.GetName() != "micro_registry_zookeeper_call_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "op" && l.GetValue() == op {
					return m.GetHistogram()
				}
			}
		}
	}
	t.Fatalf("no call duration histogram for op %q", op)
	return nil
}

// gather collects c through a pedantic registry.
func gather(t *testing.T, c prometheus.Collector) []*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	families, err := reg.Gather()
	require.NoError(t, err)
	return families
}
