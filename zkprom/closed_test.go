package zkprom_test

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper"
	"github.com/zkmicro/zookeeper/internal/zktest"
	"github.com/zkmicro/zookeeper/zkprom"
)

// Issue 19, item 12: a closed registry reported owned_nodes=1,
// registered_nodes=1 and mirrored_services=2 for a session that had ended.
func TestCollectorOfAClosedRegistryReportsNoGauges(t *testing.T) {
	srv := zktest.Start(t)
	reg := zookeeper.NewRegistry(registry.Addrs(srv.Addr), registry.Timeout(10*time.Second))
	c, err := zkprom.NewCollector(reg)
	require.NoError(t, err)
	require.NoError(t, reg.Register(service("greeter", "g1")))
	_, err = reg.ListServices()
	require.NoError(t, err)
	zktest.Eventually(t, 10*time.Second, func() bool { return scrape(t, c).value(ownedNodes) == 1 }, "node never owned")
	open := scrape(t, c)
	require.Equal(t, 1.0, open.value(registered))
	require.NotZero(t, open.value(mirroredSvcs))

	require.NoError(t, reg.(io.Closer).Close())
	closed := scrape(t, c)
	for _, gauge := range []string{registered, ownedNodes, mirroredSvcs, mirroredNodes, watchers, "micro_registry_zookeeper_connected"} {
		assert.Zero(t, closed.value(gauge), gauge)
	}
	assert.Equal(t, open.value(established), closed.value(established), "counters keep their totals")
	assert.Equal(t, open.calls("register"), closed.calls("register"))
}
