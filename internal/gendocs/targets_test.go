package gendocs

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every target generates from the module's sources as they are.
func TestEveryTargetGenerates(t *testing.T) {
	root, err := FindRoot(".")
	require.NoError(t, err)
	for _, target := range Targets {
		t.Run(target.Name, func(t *testing.T) {
			_, want, err := Expected(root, target.Name)
			require.NoError(t, err)
			assert.NotEmpty(t, want)
		})
	}
	_, err = Lookup("nonesuch")
	assert.Error(t, err)
}
