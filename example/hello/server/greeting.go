package main

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"
	"go-micro.dev/v4"
	"go-micro.dev/v4/config"
	"go-micro.dev/v4/config/loader"
	"go-micro.dev/v4/config/source"
	"go-micro.dev/v4/logger"

	"github.com/zkmicro/zookeeper/zkconfig"
)

// The greeting word comes from go-micro's config, backed by ZooKeeper
// through zkconfig: the key "greeting" under --config_prefix (default
// /micro-config/greeter), read from the ZooKeeper ensemble of
// --registry_address. Change it while the servers run, and their next
// replies use it:
//
//	zkCli.sh -server 127.0.0.1:2181 create /micro-config/greeter/greeting Hej
//	zkCli.sh -server 127.0.0.1:2181 set /micro-config/greeter/greeting Hallo
//	zkCli.sh -server 127.0.0.1:2181 delete /micro-config/greeter/greeting   # back to Hello
//
// (create needs /micro-config and /micro-config/greeter to exist.) Without
// the key, or without ZooKeeper, the greeting is "Hello".

const (
	// defaultGreeting is the greeting while none is configured.
	defaultGreeting = "Hello"
	// greetingKey is the configuration key of the greeting.
	greetingKey = "greeting"
	// configRetry is the pause between attempts to load the configuration
	// when ZooKeeper cannot be reached at start.
	configRetry = 5 * time.Second
)

var (
	// configPrefix is --config_prefix.
	configPrefix string
	// currentGreeting is the greeting word Hello uses.
	currentGreeting atomic.Pointer[string]
)

// greeting returns the greeting word.
func greeting() string {
	if g := currentGreeting.Load(); g != nil {
		return *g
	}
	return defaultGreeting
}

// setGreeting makes g the greeting word, and says so when it changes.
func setGreeting(g string) {
	if old := currentGreeting.Swap(&g); old == nil || *old != g {
		logger.Logf(logger.InfoLevel, "hello: greeting is %q", g)
	}
}

// configPrefixFlag is --config_prefix, stored in configPrefix.
func configPrefixFlag() cli.Flag {
	return &cli.StringFlag{
		Name:        "config_prefix",
		Usage:       "ZooKeeper znode under which the greeter's configuration is kept (key \"" + greetingKey + "\"); empty: no configuration, the greeting is \"" + defaultGreeting + "\"",
		EnvVars:     []string{"HELLO_CONFIG_PREFIX"},
		Value:       "/micro-config/greeter",
		Destination: &configPrefix,
	}
}

// watchGreeting loads the greeting from the configuration under
// --config_prefix and follows its changes, until the returned function is
// called. It must run after service.Init, which chooses the registry: the
// configuration is read over the registry's own ZooKeeper session
// (zkconfig.WithRegistry), so the server holds one session for both. The
// first load is tried before it returns, so that the
// first replies already use the configured greeting; if ZooKeeper cannot
// be reached, the greeting stays "Hello" and loading is retried in the
// background.
func watchGreeting(service micro.Service) (stop func()) {
	reg := service.Options().Registry
	if configPrefix == "" {
		return func() {}
	}
	if reg.String() != "zookeeper" {
		logger.Logf(logger.InfoLevel, "hello: the greeting is configured in ZooKeeper, but the registry is %s: greeting %q", reg.String(), defaultGreeting)
		return func() {}
	}
	src := zkconfig.NewSource(zkconfig.WithRegistry(reg), zkconfig.WithPrefix(configPrefix))
	g := &greetingWatch{src: src, stop: make(chan struct{})}
	conf := g.load()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.run(conf)
	}()
	return g.close
}

// greetingWatch follows the greeting in a go-micro config over src.
type greetingWatch struct {
	src      source.Source
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup

	mu   sync.Mutex // guards the fields below
	conf config.Config
	w    loader.Watcher
}

// load makes the config and sets the greeting from it; nil if ZooKeeper
// cannot be read.
func (g *greetingWatch) load() config.Config {
	conf, err := config.NewConfig(config.WithSource(g.src))
	if err != nil {
		logger.Logf(logger.WarnLevel, "hello: loading the greeting from ZooKeeper under %s: %v (greeting %q; retrying every %v)", configPrefix, err, greeting(), configRetry)
		return nil
	}
	g.mu.Lock()
	g.conf = conf
	g.mu.Unlock()
	setGreetingFrom(conf)
	return conf
}

// setGreetingFrom sets the greeting from conf's loader, which holds the
// latest configuration (conf's own copy follows it a moment later).
func setGreetingFrom(conf config.Config) {
	snap, err := conf.Options().Loader.Snapshot()
	if err != nil {
		logger.Logf(logger.WarnLevel, "hello: reading the greeting: %v (it stays %q)", err, greeting())
		return
	}
	vals, err := conf.Options().Reader.Values(snap.ChangeSet)
	if err != nil {
		logger.Logf(logger.WarnLevel, "hello: reading the greeting: %v (it stays %q)", err, greeting())
		return
	}
	setGreeting(configString(vals, greetingKey, defaultGreeting))
}

// run loads the config if conf is nil, then follows the greeting until
// stopped. It watches the config's loader rather than conf.Watch, whose
// go-micro v5 watcher misses a key going back to the value it had when the
// watch began (a greeting deleted that was not set then): a loader watcher
// compares each value with the last it returned, and after each change the
// greeting is read from the loader.
func (g *greetingWatch) run(conf config.Config) {
	t := time.NewTicker(configRetry)
	defer t.Stop()
	for conf == nil {
		select {
		case <-g.stop:
			return
		case <-t.C:
			conf = g.load()
		}
	}
	w, err := conf.Options().Loader.Watch(greetingKey)
	if err != nil {
		logger.Logf(logger.WarnLevel, "hello: watching the greeting: %v (it stays %q)", err, greeting())
		return
	}
	g.mu.Lock()
	g.w = w
	g.mu.Unlock()
	select {
	case <-g.stop: // stopped meanwhile: close did not see w
		_ = w.Stop()
		return
	default:
	}
	// A change since load is not missed: the watcher reports the key's
	// changes from the value it read as it began.
	setGreetingFrom(conf)
	for {
		if _, err := w.Next(); err != nil {
			return // stopped
		}
		setGreetingFrom(conf)
	}
}

// close stops following the greeting and stops the config
// (microconfig.go); the registry's session is left to the registry.
func (g *greetingWatch) close() {
	g.stopOnce.Do(func() {
		close(g.stop)
		g.mu.Lock()
		if g.w != nil {
			_ = g.w.Stop()
		}
		g.mu.Unlock()
		g.wg.Wait()
		g.mu.Lock()
		conf := g.conf
		g.mu.Unlock()
		stopConfig(conf, g.src)
	})
}
