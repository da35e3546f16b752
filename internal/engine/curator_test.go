package engine

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// springRegistered is an instance as Spring Cloud Zookeeper registers it,
// byte for byte what Curator 5.4's serializer wrote in the Java peer.
const springRegistered = `{"name":"app","id":"i1","address":"10.0.0.1","port":8080,"sslPort":null,` +
	`"payload":{"@class":"org.springframework.cloud.zookeeper.discovery.ZookeeperInstance","id":"app-1","name":"app","metadata":{"zone":"a","instance_status":"UP"}},` +
	`"registrationTimeUTC":1796398339841,"serviceType":"DYNAMIC","uriSpec":{"parts":[{"value":"scheme","variable":true},{"value":"://","variable":false},` +
	`{"value":"address","variable":true},{"value":":","variable":false},{"value":"port","variable":true}]}}`

func TestDecodeCuratorInstance(t *testing.T) {
	one := func(name, version, id, addr string, meta map[string]string) *Service {
		return &Service{Name: name, Version: version, Nodes: []*Node{{Id: id, Address: addr, Metadata: meta}}}
	}
	tests := []struct {
		name string
		data string
		want *Service
	}{
		{"spring's registration", springRegistered, one("app", "", "i1", "10.0.0.1:8080", map[string]string{
			"zone": "a", "instance_status": "UP",
			MetaCuratorOrigin:           CuratorOriginCurator,
			MetaCuratorRegistrationTime: "1796398339841",
			MetaCuratorURISpec:          "{scheme}://{address}:{port}",
			MetaCuratorSpringID:         "app-1",
		})},
		{"a map payload, TLS only, static",
			`{"name":"app","id":"i2","address":"10.0.0.2","port":null,"sslPort":8443,"payload":{"@class":"java.util.HashMap","k":"v"},"registrationTimeUTC":0,"serviceType":"STATIC","uriSpec":null}`,
			one("app", "", "i2", "10.0.0.2:8443", map[string]string{
				MetaCuratorOrigin:      CuratorOriginCurator,
				MetaCuratorSSLPort:     "8443",
				MetaCuratorServiceType: "STATIC",
				MetaCuratorPayload:     `{"@class":"java.util.HashMap","k":"v"}`,
			})},
		{"the least: IPv6, no payload", `{"name":"s","id":"x","address":"::1","port":1}`,
			one("s", "", "x", "[::1]:1", map[string]string{MetaCuratorOrigin: CuratorOriginCurator})},
		{"both ports: the address takes port", `{"name":"s","id":"x","address":"h","port":80,"sslPort":443}`,
			one("s", "", "x", "h:80", map[string]string{MetaCuratorOrigin: CuratorOriginCurator, MetaCuratorSSLPort: "443"})},
		{"not enabled", `{"name":"s","id":"x","address":"h","port":80,"enabled":false}`,
			one("s", "", "x", "h:80", map[string]string{MetaCuratorOrigin: CuratorOriginCurator, MetaCuratorEnabled: "false"})},
		{"enabled, explicitly", `{"name":"s","id":"x","address":"h","port":80,"enabled":true}`,
			one("s", "", "x", "h:80", map[string]string{MetaCuratorOrigin: CuratorOriginCurator})},
		{"unknown fields ignored, names exact",
			`{"name":"s","id":"x","address":"h","port":80,"Port":1,"NAME":"other","extra":{"deep":[1,2]}}`,
			one("s", "", "x", "h:80", map[string]string{MetaCuratorOrigin: CuratorOriginCurator})},
		{"a uriSpec no template gives is dropped",
			`{"name":"s","id":"x","address":"h","port":80,"uriSpec":{"parts":[{"value":"{","variable":false}]}}`,
			one("s", "", "x", "h:80", map[string]string{MetaCuratorOrigin: CuratorOriginCurator})},
		{"a payload that is no object", `{"name":"s","id":"x","address":"h","port":80,"payload":[ "java.lang.String" , "v" ]}`,
			one("s", "", "x", "h:80", map[string]string{MetaCuratorOrigin: CuratorOriginCurator, MetaCuratorPayload: `["java.lang.String","v"]`})},
		{"reserved keys of spring's metadata",
			`{"name":"s","id":"x","address":"h","port":80,"payload":{"@class":"` + springInstanceClass + `","id":"x","name":"s",` +
				`"metadata":{"curator.sslPort":"1","curator.origin":"go-micro","micro.version":"2","micro.metadata":"{\"a\":\"b\"}","micro.endpoints":"[null,{\"name\":\"E\"}]","micro.other":"kept","k":null}}}`,
			&Service{Name: "s", Version: "2", Metadata: map[string]string{"a": "b"}, Endpoints: []*Endpoint{{Name: "E"}},
				Nodes: []*Node{{Id: "x", Address: "h:80", Metadata: map[string]string{
					MetaCuratorOrigin: CuratorOriginGoMicro, "micro.other": "kept", "k": "",
				}}}}},
		{"spring's payload without metadata, other name",
			`{"name":"s","id":"x","address":"h","port":80,"payload":{"metadata":null,"name":"alias","@class":"` + springInstanceClass + `"}}`,
			one("s", "", "x", "h:80", map[string]string{MetaCuratorOrigin: CuratorOriginCurator, MetaCuratorSpringName: "alias"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeCuratorInstance([]byte(tt.data))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeCuratorInstanceRejects(t *testing.T) {
	spring := func(meta string) string {
		return `{"name":"s","id":"x","address":"h","port":80,"payload":{"@class":"` + springInstanceClass + `","metadata":` + meta + `}}`
	}
	tests := map[string]string{
		"empty":              ``,
		"not an object":      `["s"]`,
		"broken json":        `{"name":"s"`,
		"not UTF-8":          "{\"name\":\"s\xff\",\"id\":\"x\",\"address\":\"h\",\"port\":80}",
		"no name":            `{"id":"x","address":"h","port":80}`,
		"null name":          `{"name":null,"id":"x","address":"h","port":80}`,
		"no id":              `{"name":"s","address":"h","port":80}`,
		"empty id":           `{"name":"s","id":"","address":"h","port":80}`,
		"no address":         `{"name":"s","id":"x","port":80}`,
		"no port":            `{"name":"s","id":"x","address":"h"}`,
		"null ports":         `{"name":"s","id":"x","address":"h","port":null,"sslPort":null}`,
		"port 0":             `{"name":"s","id":"x","address":"h","port":0}`,
		"port too big":       `{"name":"s","id":"x","address":"h","sslPort":65536}`,
		"port as text":       `{"name":"s","id":"x","address":"h","port":"80"}`,
		"port as float":      `{"name":"s","id":"x","address":"h","port":80.0}`,
		"name as number":     `{"name":1,"id":"x","address":"h","port":80}`,
		"address with port":  `{"name":"s","id":"x","address":"[h]:1","port":80}`,
		"unknown type":       `{"name":"s","id":"x","address":"h","port":80,"serviceType":"DYNAMIC_EPHEMERAL"}`,
		"time as text":       `{"name":"s","id":"x","address":"h","port":80,"registrationTimeUTC":"now"}`,
		"enabled as text":    `{"name":"s","id":"x","address":"h","port":80,"enabled":"no"}`,
		"uriSpec as text":    `{"name":"s","id":"x","address":"h","port":80,"uriSpec":"{scheme}"}`,
		"spring metadata []": spring(`[]`),
		"spring number":      spring(`{"k":1}`),
		"spring id number":   `{"name":"s","id":"x","address":"h","port":80,"payload":{"@class":"` + springInstanceClass + `","id":7}}`,
		"bad micro.metadata": spring(`{"micro.metadata":"{"}`),
		"bad endpoints":      spring(`{"micro.endpoints":"{}"}`),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := decodeCuratorInstance([]byte(data))
			require.Error(t, err)
			assert.ErrorIs(t, err, errInvalidCurator)
			assert.ErrorIs(t, err, errInvalidPayload, "readers skip it as they skip bad data of ours")
		})
	}
}

func TestEncodeCuratorInstance(t *testing.T) {
	s := &Service{Name: "greeter", Version: "1.0.0", Nodes: []*Node{{Id: "g-1", Address: "10.0.0.7:4100", Metadata: map[string]string{"zone": "<eu>"}}}}
	b, err := encodeCuratorInstance(s, s.Nodes[0], curatorEncoding{registered: time.UnixMilli(1733312345678)})
	require.NoError(t, err)
	// Jackson's layout: fields in its order, nulls written, no HTML
	// escaping, Spring's payload with its class.
	assert.Equal(t, `{"name":"greeter","id":"g-1","address":"10.0.0.7","port":4100,"sslPort":null,`+
		`"payload":{"@class":"org.springframework.cloud.zookeeper.discovery.ZookeeperInstance","id":"g-1","name":"greeter",`+
		`"metadata":{"curator.origin":"go-micro","micro.version":"1.0.0","zone":"<eu>"}},`+
		`"registrationTimeUTC":1733312345678,"serviceType":"DYNAMIC","uriSpec":null}`, string(b))

	// A go-micro service published and read back is itself, with the
	// metadata the mapping adds.
	full := testService("greeter", "n1")
	b, err = encodeCuratorInstance(full, full.Nodes[0], curatorEncoding{registered: time.UnixMilli(42)})
	require.NoError(t, err)
	got, err := decodeCuratorInstance(b)
	require.NoError(t, err)
	want := &Service{Name: full.Name, Version: full.Version, Metadata: full.Metadata, Endpoints: full.Endpoints, Nodes: []*Node{{
		Id: "n1", Address: full.Nodes[0].Address, Metadata: maps.Clone(full.Nodes[0].Metadata),
	}}}
	want.Nodes[0].Metadata[MetaCuratorOrigin] = CuratorOriginGoMicro
	want.Nodes[0].Metadata[MetaCuratorRegistrationTime] = "42"
	assert.Equal(t, want, got)

	// And publishing what was read gives the same bytes.
	again, err := encodeCuratorInstance(got, got.Nodes[0], curatorEncoding{})
	require.NoError(t, err)
	assert.Equal(t, string(b), string(again))
}

func TestEncodeCuratorInstanceFromMetadata(t *testing.T) {
	node := func(meta map[string]string) (*Service, *Node) {
		s := &Service{Name: "s", Version: "v", Nodes: []*Node{{Id: "x", Address: "h:443", Metadata: meta}}}
		return s, s.Nodes[0]
	}
	enc := func(t *testing.T, meta map[string]string, e curatorEncoding) map[string]any {
		t.Helper()
		s, n := node(meta)
		b, err := encodeCuratorInstance(s, n, e)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		return m
	}

	m := enc(t, map[string]string{MetaCuratorSSLPort: "443"}, curatorEncoding{})
	assert.Nil(t, m["port"], "an address on the TLS port is TLS only")
	assert.EqualValues(t, 443, m["sslPort"])
	m = enc(t, map[string]string{MetaCuratorSSLPort: "8443"}, curatorEncoding{})
	assert.EqualValues(t, 443, m["port"])
	assert.EqualValues(t, 8443, m["sslPort"])

	m = enc(t, map[string]string{MetaCuratorRegistrationTime: "7"}, curatorEncoding{})
	assert.EqualValues(t, 7, m["registrationTimeUTC"])
	m = enc(t, map[string]string{MetaCuratorRegistrationTime: "7"}, curatorEncoding{registered: time.UnixMilli(9)})
	assert.EqualValues(t, 9, m["registrationTimeUTC"], "the publisher's time wins")
	m = enc(t, nil, curatorEncoding{})
	assert.EqualValues(t, 0, m["registrationTimeUTC"])

	m = enc(t, map[string]string{MetaCuratorServiceType: "STATIC", MetaCuratorEnabled: "false", MetaCuratorURISpec: "{scheme}://{ address }"}, curatorEncoding{})
	assert.Equal(t, "STATIC", m["serviceType"])
	assert.Equal(t, false, m["enabled"])
	assert.Equal(t, map[string]any{"parts": []any{
		map[string]any{"value": "scheme", "variable": true},
		map[string]any{"value": "://", "variable": false},
		map[string]any{"value": "address", "variable": true},
	}}, m["uriSpec"])
	m = enc(t, map[string]string{MetaCuratorEnabled: "true"}, curatorEncoding{})
	assert.NotContains(t, m, "enabled", "Curator's default serializer never writes enabled")

	m = enc(t, map[string]string{MetaCuratorPayload: ` {"@class": "java.util.HashMap", "k":"v"}`, "zone": "a"}, curatorEncoding{})
	assert.Equal(t, map[string]any{"@class": "java.util.HashMap", "k": "v"}, m["payload"], "a payload given is written as it is")
	m = enc(t, map[string]string{"zone": "a"}, curatorEncoding{payload: curatorPayloadNone})
	assert.Nil(t, m["payload"])
	assert.Contains(t, m, "payload")

	m = enc(t, map[string]string{MetaCuratorSpringID: "app-1", MetaCuratorSpringName: "alias", MetaCuratorOrigin: CuratorOriginCurator,
		"curator.unknown": "dropped", "micro.version": "overridden"}, curatorEncoding{})
	assert.Equal(t, map[string]any{"@class": springInstanceClass, "id": "app-1", "name": "alias", "metadata": map[string]any{
		MetaCuratorOrigin: CuratorOriginCurator, springMetaVersion: "v",
	}}, m["payload"])
}

func TestEncodeCuratorInstanceRefuses(t *testing.T) {
	tests := map[string]struct {
		addr string
		meta map[string]string
	}{
		"no port":          {"h", nil},
		"no host":          {":80", nil},
		"port 0":           {"h:0", nil},
		"named port":       {"h:http", nil},
		"bad sslPort":      {"h:80", map[string]string{MetaCuratorSSLPort: "x"}},
		"bad time":         {"h:80", map[string]string{MetaCuratorRegistrationTime: "1.5"}},
		"bad service type": {"h:80", map[string]string{MetaCuratorServiceType: "dynamic"}},
		"bad uriSpec":      {"h:80", map[string]string{MetaCuratorURISpec: "{a{b}}"}},
		"bad enabled":      {"h:80", map[string]string{MetaCuratorEnabled: "no"}},
		"bad payload":      {"h:80", map[string]string{MetaCuratorPayload: "{"}},
		"bad origin":       {"h:80", map[string]string{MetaCuratorOrigin: "java"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			s := &Service{Name: "s", Nodes: []*Node{{Id: "x", Address: tt.addr, Metadata: tt.meta}}}
			_, err := encodeCuratorInstance(s, s.Nodes[0], curatorEncoding{})
			require.Error(t, err)
			assert.Less(t, len(err.Error()), 300)
		})
	}
	s := testService("deep", "n1")
	v := &Value{Name: "leaf"}
	for i := 0; i < 6000; i++ {
		v = &Value{Name: "v", Values: []*Value{v}}
	}
	s.Endpoints = []*Endpoint{{Name: "E", Request: v}}
	_, err := encodeCuratorInstance(s, s.Nodes[0], curatorEncoding{})
	assert.ErrorContains(t, err, "could not be read back")
}

func TestURITemplate(t *testing.T) {
	v := func(s string) curatorURIPart { return curatorURIPart{Value: s, Variable: true} }
	l := func(s string) curatorURIPart { return curatorURIPart{Value: s} }
	// What Curator's UriSpec(String) makes of each template.
	tests := []struct {
		in   string
		want []curatorURIPart
	}{
		{"", nil},
		{"{scheme}://{address}:{port}", []curatorURIPart{v("scheme"), l("://"), v("address"), l(":"), v("port")}},
		{"http://h/x", []curatorURIPart{l("http://h/x")}},
		{"{ a\t}b", []curatorURIPart{v("a"), l("b")}},
		{"{}x", []curatorURIPart{l("x")}},
		{"{ }", []curatorURIPart{v("")}},
		{"{[}x{]}", []curatorURIPart{v("["), l("x"), v("]")}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseURITemplate(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	for _, bad := range []string{"{", "}", "{a{b}}", "a}", "{a"} {
		_, err := parseURITemplate(bad)
		assert.Error(t, err, bad)
	}

	tmpl, ok := uriTemplate([]curatorURIPart{v("scheme"), l("://x")})
	assert.True(t, ok)
	assert.Equal(t, "{scheme}://x", tmpl)
	for name, parts := range map[string][]curatorURIPart{
		"empty literal":      {l("")},
		"empty variable":     {v("")},
		"adjacent literals":  {l("a"), l("b")},
		"brace in a literal": {l("{")},
		"spaced variable":    {v(" a")},
	} {
		_, ok := uriTemplate(parts)
		assert.False(t, ok, name)
	}
}

func TestCuratorPaths(t *testing.T) {
	l, err := newCuratorLayout("/apps/prod", DefaultCuratorBase)
	require.NoError(t, err)
	p, err := l.instancePath("greeter", "6c1f-4")
	require.NoError(t, err)
	assert.Equal(t, "/apps/prod/services/greeter/6c1f-4", p)
	p, err = l.servicePath("100%")
	require.NoError(t, err)
	assert.Equal(t, "/apps/prod/services/100%", p, "names are not escaped: Curator looks them up as they are")
	p, err = l.instancePath("ünï", "a:b c")
	require.NoError(t, err)
	assert.Equal(t, "/apps/prod/services/ünï/a:b c", p)

	kind, ref := l.parse("/apps/prod/services/100%/x")
	assert.Equal(t, kindNode, kind)
	assert.Equal(t, nodeRef{"100%", "x"}, ref)

	for _, bad := range [][2]string{{"a/b", "x"}, {"s", "a/b"}, {"", "x"}, {"s", ""}, {".", "x"}, {"s", ".."}, {"tab\t", "x"}, {"s", "\U0001F600"}, {"s", "\xff"}} {
		_, err := l.instancePath(bad[0], bad[1])
		assert.Error(t, err, "%q", bad)
		_, err = curatorRef(bad[0], bad[1])
		assert.Error(t, err, "%q", bad)
	}
	_, err = l.servicePath("a/b")
	assert.ErrorContains(t, err, `"/"`)

	for _, base := range []string{"", "services", "/", "/services/", "/a//b", "/a\x00"} {
		_, err := newCuratorLayout("", base)
		assert.Error(t, err, "%q", base)
	}

	s := &Service{Name: "s", Nodes: []*Node{{Id: "x"}}}
	assert.NoError(t, matchCuratorRef(nodeRef{"s", "x"}, s))
	assert.ErrorIs(t, matchCuratorRef(nodeRef{"t", "x"}, s), errInvalidCurator)
	assert.ErrorIs(t, matchCuratorRef(nodeRef{"s", "y"}, s), errInvalidCurator)
	assert.ErrorIs(t, matchCuratorRef(nodeRef{"s", "x0000000001"}, s), errInvalidCurator, "only a sequential instance has a number")
	seq := &Service{Name: "s", Nodes: []*Node{{Id: "x", Metadata: map[string]string{MetaCuratorServiceType: "DYNAMIC_SEQUENTIAL"}}}}
	assert.NoError(t, matchCuratorRef(nodeRef{"s", "x0000000001"}, seq))
	for _, bad := range []string{"x000000001", "x00000000012", "x000000000a", "y0000000001"} {
		assert.ErrorIs(t, matchCuratorRef(nodeRef{"s", bad}, seq), errInvalidCurator, bad)
	}
}

// FuzzDecodeCuratorInstance feeds arbitrary znode data to the Curator
// decoder: it must never panic; whatever it accepts must be one node with
// a name, an id and a host:port address; and encoding that and decoding
// the result must give the same Service (what we re-publish of an
// instance is the instance).
func FuzzDecodeCuratorInstance(f *testing.F) {
	for _, seed := range []string{
		springRegistered,
		`{"name":"app","id":"i2","address":"10.0.0.2","port":null,"sslPort":8443,"payload":{"@class":"java.util.HashMap","k":"v"},"registrationTimeUTC":1,"serviceType":"STATIC","uriSpec":null}`,
		`{"name":"s","id":"x","address":"::1","port":1,"sslPort":1,"enabled":null}`,
		`{"name":"s","id":"x","address":"h","port":80,"payload":{"@class":"` + springInstanceClass + `","id":"y","name":"n","metadata":{"curator.origin":"go-micro","micro.version":"2","micro.metadata":"{}","micro.endpoints":"[null,{\"name\":\"E\",\"request\":{\"name\":\"r\",\"values\":[{}]}}]"}}}`,
		`{"name":"s","id":"x","address":"h","port":80,"uriSpec":{"parts":[{"value":" a","variable":true},{"value":"{"},{}]}}`,
		`{"name":"s","id":"x","address":"h","port":80,"payload":"<\u2028>"}`,
		`{"name":"s","id":"x","address":"fe80::1%eth0","port":80,"payload":[1e400, {"a":"\ud800"}]}`,
		`null`, `[]`, ``, `{`, "\x00\xff",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeCuratorInstance(data)
		if err != nil {
			require.ErrorIs(t, err, errInvalidCurator)
			return
		}
		require.NotEmpty(t, s.Name)
		require.Len(t, s.Nodes, 1)
		n := s.Nodes[0]
		require.NotEmpty(t, n.Id)
		require.Contains(t, []string{CuratorOriginCurator, CuratorOriginGoMicro}, n.Metadata[MetaCuratorOrigin])
		require.False(t, strings.HasPrefix(n.Address, ":"), "an address has a host: %q", n.Address)
		b, err := encodeCuratorInstance(s, n, curatorEncoding{})
		require.NoError(t, err, "a decoded instance must encode again")
		again, err := decodeCuratorInstance(b)
		require.NoError(t, err)
		require.Equal(t, s, again, "re-encoded as %s", b)
	})
}

// The Curator mapping shares the engine's rule for path segments, with '%'
// as itself: every name ZooKeeper accepts as a segment is accepted.
func TestCuratorSegmentsAreZooKeepers(t *testing.T) {
	for _, s := range []string{"greeter", "100%", "%2F", "ünï", "a b", "...", ".x", "\ue000", "\uffff", "\x7f", "\u0085"} {
		want := zktest.ValidSegment(s) == nil
		assert.Equal(t, want, checkCuratorSegment("name", s) == nil, "%q", s)
	}
}
