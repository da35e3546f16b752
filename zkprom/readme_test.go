package zkprom_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/gendocs"
)

// README.md's metric table is made from internal/zkmetrics's descriptions.
func TestREADMEMetricTableIsGenerated(t *testing.T) {
	root, err := gendocs.FindRoot(".")
	require.NoError(t, err)
	current, want, err := gendocs.Expected(root, "metrics")
	require.NoError(t, err)
	require.Equal(t, string(want), string(current), "zkprom/README.md's metric table is not what internal/zkmetrics says: run go generate ./zkprom")
}
