package zkresolver

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/resolver"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		target  string
		want    target
		refused string // in the error; "" if accepted
	}{
		{target: "zookeeper:///greeter", want: target{service: "greeter"}},
		{target: "zookeeper:///go.micro.srv.greeter", want: target{service: "go.micro.srv.greeter"}},
		{target: "zookeeper:greeter", want: target{service: "greeter"}},
		{target: "zookeeper:///greeter?version=1.2.0", want: target{service: "greeter", version: "1.2.0"}},
		{target: "zookeeper:///a%2Fb?version=v%201", want: target{service: "a/b", version: "v 1"}},
		{target: "zookeeper:///", refused: "names no service"},
		{target: "zookeeper://zk1:2181/greeter", refused: `names a host, "zk1:2181"`},
		{target: "zookeeper://user@/greeter", refused: "names a host"},
		{target: "zookeeper:///greeter#x", refused: `has a fragment, "x"`},
		{target: "zookeeper:///greeter?version=", refused: "empty version"},
		{target: "zookeeper:///greeter?version=1&version=2", refused: "2 version parameters, want one"},
		{target: "zookeeper:///greeter?zone=eu", refused: `unknown parameter "zone"`},
		{target: "zookeeper:///greeter?version=1;2", refused: "query: "},
	} {
		t.Run(tc.target, func(t *testing.T) {
			u, err := url.Parse(tc.target)
			require.NoError(t, err)
			got, err := parseTarget(resolver.Target{URL: *u})
			if tc.refused == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.refused)
			assert.True(t, strings.HasPrefix(err.Error(), "zookeeper: target "), err.Error())
			assert.Contains(t, err.Error(), "(want zookeeper:///SERVICE or zookeeper:///SERVICE?version=VERSION)")
		})
	}
}
