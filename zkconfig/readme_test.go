package zkconfig

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/gendocs"
)

// README.md's options table is made from options.go's doc comments.
func TestREADMEOptionsTableIsGenerated(t *testing.T) {
	root, err := gendocs.FindRoot(".")
	require.NoError(t, err)
	current, want, err := gendocs.Expected(root, "zkconfig-options")
	require.NoError(t, err)
	require.Equal(t, string(want), string(current), "zkconfig/README.md's options table is not what options.go says: run go generate ./zkconfig")
}
