package zktest

import (
	"strings"
	"sync"
)

// Output is an io.Writer that a child process writes to while the test
// reads it: its String is safe to call at any time.
type Output struct {
	mu sync.Mutex // guards b
	b  strings.Builder
}

// Write appends p.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

// String returns everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
