package zktest

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// failRecorder is a TB whose Fatalf records the failure and ends the
// goroutine, as testing's does.
type failRecorder struct {
	*testing.T
	failure string
	logs    []string
}

func (f *failRecorder) Fatalf(format string, args ...any) {
	f.failure = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *failRecorder) Logf(format string, args ...any) {
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

// run runs fn as a test body would, and returns once it ended.
func (f *failRecorder) run(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}

func TestRetry(t *testing.T) {
	errTransient, errRefused := errors.New("connection closed"), errors.New("not allowed")
	transient := func(err error) bool { return errors.Is(err, errTransient) }
	for _, tt := range []struct {
		name     string
		errs     []error // op's results, in order; nil after them
		d        time.Duration
		calls    int
		failure  string
		retryLog int
	}{
		{name: "at once", calls: 1, d: time.Minute},
		{name: "after transient failures", errs: []error{errTransient, errTransient}, d: time.Minute, calls: 3, retryLog: 2},
		{name: "refused", errs: []error{errTransient, errRefused}, d: time.Minute, calls: 2, retryLog: 1,
			failure: "register n1: not allowed"},
		{name: "for too long", errs: []error{errTransient, errTransient, errTransient}, d: 0, calls: 1,
			failure: "register n1: still failing after 0s and 1 attempts: connection closed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &failRecorder{T: t}
			calls := 0
			f.run(func() {
				Retry(f, tt.d, "register n1", transient, func() error {
					calls++
					if calls <= len(tt.errs) {
						return tt.errs[calls-1]
					}
					return nil
				})
			})
			assert.Equal(t, tt.calls, calls)
			assert.Equal(t, tt.failure, f.failure)
			assert.Len(t, f.logs, tt.retryLog)
		})
	}
}
