package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// These tests check the Curator codec against the real thing: Apache
// Curator 5.4's ServiceDiscovery in a Java peer (zktest.StartCurator), on
// a real ZooKeeper. Java is slow to start, so one peer serves a whole
// sequence of checks.

// TestCuratorCodecAgainstCurator: what Curator registers decodes to the
// documented go-micro node, and what encodeCuratorInstance writes Curator
// lists, Spring's reader reads and a ServiceCache follows; under a chroot,
// with digest credentials.
func TestCuratorCodecAgainstCurator(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	conn := digestConn(t, srv.Addr, "java", "secret")
	// The base path is readable and writable with the peer's credentials
	// only: the peer's digest credentials are in use.
	_, err := conn.Create("/apps", nil, 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	_, err = conn.Create("/apps/services", nil, 0, zk.DigestACL(zk.PermAll, "java", "secret"))
	require.NoError(t, err)
	l, err := newCuratorLayout("/apps", DefaultCuratorBase)
	require.NoError(t, err)

	start := time.Now()
	peer := zktest.StartCurator(t, srv.Addr, zktest.CuratorChroot("/apps"), zktest.CuratorDigest("java", "secret"))
	t.Logf("the Curator peer (javac unless cached, JVM, connection) started in %v", time.Since(start))

	read := func(t *testing.T, name, id string) (*Service, *zk.Stat) {
		t.Helper()
		p, err := l.instancePath(name, id)
		require.NoError(t, err)
		data, st, err := conn.Get(p)
		require.NoError(t, err, "Curator's instance at %s", p)
		s, err := decodeCuratorInstance(data)
		require.NoError(t, err, "decode %s", data)
		kind, ref := l.parse(p)
		require.Equal(t, kindNode, kind)
		require.NoError(t, matchCuratorRef(ref, s))
		return s, st
	}
	publish := func(t *testing.T, s *Service, n *Node) []byte {
		t.Helper()
		data, err := encodeCuratorInstance(s, n, curatorEncoding{registered: time.UnixMilli(1733312345678)})
		require.NoError(t, err)
		dir, err := l.servicePath(s.Name)
		require.NoError(t, err)
		if _, err := conn.Create(dir, nil, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			require.NoError(t, err)
		}
		p, err := l.instancePath(s.Name, n.Id)
		require.NoError(t, err)
		_, err = conn.Create(p, data, zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
		require.NoError(t, err)
		return data
	}
	// decodeAll decodes instances as Curator's serializer wrote them.
	decodeAll := func(t *testing.T, raws []json.RawMessage) []*Service {
		t.Helper()
		var out []*Service
		for _, r := range raws {
			s, err := decodeCuratorInstance(r)
			require.NoError(t, err, "decode %s", r)
			out = append(out, s)
		}
		return out
	}

	t.Run("what Curator registers decodes to the documented node", func(t *testing.T) {
		peer.Register(t, zktest.CuratorInstance{
			Name: "orders", ID: "o-1", Address: "10.1.2.3", Port: 8080, SSLPort: 8443,
			URISpec: "{scheme}://{address}:{ssl-port}", RegistrationTimeUTC: 1733312345678,
			Spring: map[string]string{"instance_status": "UP", "zone": "eu-1"}, SpringID: "orders-1",
		})
		got, st := read(t, "orders", "o-1")
		assert.NotZero(t, st.EphemeralOwner, "a DYNAMIC instance is ephemeral")
		assert.Equal(t, &Service{Name: "orders", Nodes: []*Node{{Id: "o-1", Address: "10.1.2.3:8080", Metadata: map[string]string{
			"instance_status": "UP", "zone": "eu-1",
			MetaCuratorOrigin:           CuratorOriginCurator,
			MetaCuratorSSLPort:          "8443",
			MetaCuratorRegistrationTime: "1733312345678",
			MetaCuratorURISpec:          "{scheme}://{address}:{ssl-port}",
			MetaCuratorSpringID:         "orders-1",
		}}}}, got)

		peer.Register(t, zktest.CuratorInstance{
			Name: "orders", ID: "o-2", Address: "10.1.2.4", SSLPort: 9443, ServiceType: "STATIC",
			RegistrationTimeUTC: 1, Map: map[string]string{"k": "v"},
		})
		got, st = read(t, "orders", "o-2")
		assert.Zero(t, st.EphemeralOwner, "a STATIC instance is persistent")
		assert.Equal(t, &Service{Name: "orders", Nodes: []*Node{{Id: "o-2", Address: "10.1.2.4:9443", Metadata: map[string]string{
			MetaCuratorOrigin:           CuratorOriginCurator,
			MetaCuratorSSLPort:          "9443",
			MetaCuratorRegistrationTime: "1",
			MetaCuratorServiceType:      "STATIC",
			MetaCuratorPayload:          `{"@class":"java.util.HashMap","k":"v"}`,
		}}}}, got)

		dir, _ := l.servicePath("orders")
		// A DYNAMIC_SEQUENTIAL instance is at its id and a sequence
		// number; the node's id is the instance's.
		peer.Register(t, zktest.CuratorInstance{Name: "orders", ID: "o-3", Address: "10.1.2.5", Port: 8080, ServiceType: "DYNAMIC_SEQUENTIAL"})
		children, _, err := conn.Children(dir)
		require.NoError(t, err)
		seq := slices.IndexFunc(children, func(c string) bool { return strings.HasPrefix(c, "o-3") })
		require.NotEqual(t, -1, seq, "the instance among %v", children)
		got, _ = read(t, "orders", children[seq])
		assert.Equal(t, "o-3", got.Nodes[0].Id)
		assert.Len(t, children[seq], len("o-3")+10)
		assert.Equal(t, "DYNAMIC_SEQUENTIAL", got.Nodes[0].Metadata[MetaCuratorServiceType])

		peer.Update(t, "o-1", map[string]string{"instance_status": "OUT_OF_SERVICE"})
		got, _ = read(t, "orders", "o-1")
		assert.Equal(t, "OUT_OF_SERVICE", got.Nodes[0].Metadata["instance_status"])
		assert.NotContains(t, got.Nodes[0].Metadata, "zone", "the payload is replaced whole")

		peer.Unregister(t, "o-1")
		p, _ := l.instancePath("orders", "o-1")
		ok, _, err := conn.Exists(p)
		require.NoError(t, err)
		assert.False(t, ok, "unregistered")
	})

	t.Run("what we publish Curator and Spring read", func(t *testing.T) {
		s := testService("greeter", "n1")
		s.Nodes[0].Metadata["zone"] = "eu-1"
		data := publish(t, s, s.Nodes[0])
		ours, err := decodeCuratorInstance(data)
		require.NoError(t, err)

		listed := peer.Query(t, "greeter")
		require.Len(t, listed, 1)
		assert.Equal(t, []*Service{ours}, decodeAll(t, listed), "Curator reads back what we wrote: %s", listed[0])
		var raw map[string]any
		require.NoError(t, json.Unmarshal(listed[0], &raw))
		assert.Equal(t, "10.0.0.0", raw["address"])
		assert.EqualValues(t, 8080, raw["port"])
		assert.Nil(t, raw["sslPort"])
		assert.Equal(t, "DYNAMIC", raw["serviceType"])
		assert.Equal(t, springInstanceClass, raw["payload"].(map[string]any)["@class"])

		spring := peer.Spring(t, "greeter")
		require.Len(t, spring, 1)
		assert.Equal(t, zktest.SpringInstance{
			ServiceID: "greeter", InstanceID: "n1", Host: "10.0.0.0", Port: 8080, Secure: false,
			Metadata: func() map[string]string {
				m := maps.Clone(s.Nodes[0].Metadata)
				m[MetaCuratorOrigin] = CuratorOriginGoMicro
				m[springMetaVersion] = "1.0.0"
				m[springMetaMetadata] = `{"team":"bench"}`
				eps, _ := marshalCurator(s.Endpoints)
				m[springMetaEndpoints] = string(eps)
				return m
			}(),
			PayloadID: "n1", PayloadName: "greeter",
		}, spring[0])

		// An address on the TLS port, with a uriSpec: Spring's instance
		// is secure, and its URI built by Curator.
		tls := &Service{Name: "secure", Nodes: []*Node{{Id: "s1", Address: "10.0.0.9:8443", Metadata: map[string]string{
			MetaCuratorSSLPort: "8443", MetaCuratorURISpec: "{scheme}://{address}:{ssl-port}/api",
		}}}}
		publish(t, tls, tls.Nodes[0])
		spring = peer.Spring(t, "secure")
		require.Len(t, spring, 1)
		assert.True(t, spring[0].Secure)
		assert.Equal(t, 8443, spring[0].Port)
		assert.Equal(t, "https://10.0.0.9:8443/api", spring[0].URI)

		names := peer.Names(t)
		slices.Sort(names)
		assert.Equal(t, []string{"greeter", "orders", "secure"}, names)
	})

	t.Run("a ServiceCache follows what we publish", func(t *testing.T) {
		assert.Empty(t, peer.Follow(t, "cached"))
		s := testService("cached", "c1")
		v1 := publish(t, s, s.Nodes[0])
		cacheIs := func(want []byte) func() error {
			return func() error {
				raws, _ := peer.Cache("cached")
				var got []string
				for _, r := range raws {
					got = append(got, string(r))
				}
				if want == nil {
					if len(raws) != 0 {
						return fmt.Errorf("the cache holds %v", got)
					}
					return nil
				}
				w, err := decodeCuratorInstance(want)
				if err != nil {
					return err
				}
				if len(raws) != 1 {
					return fmt.Errorf("the cache holds %v", got)
				}
				if c, err := decodeCuratorInstance(raws[0]); err != nil || !assert.ObjectsAreEqual(w, c) {
					return fmt.Errorf("the cache holds %v (%v)", got, err)
				}
				return nil
			}
		}
		zktest.WaitFor(t, 30*time.Second, "the cache sees the instance created", cacheIs(v1))

		s.Nodes[0].Metadata["zone"] = "eu-2"
		v2, err := encodeCuratorInstance(s, s.Nodes[0], curatorEncoding{registered: time.UnixMilli(1733312345678)})
		require.NoError(t, err)
		p, _ := l.instancePath("cached", "c1")
		_, err = conn.Set(p, v2, -1)
		require.NoError(t, err)
		zktest.WaitFor(t, 30*time.Second, "the cache sees the instance updated", cacheIs(v2))

		require.NoError(t, conn.Delete(p, -1))
		zktest.WaitFor(t, 30*time.Second, "the cache sees the instance deleted", cacheIs(nil))
		_, changes := peer.Cache("cached")
		assert.GreaterOrEqual(t, changes, 3)
	})

	// Closing Curator's ServiceDiscovery unregisters what it registered,
	// persistent instances too.
	peer.Exit(t)
	p, _ := l.instancePath("orders", "o-2")
	ok, _, err := conn.Exists(p)
	require.NoError(t, err)
	assert.False(t, ok, "Curator's close unregisters its instances")
}

// TestCuratorPeerKilled: a SIGKILLed peer leaves its ephemeral instances
// until its session expires, as a crashed Java service does; then the
// directories Curator made go too, being containers.
func TestCuratorPeerKilled(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	conn := rawConn(t, srv.Addr)
	start := time.Now()
	peer := zktest.StartCurator(t, srv.Addr, zktest.CuratorSessionTimeout(2*time.Second))
	t.Logf("the Curator peer started in %v", time.Since(start))
	peer.Register(t, zktest.CuratorInstance{Name: "crash", ID: "c-1", Address: "10.0.0.1", Port: 1})
	p := "/services/crash/c-1"
	ok, st, err := conn.Exists(p)
	require.NoError(t, err)
	require.True(t, ok)
	owner := st.EphemeralOwner

	peer.Kill()
	ok, _, err = conn.Exists(p)
	require.NoError(t, err)
	assert.True(t, ok, "the instance outlives the process")
	zktest.Eventually(t, 30*time.Second, func() bool { return !srv.SessionAlive(owner) }, "the peer's session expires")
	gone := func(p string) func() error {
		return func() error {
			if ok, _, err := conn.Exists(p); err != nil || ok {
				return fmt.Errorf("%s still there (%v)", p, err)
			}
			return nil
		}
	}
	zktest.WaitFor(t, 30*time.Second, "the instance goes with the session", gone(p))
	// Curator 5.4 made the directories containers (zktest's servers
	// check them every second).
	zktest.WaitFor(t, 30*time.Second, "the empty service directory goes", gone("/services/crash"))
	zktest.WaitFor(t, 30*time.Second, "the empty base goes", gone("/services"))
}
