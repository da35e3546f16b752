package engine

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The engine serves every face, go-micro v4 and v5 alike: it must not
// depend on any go-micro package, and its tests, which drive it through
// its own API, must not either.
func TestEngineDoesNotDependOnGoMicro(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, dep := range strings.Fields(string(out)) {
		require.False(t, strings.HasPrefix(dep, "go-micro.dev/") || strings.Contains(dep, "go-micro/"),
			"the engine depends on %s", dep)
	}
}
