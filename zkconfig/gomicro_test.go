package zkconfig_test

import (
	"io"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/config"
	"go-micro.dev/v4/config/reader"

	"github.com/zkmicro/zookeeper/internal/zktest"
	"github.com/zkmicro/zookeeper/zkconfig"
)

// TestGoMicroConfig uses the source as go-micro users write it:
// config.NewConfig(config.WithSource(zkconfig.NewSource(...))), then
// conf.Get(...).String(default) and conf.Watch(...).
func TestGoMicroConfig(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	zc, _, err := zk.Connect([]string{srv.Addr}, 10*time.Second, zk.WithLogger(quiet{}))
	require.NoError(t, err)
	t.Cleanup(zc.Close)

	// A long Timeout, for a busy machine.
	src := zkconfig.NewSource(zkconfig.WithAddress(srv.Addr), zkconfig.Timeout(time.Minute))
	conf, err := config.NewConfig(config.WithSource(src))
	require.NoError(t, err)
	t.Cleanup(func() {
		// Not conf.Close: it crashes go-micro v4.11.0 (see closeConfig).
		_ = conf.Options().Loader.Close()
		_ = src.(io.Closer).Close()
	})

	assert.Equal(t, "Hello", conf.Get("greeting").String("Hello"), "absent: the default")
	w, err := conf.Watch("greeting")
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Stop() })

	// Another client writes the key, as zkCli.sh would.
	_, err = zc.Create("/micro-config", nil, 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	_, err = zc.Create("/micro-config/greeting", []byte("Hi"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	assert.Equal(t, "Hi", nextValue(t, w).String("Hello"))
	// conf.Get follows through another watcher of go-micro's loader: at
	// about the same time, not necessarily before.
	zktest.Eventually(t, 15*time.Second, func() bool { return conf.Get("greeting").String("Hello") == "Hi" }, "conf.Get never saw the change")

	_, err = zc.Set("/micro-config/greeting", []byte("Hej"), -1)
	require.NoError(t, err)
	assert.Equal(t, "Hej", nextValue(t, w).String("Hello"))

	// Nested keys and typed values.
	_, err = zc.Multi(
		&zk.CreateRequest{Path: "/micro-config/database", Data: []byte{}, Acl: zk.WorldACL(zk.PermAll)},
		&zk.CreateRequest{Path: "/micro-config/database/port", Data: []byte("3306"), Acl: zk.WorldACL(zk.PermAll)},
	)
	require.NoError(t, err)
	zktest.Eventually(t, 15*time.Second, func() bool { return conf.Get("database", "port").Int(0) == 3306 }, "nested key never read")

	require.NoError(t, zc.Delete("/micro-config/greeting", -1))
	assert.Equal(t, "Hello", nextValue(t, w).String("Hello"), "deleted: the default again")
}

// nextValue returns the next value of w, failing the test after 15 s.
func nextValue(t *testing.T, w config.Watcher) reader.Value {
	t.Helper()
	type result struct {
		v   reader.Value
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := w.Next()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		require.NoError(t, r.err)
		return r.v
	case <-time.After(15 * time.Second):
		_ = w.Stop()
		<-ch
		t.Fatal("no new value within 15s")
		return nil
	}
}

// quiet discards go-zookeeper's log lines.
type quiet struct{}

func (quiet) Printf(string, ...any) {}
