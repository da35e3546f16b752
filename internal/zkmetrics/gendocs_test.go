package zkmetrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/gendocs"
)

// The metric table of zkprom/README.md is read from this package's source;
// it must say what the collector sends: every metric, with its name, type,
// help and labels.
func TestDocumentedMetricsAreWhatTheCollectorSends(t *testing.T) {
	root, err := gendocs.FindRoot(".")
	require.NoError(t, err)
	documented, err := gendocs.Metrics(root)
	require.NoError(t, err)

	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(NewCollector(sampleStats)))
	families, err := reg.Gather()
	require.NoError(t, err)
	var sent []gendocs.Metric
	for _, f := range families {
		m := gendocs.Metric{Name: f.GetName(), Type: strings.ToLower(f.GetType().String()), Help: f.GetHelp()}
		for _, lp := range f.GetMetric()[0].GetLabel() {
			m.Labels = append(m.Labels, lp.GetName())
		}
		sent = append(sent, m)
	}
	assert.ElementsMatch(t, sent, documented)
}
