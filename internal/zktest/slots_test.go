package zktest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeTest is a TB named like a test, whose cleanups run when told.
type fakeTest struct {
	*testing.T
	name     string
	cleanups []func()
}

func (f *fakeTest) Name() string      { return f.name }
func (f *fakeTest) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

// end runs f's cleanups, last first, as the testing package does.
func (f *fakeTest) end() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	f.cleanups = nil
}

func TestSlotsAreSharedBySubtestsAndLimitOtherTests(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir()) // slots of this test only
	t.Setenv(EnvMaxTests, "1")
	dir := filepath.Join(os.TempDir(), "zktest-slots-"+strconv.Itoa(os.Getuid()))
	free := func() bool {
		ok, err := tryHoldSlot("Other", dir, 1)
		require.NoError(t, err)
		if ok {
			releaseSlot("Other")
		}
		return ok
	}

	a := &fakeTest{T: t, name: "TestA"}
	sub := &fakeTest{T: t, name: "TestA/sub"}
	holdSlot(a)
	holdSlot(sub) // does not wait: the slot is its parent's
	require.False(t, free(), "the one slot is TestA's")
	sub.end()
	require.False(t, free(), "TestA still holds it")
	a.end()
	require.True(t, free(), "free once TestA and its subtests ended")

	// Another test waits while TestA holds the slot.
	holdSlot(a)
	ok, err := tryHoldSlot("TestB", dir, 1)
	require.NoError(t, err)
	require.False(t, ok)
	a.end()
	ok, err = tryHoldSlot("TestB", dir, 1)
	require.NoError(t, err)
	require.True(t, ok)
	releaseSlot("TestB")
}

func TestNoSlotsWithoutALimit(t *testing.T) {
	for _, v := range []string{"", "0", "x"} {
		t.Run(fmt.Sprintf("%q", v), func(t *testing.T) {
			t.Setenv(EnvMaxTests, v)
			a := &fakeTest{T: t, name: "TestA"}
			holdSlot(a)
			require.Empty(t, a.cleanups)
			require.Empty(t, slots.held)
		})
	}
}
