package balance

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// zkbalance's v4 and v5 faces share this package: it must not depend on
// any go-micro package (the v5 module must compile none of v4's), and
// neither must its tests.
func TestBalanceDoesNotDependOnGoMicro(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/zkmicro/zookeeper/internal/engine", "go list must list the package's dependencies")
	for _, dep := range deps {
		require.False(t, strings.HasPrefix(dep, "go-micro.dev/") || strings.Contains(dep, "go-micro/"),
			"the balance package depends on %s", dep)
	}
}
