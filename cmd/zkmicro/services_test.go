package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"
)

// registerFleet registers three versions of two services in reg.
func registerFleet(t *testing.T, reg registry.Registry) {
	t.Helper()
	register(t, reg, "greeter", "1.1.0", "greeter-3", "10.0.0.9:4100", nil)
	register(t, reg, "greeter", "1.0.0", "greeter-2", "10.0.0.8:4100", map[string]string{"registry": "zookeeper", "protocol": "mucp"})
	register(t, reg, "greeter", "1.0.0", "greeter-1", "10.0.0.7:4100", map[string]string{"host": "a"})
	register(t, reg, "auth", "", "auth-1", "10.0.0.5:4200", nil)
}

func TestServicesPrintsASortedTable(t *testing.T) {
	ta := newTestApp(t)
	registerFleet(t, ta.reg)

	require.Equal(t, exitOK, ta.run(t, "services"), "stderr:\n%s", ta.stderr.String())

	require.Equal(t, ""+
		"NAME     VERSION  NODES\n"+
		"auth     -        1\n"+
		"greeter  1.0.0    2\n"+
		"greeter  1.1.0    1\n",
		ta.stdout.String())
	require.Empty(t, ta.stderr.String())
}

func TestServicesJSONIsAListOfNameVersionNodeCount(t *testing.T) {
	ta := newTestApp(t)
	registerFleet(t, ta.reg)

	require.Equal(t, exitOK, ta.run(t, "services", "-o", "json"), "stderr:\n%s", ta.stderr.String())

	require.JSONEq(t, `[
		{"name": "auth", "version": "", "node_count": 1, "origin": "go-micro"},
		{"name": "greeter", "version": "1.0.0", "node_count": 2, "origin": "go-micro"},
		{"name": "greeter", "version": "1.1.0", "node_count": 1, "origin": "go-micro"}
	]`, ta.stdout.String())
	var decoded []serviceSummary
	require.NoError(t, json.Unmarshal([]byte(ta.stdout.String()), &decoded))
	require.Equal(t, []serviceSummary{
		{Name: "auth", NodeCount: 1, Origin: "go-micro"},
		{Name: "greeter", Version: "1.0.0", NodeCount: 2, Origin: "go-micro"},
		{Name: "greeter", Version: "1.1.0", NodeCount: 1, Origin: "go-micro"},
	}, decoded, "the same order as the table")
}

func TestServicesOfAnEmptyRegistry(t *testing.T) {
	ta := newTestApp(t)
	require.Equal(t, exitOK, ta.run(t, "services"))
	require.Equal(t, "NAME  VERSION  NODES\n", ta.stdout.String())

	ta = newTestApp(t)
	require.Equal(t, exitOK, ta.run(t, "services", "--output=json"))
	require.Equal(t, "[]\n", ta.stdout.String())
}

func TestSummarizeServicesMergesRepeatedVersionsAndNodes(t *testing.T) {
	node := func(id string) *registry.Node { return &registry.Node{Id: id} }
	java := &registry.Node{Id: "j-1", Metadata: map[string]string{"curator.origin": "curator"}}
	got := summarizeServices([]*registry.Service{
		{Name: "b", Version: "2", Nodes: []*registry.Node{node("b-1")}},
		nil,
		{Name: "a", Version: "1", Nodes: []*registry.Node{node("a-1"), nil, node("a-2")}},
		{Name: "b", Version: "2", Nodes: []*registry.Node{node("b-1"), node("b-2"), java}},
		{Name: "b", Version: "10"},
		{Name: "j", Nodes: []*registry.Node{java}},
	})
	require.Equal(t, []serviceSummary{
		{Name: "a", Version: "1", NodeCount: 2, Origin: "go-micro"},
		{Name: "b", Version: "10", NodeCount: 0, Origin: "go-micro"},
		{Name: "b", Version: "2", NodeCount: 3, Origin: "go-micro+curator"},
		{Name: "j", NodeCount: 1, Origin: "curator"},
	}, got)
	require.NotNil(t, summarizeServices(nil), "encodes as [], not null")
}

func TestGetPrintsNodesSortedByVersionThenID(t *testing.T) {
	ta := newTestApp(t)
	registerFleet(t, ta.reg)

	require.Equal(t, exitOK, ta.run(t, "get", "greeter"), "stderr:\n%s", ta.stderr.String())

	require.Equal(t, ""+
		"VERSION  ID         ADDRESS        METADATA\n"+
		"1.0.0    greeter-1  10.0.0.7:4100  host=a\n"+
		"1.0.0    greeter-2  10.0.0.8:4100  protocol=mucp,registry=zookeeper\n"+
		"1.1.0    greeter-3  10.0.0.9:4100  -\n",
		ta.stdout.String())
}

func TestGetJSONIsWhatGetServiceReturns(t *testing.T) {
	ta := newTestApp(t)
	registerFleet(t, ta.reg)

	require.Equal(t, exitOK, ta.run(t, "get", "-o", "json", "greeter"), "stderr:\n%s", ta.stderr.String())

	var got []*registry.Service
	require.NoError(t, json.Unmarshal([]byte(ta.stdout.String()), &got))
	want, err := ta.reg.GetService("greeter")
	require.NoError(t, err)
	require.Equal(t, sortServices(want), got)
	require.Len(t, got, 2)
	assert.Equal(t, "1.0.0", got[0].Version)
	assert.Equal(t, []string{"greeter-1", "greeter-2"}, []string{got[0].Nodes[0].Id, got[0].Nodes[1].Id})
	assert.Equal(t, "1.1.0", got[1].Version)
	assert.JSONEq(t, `{"name": "greeter", "version": "1.1.0", "metadata": {}, "endpoints": [],
		"nodes": [{"id": "greeter-3", "address": "10.0.0.9:4100", "metadata": {}}]}`,
		string(mustMarshal(t, got[1])), "go-micro's own JSON field names")
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestGetOfAMissingServiceExitsOne(t *testing.T) {
	ta := newTestApp(t)

	require.Equal(t, exitError, ta.run(t, "get", "nope"))

	require.Equal(t, "zkmicro: get \"nope\": service not found\n", ta.stderr.String())
	require.Empty(t, ta.stdout.String())
}

func TestTableEscapesTabsAndNewlines(t *testing.T) {
	ta := newTestApp(t)
	register(t, ta.reg, "greeter", "1.0.0", "greeter-1", "10.0.0.7:4100", map[string]string{"note": "a\tb\nc"})

	require.Equal(t, exitOK, ta.run(t, "get", "greeter"))

	require.Equal(t, ""+
		"VERSION  ID         ADDRESS        METADATA\n"+
		`1.0.0    greeter-1  10.0.0.7:4100  note=a\tb\nc`+"\n",
		ta.stdout.String())
}

func TestSortServicesLeavesItsInputAlone(t *testing.T) {
	n1, n2 := &registry.Node{Id: "n1"}, &registry.Node{Id: "n2"}
	in := []*registry.Service{
		{Name: "s", Version: "2", Nodes: []*registry.Node{n2, nil, n1}},
		nil,
		{Name: "s", Version: "1"},
	}

	got := sortServices(in)

	require.Len(t, got, 2)
	assert.Equal(t, "1", got[0].Version)
	assert.Nil(t, got[0].Nodes, "nil nodes stay nil")
	assert.Equal(t, []*registry.Node{n1, n2}, got[1].Nodes)
	assert.Equal(t, []*registry.Node{n2, nil, n1}, in[0].Nodes, "input not reordered")
	assert.Equal(t, "2", in[0].Version)
	assert.NotNil(t, sortServices(nil))
}
