package zkresolver

import (
	"fmt"
	"net/url"

	"google.golang.org/grpc/resolver"
)

// VersionParam is the target's query parameter that restricts it to one
// version of the service: zookeeper:///greeter?version=1.2.0.
const VersionParam = "version"

// target is what a dial target names: a service, and optionally one of
// its versions.
type target struct {
	service string
	version string // "": every version
}

// parseTarget reads t, of the form zookeeper:///SERVICE or
// zookeeper:///SERVICE?version=VERSION, and refuses anything else: a host
// (the registry given to NewBuilder says which ZooKeeper to ask), no
// service, a fragment, or a query parameter other than one non-empty
// version.
func parseTarget(t resolver.Target) (target, error) {
	u := t.URL
	bad := func(format string, args ...any) (target, error) {
		return target{}, fmt.Errorf("zookeeper: target %q: %s (want %s:///SERVICE or %s:///SERVICE?%s=VERSION)",
			u.String(), fmt.Sprintf(format, args...), Scheme, Scheme, VersionParam)
	}
	if u.Host != "" || u.User != nil {
		return bad("names a host, %q: the registry given to NewBuilder says which ZooKeeper to ask", u.Host)
	}
	if u.Fragment != "" {
		return bad("has a fragment, %q", u.Fragment)
	}
	out := target{service: t.Endpoint()}
	if out.service == "" {
		return bad("names no service")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("query: %v", err)
	}
	for k, vs := range q {
		switch {
		case k != VersionParam:
			return bad("unknown parameter %q", k)
		case len(vs) != 1:
			return bad("%d %s parameters, want one", len(vs), VersionParam)
		case vs[0] == "":
			return bad("empty %s", VersionParam)
		}
		out.version = vs[0]
	}
	return out, nil
}
