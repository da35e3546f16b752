package zkconfig

import (
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// Tests of SetKey and DeleteKey against a real ZooKeeper.

func TestSetKeyAndDeleteKeyWriteOneBranch(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	c := rawZK(t, srv.Addr)
	// Neither the chroot nor the prefix exists yet.
	src := newSource(t, WithAddress(srv.Addr+"/apps/prod"), WithPrefix("/micro-config/greeter"))
	w := watch(t, src)

	require.NoError(t, SetKey(src, []byte(`{"address":"10.0.0.7","port":3306}`), "database"))
	assert.Equal(t, `{"database":{"address":"10.0.0.7","port":3306}}`, read(t, src), "a Read after SetKey sees it")
	assert.Equal(t, `{"database":{"address":"10.0.0.7","port":3306}}`, nextData(t, w), "watchers see it")

	require.NoError(t, SetKey(src, []byte(`3307`), "database", "port"))
	require.NoError(t, SetKey(src, []byte(`"Hi"`), "greeting"))
	require.NoError(t, SetKey(src, []byte(`"42"`), "quoted"))
	require.NoError(t, SetKey(src, []byte(`true`), "features", "beta", "on"))
	const prefix = "/apps/prod/micro-config/greeter"
	assert.Equal(t, map[string]string{
		prefix:                       "",
		prefix + "/database":         "",
		prefix + "/database/address": "10.0.0.7",
		prefix + "/database/port":    "3307",
		prefix + "/features":         "",
		prefix + "/features/beta":    "",
		prefix + "/features/beta/on": "true",
		prefix + "/greeting":         "Hi",
		prefix + "/quoted":           `"42"`,
	}, dump(t, c, prefix), "stored as Write stores a document")

	// Setting the same value writes nothing.
	_, before, err := c.Get(prefix + "/greeting")
	require.NoError(t, err)
	require.NoError(t, SetKey(src, []byte(`"Hi"`), "greeting"))
	_, after, err := c.Get(prefix + "/greeting")
	require.NoError(t, err)
	assert.Equal(t, before.Mzxid, after.Mzxid)

	require.NoError(t, DeleteKey(src, "features", "beta", "on"))
	assert.Equal(t, `{"database":{"address":"10.0.0.7","port":3307},"features":{"beta":{}},"greeting":"Hi","quoted":"42"}`, read(t, src))
	require.NoError(t, DeleteKey(src, "features"))
	require.NoError(t, DeleteKey(src, "features"), "a missing key")
	require.NoError(t, DeleteKey(src, "greeting", "nothing", "below"), "below a leaf")
	assert.Equal(t, `{"database":{"address":"10.0.0.7","port":3307},"greeting":"Hi","quoted":"42"}`, read(t, src))
}

// TestSetKeyKeepsConcurrentChanges runs key writes from several sessions at
// once, racing to create the same parent, while another client keeps
// changing another key: every write lands, and the other key keeps its
// last value.
func TestSetKeyKeepsConcurrentChanges(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	c := rawZK(t, srv.Addr)
	put(t, c, "/micro-config/other", "0")

	const writers = 4
	srcs := make([]*zkSource, writers)
	for i := range srcs {
		srcs[i] = newSource(t, WithAddress(srv.Addr)).(*zkSource)
		require.Equal(t, `{"other":0}`, read(t, srcs[i]))
	}
	stop := make(chan struct{})
	otherDone := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				otherDone <- n
				return
			default:
			}
			n++
			if _, err := c.Set("/micro-config/other", []byte(strconv.Itoa(n)), -1); err != nil {
				n--
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i, src := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 5 {
				if errs[i] = SetKey(src, []byte(strconv.Itoa(round)), "shared", "k"+strconv.Itoa(i)); errs[i] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	last := <-otherDone
	for i, err := range errs {
		require.NoError(t, err, "writer %d", i)
	}
	want := `{"other":` + strconv.Itoa(last) + `,"shared":{"k0":4,"k1":4,"k2":4,"k3":4}}`
	zktest.Eventually(t, nextTimeout, func() bool { return read(t, srcs[0]) == want },
		"want %s, have %s", want, read(t, srcs[0]))
}
