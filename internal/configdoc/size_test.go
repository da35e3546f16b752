package configdoc

import (
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRequestBytesMatchesTheWire checks the size PlanWrite counts against
// the bytes go-zookeeper sends: a zk.Conn talks to a scripted server over an
// in-memory pipe, which measures each multi request and refuses it.
func TestRequestBytesMatchesTheWire(t *testing.T) {
	conn, sizes := connectToSizer(t)
	acls := zk.DigestACL(zk.PermRead, "user", "secret")
	acls = append(acls, zk.WorldACL(zk.PermAll)...)
	tests := []struct {
		name string
		ops  []any
	}{
		{"create", []any{&zk.CreateRequest{Path: "/micro-config/a", Data: []byte("1"), Acl: testACL.New}}},
		{"create with empty data and two ACLs", []any{&zk.CreateRequest{Path: "/micro-config/a", Data: []byte{}, Acl: acls}}},
		{"set", []any{&zk.SetDataRequest{Path: "/micro-config/ünï", Data: []byte(`{"x":[1,2]}`), Version: 3}}},
		{"delete", []any{&zk.DeleteRequest{Path: "/micro-config/a%2Fb", Version: 1}}},
		{"a plan", mustPlan(t, `{"database":{"address":"10.0.0.7","port":3306},"big":"`+strings.Repeat("x", 100000)+`"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := conn.Multi(tt.ops...)
			require.Error(t, err, "the scripted server refuses every multi")
			select {
			case got := <-sizes:
				assert.Equal(t, got, requestBytes(tt.ops))
			case <-time.After(10 * time.Second):
				t.Fatal("no multi request reached the server")
			}
		})
	}
}

// mustPlan plans doc over a missing subtree.
func mustPlan(t *testing.T, doc string) []any {
	t.Helper()
	ops, err := PlanWrite(DefaultPrefix, newTree(), []byte(doc), testACL)
	require.NoError(t, err)
	return ops
}

// connectToSizer returns a zk.Conn to a scripted server that answers the
// handshake, pings and close, and reports the size of each multi request
// (length prefix included) before answering it with an error. Everything
// stops in t.Cleanup.
func connectToSizer(t *testing.T) (*zk.Conn, <-chan int) {
	t.Helper()
	sizes := make(chan int, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var pipes []net.Conn // guarded by mu
	dial := func(string, string, time.Duration) (net.Conn, error) {
		client, server := net.Pipe()
		mu.Lock()
		pipes = append(pipes, client, server)
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveSizer(server, sizes, done)
		}()
		return client, nil
	}
	// The address is never dialled: dial makes a pipe.
	conn, _, err := zk.Connect([]string{"127.0.0.1:2181"}, 10*time.Second, zk.WithDialer(dial), zk.WithLogger(discardLogger{}))
	require.NoError(t, err)
	t.Cleanup(func() {
		conn.Close()
		close(done)
		mu.Lock()
		for _, p := range pipes {
			p.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return conn, sizes
}

// serveSizer is the scripted server's side of one connection.
func serveSizer(c net.Conn, sizes chan<- int, done <-chan struct{}) {
	defer c.Close()
	if _, err := readPacket(c); err != nil { // connect request
		return
	}
	// connect response: protocol version, timeout (ms), session id, password
	resp := binary.BigEndian.AppendUint32(nil, 0)
	resp = binary.BigEndian.AppendUint32(resp, 10000)
	resp = binary.BigEndian.AppendUint64(resp, 1)
	resp = binary.BigEndian.AppendUint32(resp, 16)
	resp = append(resp, make([]byte, 16)...)
	if writePacket(c, resp) != nil {
		return
	}
	const opMulti, opClose = 14, -11 // pings and the rest get a plain reply
	for {
		req, err := readPacket(c)
		if err != nil || len(req) < 8 {
			return
		}
		xid := binary.BigEndian.Uint32(req[0:4])
		op := int32(binary.BigEndian.Uint32(req[4:8]))
		var code int32 // reply header error
		if op == opMulti {
			select {
			case sizes <- 4 + len(req):
			case <-done:
				return
			}
			code = -1 // system error
		}
		// reply header: xid, zxid, error
		hdr := binary.BigEndian.AppendUint32(nil, xid)
		hdr = binary.BigEndian.AppendUint64(hdr, 0)
		hdr = binary.BigEndian.AppendUint32(hdr, uint32(code))
		if writePacket(c, hdr) != nil || op == opClose {
			return
		}
	}
}

// readPacket reads one length-prefixed packet.
func readPacket(c net.Conn) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(n[:]))
	_, err := io.ReadFull(c, body)
	return body, err
}

// writePacket writes body as one length-prefixed packet.
func writePacket(c net.Conn, body []byte) error {
	_, err := c.Write(binary.BigEndian.AppendUint32(nil, uint32(len(body))))
	if err == nil {
		_, err = c.Write(body)
	}
	return err
}

// discardLogger silences go-zookeeper.
type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
