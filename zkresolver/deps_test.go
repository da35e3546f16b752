package zkresolver

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The resolver serves go-micro v4 and v5 users alike: it imports no
// go-micro package (a v5 build must not compile go-micro v4). And grpc is
// its dependency alone: the registry, the config source, the metrics and
// the zkmicro command do not pull it into every service.
func TestDependencies(t *testing.T) {
	list := func(pkgs ...string) []string {
		t.Helper()
		out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).CombinedOutput()
		require.NoError(t, err, "go list: %s", out)
		return strings.Fields(string(out))
	}
	deps := list("github.com/zkmicro/zookeeper/zkresolver")
	require.Contains(t, deps, "google.golang.org/grpc/resolver", "go list must list the resolver's dependencies")
	for _, dep := range deps {
		require.False(t, strings.HasPrefix(dep, "go-micro.dev/"), "the resolver depends on %s", dep)
	}
	others := list("github.com/zkmicro/zookeeper", "github.com/zkmicro/zookeeper/zkconfig",
		"github.com/zkmicro/zookeeper/zkprom", "github.com/zkmicro/zookeeper/cmd/zkmicro")
	require.Contains(t, others, "github.com/zkmicro/zookeeper/internal/engine")
	for _, dep := range others {
		require.False(t, strings.HasPrefix(dep, "google.golang.org/grpc"), "the module's other packages depend on %s", dep)
	}
}
