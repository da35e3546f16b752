package zktest

import "time"

// PollInterval is how often Eventually checks its condition.
const PollInterval = 20 * time.Millisecond

// Eventually waits up to d for cond to hold, checking every PollInterval,
// and fails t with msg (formatted with args, after the wait) if it never
// does. It is the one polling helper of the module's tests: tests wait on
// conditions with a deadline, never on fixed sleeps.
func Eventually(t TB, d time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: "+msg, append([]any{d}, args...)...)
		}
		time.Sleep(PollInterval)
	}
}

// WaitFor is Eventually for conditions that report why they do not hold
// yet: it fails t with the last error.
func WaitFor(t TB, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s: %v", d, what, err)
		}
		time.Sleep(PollInterval)
	}
}

// RetryPause is how long Retry waits before it tries again.
const RetryPause = 100 * time.Millisecond

// Retry does a step that a test needs done before it checks anything (a
// registration, a write), through the product under test: it calls op
// until op succeeds, retrying while op fails with an error that transient
// accepts, for up to d. It fails t, saying what it was doing, on any other
// error or after d; it logs every retry. transient is the product's own
// rule for what its callers retry (the engine's isTransient): a test retries no
// more than the product tells its users to, and a step that is itself
// under test is never retried.
func Retry(t TB, d time.Duration, what string, transient func(error) bool, op func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for attempt := 1; ; attempt++ {
		err := op()
		switch {
		case err == nil:
			return
		case !transient(err):
			t.Fatalf("%s: %v", what, err)
		case time.Now().After(deadline):
			t.Fatalf("%s: still failing after %v and %d attempts: %v", what, d, attempt, err)
		}
		if l, ok := t.(interface{ Logf(string, ...any) }); ok {
			l.Logf("%s: attempt %d failed, retrying: %v", what, attempt, err)
		}
		time.Sleep(RetryPause)
	}
}
