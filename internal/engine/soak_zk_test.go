//go:build soak

package engine

// The churn soak (issue 4, scenario 9): its own target, `make soak`
// (scripts/soak.sh). Several registries register, update and deregister at
// random while a fault proxy in front of each injects cuts, short
// partitions, latency and one session expiry. At the end every watcher's
// view, every registry's listing and ZooKeeper itself agree, and nothing
// leaked.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/zkmicro/zookeeper/internal/faultproxy"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// soakServices are the services churned; watchers of one service follow
// the first.
var soakServices = []string{"soak-a", "soak-b", "soak-c"}

// soakDuration is the churn phase: ZKMICRO_SOAK_DURATION, default 60s.
func soakDuration(t *testing.T) time.Duration {
	d := 60 * time.Second
	if v := os.Getenv("ZKMICRO_SOAK_DURATION"); v != "" {
		var err error
		d, err = time.ParseDuration(v)
		require.NoError(t, err, "ZKMICRO_SOAK_DURATION")
	}
	return d
}

// churner is one registry behind its own fault proxy, with the nodes it
// means to have registered.
type churner struct {
	id    int
	r     *Registry
	proxy *faultproxy.Proxy
	log   *logRecorder
	rng   *rand.Rand

	intended map[string]*Service // by node id: what should be registered
	touched  map[string]*Service // by node id: every node ever registered

	ops    atomic.Int64
	errMu  sync.Mutex // guards errs, fatal
	errs   map[string]int
	fatal  []string
	nodeOf func(j int) string
}

// soakNode returns a one-node service for node j of c, with random data.
func (c *churner) soakNode(j int) *Service {
	s := svc(soakServices[j%len(soakServices)], strconv.Itoa(1+c.rng.IntN(2)), c.nodeOf(j))
	s.Nodes[0].Address = fmt.Sprintf("127.0.0.1:%d", 20000+c.rng.IntN(10000))
	return s
}

// record classifies err: transient errors (no connection, an expired
// session, a timeout) are what callers must expect under faults; anything
// else is a failure.
func (c *churner) record(op string, err error) {
	if err == nil || errors.Is(err, ErrNotFound) {
		return
	}
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if !strings.HasPrefix(err.Error(), "zookeeper: ") || !isTransient(err) {
		c.fatal = append(c.fatal, fmt.Sprintf("registry %d %s: %v", c.id, op, err))
		return
	}
	kind := "other transient"
	for _, k := range []string{"deadline exceeded", "connection closed", "session has been expired", "could not connect", "is closing", "connection was replaced"} {
		if strings.Contains(err.Error(), k) {
			kind = k
			break
		}
	}
	c.errs[op+": "+kind]++
}

// churn runs random operations until stop is closed.
func (c *churner) churn(ctx context.Context, stop <-chan struct{}) {
	const nodes = 6
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(5+c.rng.IntN(45)) * time.Millisecond):
		}
		c.ops.Add(1)
		j := c.rng.IntN(nodes)
		id := c.nodeOf(j)
		switch p := c.rng.IntN(100); {
		case p < 45: // register or update
			s := c.soakNode(j)
			c.intended[id], c.touched[id] = s, s
			c.record("Register", c.r.Register(ctx, s))
		case p < 70: // deregister
			if s := c.intended[id]; s != nil {
				delete(c.intended, id)
				c.record("Deregister", c.r.Deregister(ctx, s))
			}
		case p < 85: // re-register unchanged, as go-micro does every 30 s
			if s := c.intended[id]; s != nil {
				c.record("Register", c.r.Register(ctx, s))
			}
		case p < 95:
			_, err := c.r.GetService(ctx, soakServices[c.rng.IntN(len(soakServices))])
			c.record("GetService", err)
		default:
			_, err := c.r.ListServices(ctx)
			c.record("ListServices", err)
		}
	}
}

// settle registers what c intends and deregisters the rest, retrying
// until ZooKeeper has taken each call.
func (c *churner) settle(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	for id, s := range c.touched {
		if want := c.intended[id]; want != nil {
			retryUntil(t, 30*time.Second, "final Register", func() error { return c.r.Register(ctx, want) })
		} else {
			retryUntil(t, 30*time.Second, "final Deregister", func() error { return c.r.Deregister(ctx, s) })
		}
	}
}

func TestChurnSoak(t *testing.T) {
	// Not parallel: it checks that it leaves no goroutine behind.
	ctx := t.Context()
	leakOpts := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leakOpts) }) // runs after every other cleanup

	duration := soakDuration(t)
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("ZKMICRO_SOAK_SEED"); v != "" {
		var err error
		seed, err = strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "ZKMICRO_SOAK_SEED")
	}
	t.Logf("soak: %v of churn, seed %d (ZKMICRO_SOAK_SEED=%d reproduces the choices)", duration, seed, seed)

	srv := zktest.Start(t)
	raw := rawConn(t, srv.Addr)
	// Short faults (a cut costs zk a 1 s reconnect pause; a short partition
	// is at most 800 ms) stay below this; the one long partition does not.
	const sessionTimeout = 4 * time.Second
	const churners = 4

	var cs []*churner
	for i := 0; i < churners; i++ {
		c := &churner{
			id:       i,
			proxy:    newProxy(t, srv.Addr),
			log:      &logRecorder{},
			rng:      rand.New(rand.NewPCG(seed, uint64(i))),
			intended: map[string]*Service{},
			touched:  map[string]*Service{},
			errs:     map[string]int{},
		}
		c.nodeOf = func(j int) string { return fmt.Sprintf("r%d-n%d", i, j) }
		c.r = newTestRegistry(t, Options{Addrs: []string{c.proxy.Addr}, Timeout: time.Second, Logger: c.log, Settings: []Option{SessionTimeout(sessionTimeout)}})
		cs = append(cs, c)
	}
	observer := newTestRegistry(t, Options{Addrs: []string{srv.Addr}, Logger: &logRecorder{}})

	// Every registry watches all services and one service; nothing is
	// registered yet, so every watcher starts from nothing.
	type follower struct {
		name    string
		service string // "" for all
		log     *watchLog
	}
	var followers []follower
	for i, r := range append([]*Registry{observer}, registriesOf(cs)...) {
		name := "observer"
		if i > 0 {
			name = fmt.Sprintf("registry %d", i-1)
		}
		all, err := r.Watch(ctx, "", nil)
		require.NoError(t, err)
		one, err := r.Watch(ctx, soakServices[0], nil)
		require.NoError(t, err)
		followers = append(followers,
			follower{name + " (all)", "", followWatcher(t, all, nodeView{})},
			follower{name + " (" + soakServices[0] + ")", soakServices[0], followWatcher(t, one, nodeView{})})
	}

	// Churn, with faults.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.churn(ctx, stop)
		}()
	}
	faults := map[string]int{}
	rng := rand.New(rand.NewPCG(seed, 99))
	began := time.Now()
	expired := false
	var restore time.Duration
	// Faults take turns (cut, short partition, latency spike), each on a
	// random registry, one every 1.5 to 3.5 s.
	for turn := 0; time.Since(began) < duration; turn++ {
		time.Sleep(time.Duration(1500+rng.IntN(2000)) * time.Millisecond)
		c := cs[rng.IntN(len(cs))]
		switch {
		case !expired && time.Since(began) > duration/2:
			// The one expiry: partition registry 0 until ZooKeeper has
			// expired its session, then heal.
			c = cs[0]
			old := peekSessionID(c.r)
			c.proxy.Partition()
			zktest.Eventually(t, 10*sessionTimeout, func() bool { return !srv.SessionAlive(old) }, "registry 0's session never expired")
			c.proxy.Heal()
			healed := time.Now()
			zktest.Eventually(t, 10*time.Second, func() bool { sid := peekSessionID(c.r); return sid != 0 && sid != old }, "registry 0 got no new session")
			restore = time.Since(healed)
			expired = true
			faults["partition until expiry"]++
		case turn%3 == 0:
			c.proxy.Cut()
			faults["cut"]++
		case turn%3 == 1:
			c.proxy.Partition()
			time.Sleep(time.Duration(200+rng.IntN(600)) * time.Millisecond)
			c.proxy.Heal()
			faults["short partition"]++
		default:
			c.proxy.Delay(time.Duration(50+rng.IntN(150)) * time.Millisecond)
			time.Sleep(time.Second)
			c.proxy.Delay(0)
			faults["latency spike"]++
		}
	}
	close(stop)
	wg.Wait()
	require.True(t, expired, "the soak must include one session expiry")
	for _, c := range cs {
		c.proxy.Heal()
	}

	// Settle: each registry makes sure what it means to have registered is
	// registered and the rest is not. Then ZooKeeper holds exactly that,
	// and every watcher and every listing agrees with ZooKeeper.
	settling := time.Now()
	want := nodeView{}
	for _, c := range cs {
		c.settle(t)
		for _, s := range c.intended {
			want[viewKey(s)] = canonical(s)
		}
	}
	var inZK string
	zktest.Eventually(t, 30*time.Second, func() bool {
		v, err := truth(raw, DefaultPrefix, "")
		if err != nil {
			inZK = err.Error()
			return false
		}
		inZK = want.diff(v)
		return inZK == ""
	}, "ZooKeeper does not hold what the registries registered")
	require.Empty(t, inZK)
	lost := 0
	totalEvents := 0
	for _, f := range followers {
		wantF := mustTruth(t, raw, DefaultPrefix, f.service)
		f.log.converge(t, wantF, 30*time.Second, f.name)
		v, n, bad := f.log.snapshot()
		if d := wantF.diff(v); d != "" {
			lost += strings.Count(d, ", ") + 1
		}
		lost += len(bad)
		totalEvents += n
	}
	for i, r := range append([]*Registry{observer}, registriesOf(cs)...) {
		zktest.Eventually(t, 30*time.Second, func() bool {
			list, err := r.ListServices(ctx)
			return err == nil && want.diff(servicesView(list)) == ""
		}, "ListServices of registry %d (0 is the observer) does not match ZooKeeper", i)
	}
	converged := time.Since(settling)

	// Report.
	var ops int64
	errs := map[string]int{}
	var fatal []string
	expiries, disconnects := 0, 0
	for _, c := range cs {
		ops += c.ops.Load()
		for k, n := range c.errs {
			errs[k] += n
		}
		fatal = append(fatal, c.fatal...)
		expiries += c.log.count("expired; new session")
		disconnects += c.log.count("disconnected from")
	}
	t.Logf("soak: %d operations by %d registries, faults %v, %d disconnects seen, %d session expiries (registry 0 had a new session %v after healing)",
		ops, churners, faults, disconnects, expiries, restore.Round(time.Millisecond))
	t.Logf("soak: %d nodes registered at the end; %d watchers reported %d events; events lost: %d; settled and converged in %v",
		len(want), len(followers), totalEvents, lost, converged.Round(time.Millisecond))
	t.Logf("soak: transient errors returned to callers: %s", formatCounts(errs))
	assert.Empty(t, fatal, "errors other than the documented transient ones")
	assert.Zero(t, lost)
	assert.GreaterOrEqual(t, expiries, 1, "registry 0 must have seen its session expire")
}

func registriesOf(cs []*churner) []*Registry {
	out := make([]*Registry, len(cs))
	for i, c := range cs {
		out[i] = c.r
	}
	return out
}

func formatCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
