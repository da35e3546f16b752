package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"
)

// Issue 23: services, get and watch show the nodes Java services
// registered in Apache Curator's format (read with the registry's Curator
// option), marked by their origin.
func TestJavaServicesAreMarkedByTheirOrigin(t *testing.T) {
	ta := newTestApp(t)
	registerFleet(t, ta.reg)
	javaMeta := map[string]string{"curator.origin": "curator", "zone": "a"}
	register(t, ta.reg, "billing", "", "b1", "10.0.0.7:8080", javaMeta)
	register(t, ta.reg, "greeter", "1.0.0", "g-java", "10.0.0.6:4100", javaMeta)

	require.Equal(t, exitOK, ta.run(t, "services"), "stderr:\n%s", ta.stderr.String())
	require.Equal(t, ""+
		"NAME     VERSION  NODES  ORIGIN\n"+
		"auth     -        1      go-micro\n"+
		"billing  -        1      curator\n"+
		"greeter  1.0.0    3      go-micro+curator\n"+
		"greeter  1.1.0    1      go-micro\n",
		ta.stdout.String())

	ta = newTestAppOn(t, ta.reg)
	require.Equal(t, exitOK, ta.run(t, "get", "billing"), "stderr:\n%s", ta.stderr.String())
	require.Equal(t, ""+
		"VERSION  ID  ADDRESS        ORIGIN   METADATA\n"+
		"-        b1  10.0.0.7:8080  curator  curator.origin=curator,zone=a\n",
		ta.stdout.String())

	var buf bytes.Buffer
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	res := &registry.Result{Action: "create", Service: &registry.Service{Name: "billing",
		Nodes: []*registry.Node{{Id: "b1", Address: "10.0.0.7:8080", Metadata: javaMeta}}}}
	require.NoError(t, writeWatchResult(&buf, at, res))
	require.Equal(t, "2026-12-04T10:00:00.000Z create billing - b1 10.0.0.7:8080 (curator)\n", buf.String())
}
