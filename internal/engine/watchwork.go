package engine

// This file is what the two watch-fed caches, the registry's mirror and
// the Tree, share in how they follow ZooKeeper, in the manner of Curator's
// TreeCache: watch events mark znodes to read again (watchWork), and a sync
// reads what is marked with its watches, many reads in flight
// (conn.readWatched, reads.go), then applies the result. They differ in
// what they apply it to and when they publish it: see ARCHITECTURE.md.

// need says what to read of a znode again.
type need uint8

const (
	// needData: its data, which re-arms its data watch.
	needData need = 1 << iota
	// needList: its children, which re-arms its children watch.
	needList
	// needGone: it was deleted: forget it, read nothing.
	needGone
	// needACL: its ACL (no watch: ZooKeeper has none for ACLs).
	needACL

	needBoth = needData | needList
)

// watchWork is what watch events, writes and sessions asked a cache to do:
// read everything again (all), or read or forget the znodes marked, by
// path relative to what the cache follows.
type watchWork struct {
	all   bool
	paths map[string]need
}

// mark adds n to what is needed of rel.
func (w *watchWork) mark(rel string, n need) {
	if w.paths == nil {
		w.paths = map[string]need{}
	}
	w.paths[rel] |= n
}

// merge adds the work of v (taken earlier and given back) to w.
func (w *watchWork) merge(v watchWork) {
	w.all = w.all || v.all
	for rel, n := range v.paths {
		w.mark(rel, n)
	}
}

// empty reports whether there is nothing to do.
func (w *watchWork) empty() bool { return !w.all && len(w.paths) == 0 }

// has reports whether rel is marked with any of n.
func (w *watchWork) has(rel string, n need) bool { return w.paths[rel]&n != 0 }
