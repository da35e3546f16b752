package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go-micro.dev/v4/config/source"
	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper"
	"github.com/zkmicro/zookeeper/zkconfig"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, a second one kills the process at once (for
	// example while a final Deregister hangs).
	context.AfterFunc(ctx, stop)
	a := &app{
		stdout: os.Stdout,
		stderr: os.Stderr,
		now:    time.Now,
		// Unless SIGPIPE is ignored (or notified), Go ends the process at
		// a write to a closed pipe on fd 1 or 2 (os/signal, "SIGPIPE");
		// ignored, the write fails with EPIPE.
		surviveClosedOutput: func() { signal.Ignore(syscall.SIGPIPE) },
	}
	a.newRegistry = func(addrs []string, timeout time.Duration) (registry.Registry, error) {
		return newRegistry(addrs, timeout, registryLogger{logf: a.logf})
	}
	a.newConfigSource = func(reg registry.Registry, o configSourceOptions) source.Source {
		return newConfigSource(reg, o, registryLogger{logf: a.logf})
	}
	code := a.run(ctx, os.Args)
	stop()
	os.Exit(code)
}

// newRegistry opens the registry every command uses: this module's
// ZooKeeper registry, as a go-micro service configured by --registry_address
// and the MICRO_REGISTRY_ZOOKEEPER_* variables would have it, logging to l.
// It is the one place where zkmicro chooses its registry; the rest of the
// program sees registry.Registry (closed when it is an io.Closer), and the
// commands that need ZooKeeper itself reach its engine (engineOf). It does
// not dial: the first call does.
func newRegistry(addrs []string, timeout time.Duration, l logger.Logger) (registry.Registry, error) {
	reg := zookeeper.NewRegistry()
	if err := reg.Init(registry.Addrs(addrs...), registry.Timeout(timeout), registry.Logger(l)); err != nil {
		_ = reg.(io.Closer).Close() // it holds goroutines, though it never dialled
		return nil, fmt.Errorf("registry at %s: %w", strings.Join(addrs, ","), err)
	}
	return reg, nil
}

// newConfigSource opens the configuration source of the config commands:
// this module's zkconfig source over the session of reg (the registry
// newRegistry opened: its addresses, chroot, credentials and TLS), with
// o's prefix, timeout and Private, as a go-micro service that shares its
// registry's session would have it, logging to l. The registry's
// MICRO_REGISTRY_ZOOKEEPER_OPEN_DIRS applies to it (zkconfig's OpenTree).
// It is the one place where zkmicro chooses its configuration source. It
// does not dial: the first call does, and invalid options make every call
// fail.
func newConfigSource(reg registry.Registry, o configSourceOptions, l logger.Logger) source.Source {
	opts := []source.Option{zkconfig.WithRegistry(reg), zkconfig.WithPrefix(o.prefix),
		zkconfig.Timeout(o.timeout), zkconfig.Logger(l)}
	if o.private {
		opts = append(opts, zkconfig.Private())
	}
	return zkconfig.NewSource(opts...)
}
