package zkprom_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Prometheus is for programs that export metrics: the registry's own
// package must not pull it into every service that imports it.
func TestRegistryPackageDoesNotDependOnPrometheus(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/zkmicro/zookeeper").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/zkmicro/zookeeper/internal/engine", "go list must list the registry's dependencies")
	for _, dep := range deps {
		require.False(t, strings.HasPrefix(dep, "github.com/prometheus/"), "the registry package depends on %s", dep)
		require.NotEqual(t, "github.com/zkmicro/zookeeper/internal/zkmetrics", dep, "the registry package depends on the metrics")
	}
}
