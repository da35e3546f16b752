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
