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

// Lines returns what was written so far as lines, without the last
// newline.
func (o *Output) Lines() []string {
	s := strings.TrimSuffix(o.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
