package zkconfig

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
)

// TestGoMicroConfig uses the source as go-micro users write it:
// config.NewConfig(config.WithSource(zkconfig.NewSource(...))), then
// conf.Get(...) (configValue) and conf.Watch(...).
func TestGoMicroConfig(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	zc, _, err := zk.Connect([]string{srv.Addr}, 10*time.Second, zk.WithLogger(discardLogger{}))
	require.NoError(t, err)
	t.Cleanup(zc.Close)

	// A long Timeout, for a busy machine.
	src := NewSource(WithAddress(srv.Addr), Timeout(time.Minute))
	conf, err := config.NewConfig(config.WithSource(src))
	require.NoError(t, err)
	t.Cleanup(func() {
		closeConfig(conf)
		_ = src.(io.Closer).Close()
	})

	assert.Equal(t, "Hello", configValue(t, conf, "greeting").String("Hello"), "absent: the default")
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
	zktest.Eventually(t, 15*time.Second, func() bool { return configValue(t, conf, "greeting").String("Hello") == "Hi" }, "conf.Get never saw the change")

	_, err = zc.Set("/micro-config/greeting", []byte("Hej"), -1)
	require.NoError(t, err)
	assert.Equal(t, "Hej", nextValue(t, w).String("Hello"))

	// Nested keys and typed values.
	_, err = zc.Multi(
		&zk.CreateRequest{Path: "/micro-config/database", Data: []byte{}, Acl: zk.WorldACL(zk.PermAll)},
		&zk.CreateRequest{Path: "/micro-config/database/port", Data: []byte("3306"), Acl: zk.WorldACL(zk.PermAll)},
	)
	require.NoError(t, err)
	zktest.Eventually(t, 15*time.Second, func() bool { return configValue(t, conf, "database", "port").Int(0) == 3306 }, "nested key never read")

	// A deleted key reads as the default again. A watcher started since
	// the last change reports it on either go-micro line; w, started when
	// the key was absent, would not on go-micro v5 (TestConfigWatch* in
	// main_test.go).
	w2, err := conf.Watch("greeting")
	require.NoError(t, err)
	t.Cleanup(func() { _ = w2.Stop() })
	require.NoError(t, zc.Delete("/micro-config/greeting", -1))
	assert.Equal(t, "Hello", nextValue(t, w2).String("Hello"), "deleted: the default again")
	zktest.Eventually(t, 15*time.Second, func() bool { return configValue(t, conf, "greeting").String("Hello") == "Hello" }, "conf.Get never saw the delete")
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
