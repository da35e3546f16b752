package main

import "sync"

// forEach calls fn(i) for every i in [0, n), on at most limit goroutines at
// once, and returns when every call has returned. fn must return by itself
// (bound it with a context).
func forEach(n, limit int, fn func(i int)) {
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}
