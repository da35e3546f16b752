package zookeeper

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/gendocs"
)

// README.md's options tables are made from options.go's doc comments.
func TestREADMEOptionsTableIsGenerated(t *testing.T) {
	root, err := gendocs.FindRoot(".")
	require.NoError(t, err)
	current, want, err := gendocs.Expected(root, "options")
	require.NoError(t, err)
	require.Equal(t, string(want), string(current), "README.md's options tables are not what options.go says: run go generate .")
}
