package zookeeper

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A go-micro v5 user's build compiles no go-micro v4 package: this module
// shares the engine with the v4 face, never the face itself. (The two
// cannot even share a binary: both register the protobuf message
// protorpc.Request, and such a binary panics at start.)
func TestNoGoMicroV4InTheBuild(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "the go command lists the dependencies")
	for _, tests := range []bool{false, true} {
		args := []string{"list", "-deps"}
		if tests {
			args = append(args, "-test")
		}
		out, err := exec.Command(goTool, append(args, "./...")...).CombinedOutput()
		require.NoError(t, err, "go list: %s", out)
		deps := strings.Fields(string(out))
		require.Contains(t, deps, "go-micro.dev/v5/registry", "the listing is of this module's packages")
		for _, dep := range deps {
			require.False(t, strings.HasPrefix(dep, "go-micro.dev/v4"), "the build (tests=%v) depends on %s", tests, dep)
		}
	}
}
