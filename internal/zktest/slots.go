package zktest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EnvMaxTests names the environment variable that limits how many tests
// use ZooKeeper at once, across every test process of the machine's user:
// a test takes one of that many slots when it first starts a server, and
// gives it back when it ends (with all its subtests). `make test` sets it,
// so that `go test` may run packages side by side, and tests in parallel,
// without piling up ZooKeeper servers on a small machine. Unset or 0: no
// limit.
const EnvMaxTests = "ZKTEST_MAX_TESTS"

// slotPoll is how often a test waiting for a slot tries again.
const slotPoll = 50 * time.Millisecond

// slots are this process's holds, by top-level test: its subtests share
// its slot, so that no test ever waits for a slot while holding one (which
// could deadlock).
var slots struct {
	mu   sync.Mutex // guards held
	held map[string]*slotHold
}

// slotHold is one slot held by a top-level test and its subtests.
type slotHold struct {
	users int      // the tests (top-level and subtests) using it now
	lock  *os.File // flock'ed while the slot is held
}

// holdSlot takes a slot for t's top-level test, if EnvMaxTests sets a
// limit, waiting as long as it takes, and gives it back when t and every
// other user of it have ended.
func holdSlot(t TB) {
	t.Helper()
	limit, err := strconv.Atoi(os.Getenv(EnvMaxTests))
	if err != nil || limit <= 0 {
		return
	}
	key := fmt.Sprintf("%p", t)
	if named, ok := t.(interface{ Name() string }); ok {
		key, _, _ = strings.Cut(named.Name(), "/")
	}
	dir := filepath.Join(os.TempDir(), "zktest-slots-"+strconv.Itoa(os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("zktest: slots for %s: %v", EnvMaxTests, err)
	}
	start := time.Now()
	for {
		ok, err := tryHoldSlot(key, dir, limit)
		if err != nil {
			t.Fatalf("zktest: slots for %s: %v", EnvMaxTests, err)
		}
		if ok {
			break
		}
		time.Sleep(slotPoll)
	}
	if waited := time.Since(start); waited > time.Second {
		if l, ok := t.(interface{ Logf(string, ...any) }); ok {
			l.Logf("zktest: waited %v for one of %d slots (%s)", waited.Round(time.Millisecond), limit, EnvMaxTests)
		}
	}
	t.Cleanup(func() { releaseSlot(key) })
}

// tryHoldSlot joins key's hold, or takes a free slot of the limit for it.
func tryHoldSlot(key, dir string, limit int) (bool, error) {
	slots.mu.Lock()
	defer slots.mu.Unlock()
	if h := slots.held[key]; h != nil {
		h.users++
		return true, nil
	}
	for i := range limit {
		f, err := os.OpenFile(filepath.Join(dir, "slot-"+strconv.Itoa(i)), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return false, err
		}
		// A lock held by another open file, in this process or another,
		// is refused; the kernel releases it when the process ends.
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if err == syscall.EWOULDBLOCK {
				continue
			}
			return false, err
		}
		if slots.held == nil {
			slots.held = map[string]*slotHold{}
		}
		slots.held[key] = &slotHold{users: 1, lock: f}
		return true, nil
	}
	return false, nil
}

// releaseSlot leaves key's hold, giving the slot back with its last user.
func releaseSlot(key string) {
	slots.mu.Lock()
	defer slots.mu.Unlock()
	h := slots.held[key]
	if h.users--; h.users == 0 {
		h.lock.Close()
		delete(slots.held, key)
	}
}
