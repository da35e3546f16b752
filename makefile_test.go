package zookeeper

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// TestEveryFuzzerIsFuzzedByMake checks that make fuzz (and so .ci/run)
// runs every fuzz target of the module: a fuzzer missing from
// FUZZ_TARGETS would only ever run its seed corpus.
func TestEveryFuzzerIsFuzzedByMake(t *testing.T) {
	makefile, err := os.ReadFile("Makefile")
	require.NoError(t, err)
	listed := map[string]bool{}
	for _, f := range strings.Fields(string(makefile)) {
		listed[f] = true
	}
	fuzzer := regexp.MustCompile(`(?m)^func (Fuzz\w+)\(`)
	var found int
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (path == "v5" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir // another module; hidden directories
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range fuzzer.FindAllSubmatch(src, -1) {
			found++
			target := "./" + filepath.ToSlash(filepath.Dir(path)) + ":" + string(m[1])
			assert.True(t, listed[target], "FUZZ_TARGETS in the Makefile lacks %s", target)
		}
		return nil
	})
	require.NoError(t, err)
	assert.NotZero(t, found, "no fuzz target found")
}

// TestRaceFlagsAreTheMakefiles checks that the programs tests build
// (zktest.BuildProgram) are built as make test builds the tests, so that
// they share its compiled packages and its exclusion of go-zookeeper.
func TestRaceFlagsAreTheMakefiles(t *testing.T) {
	makefile, err := os.ReadFile("Makefile")
	require.NoError(t, err)
	race := regexp.MustCompile(`(?m)^RACE\s*=\s*(.*)$`).FindSubmatch(makefile)
	require.NotNil(t, race, "no RACE in the Makefile")
	assert.Equal(t, strings.Fields(string(race[1])), zktest.RaceFlags)
}
