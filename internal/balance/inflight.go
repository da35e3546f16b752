package balance

import "sync"

// InFlight counts a client's requests in flight, by node key. The zero
// InFlight is ready; its methods may be called concurrently.
type InFlight struct {
	mu sync.Mutex     // guards n
	n  map[string]int // keys with requests in flight only
}

// Add counts a request sent to key.
func (f *InFlight) Add(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	f.n[key]++
}

// Done counts the end of a request to key (never below zero).
func (f *InFlight) Done(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch c := f.n[key]; {
	case c > 1:
		f.n[key] = c - 1
	case c == 1:
		delete(f.n, key)
	}
}

// Get returns the requests in flight to key.
func (f *InFlight) Get(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n[key]
}
