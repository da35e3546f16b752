package zookeeper

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// This module's go-micro faces are generated from the root module's
// go-micro v4 ones (internal/cmd/genv5, run by go generate in the root):
// a file edited here by hand, or a v4 source changed without generating
// again, fails this test.
func TestGeneratedFilesAreFresh(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "the go command runs the generator")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "run", "./internal/cmd/genv5", "-check")
	cmd.Dir = ".." // the repository root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
}
