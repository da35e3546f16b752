package main

import (
	"errors"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
)

func TestFormatACLAsZooKeepersCLI(t *testing.T) {
	assert.Equal(t, "world:anyone:cdrwa", formatACL(zk.WorldACL(zk.PermAll)[0]))
	assert.Equal(t, "world:anyone:cr", formatACL(zk.ACL{Perms: zk.PermRead | zk.PermCreate, Scheme: "world", ID: "anyone"}))
	assert.Equal(t, "digest:ops:x=:", formatACL(zk.ACL{Scheme: "digest", ID: "ops:x="}))
}

func TestJudgeACL(t *testing.T) {
	open := zk.WorldACL(zk.PermAll)
	registryDefault := []zk.ACL{ // what the registry creates with credentials
		{Perms: zk.PermAll, Scheme: "digest", ID: "ops:hash="},
		{Perms: zk.PermRead | zk.PermCreate, Scheme: "world", ID: "anyone"},
	}
	locked := []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: "ops:hash="}, {Perms: zk.PermRead, Scheme: "world", ID: "anyone"}}
	tests := []struct {
		name          string
		acl           []zk.ACL
		authenticated bool
		verdict       string
		detail        string
	}{
		{"open, no credentials", open, false, verdictOK, "world:anyone:cdrwa: open to every client (no credentials configured)"},
		{"open, with credentials", open, true, verdictWarn, "world:anyone:cdrwa: anyone may write, delete and administer /r although this registry uses credentials"},
		{"the registry's own", registryDefault, true, verdictOK, "digest:ops:hash=:cdrwa,world:anyone:cr"},
		{"the registry's own, seen without credentials", registryDefault, false, verdictOK, "digest:ops:hash=:cdrwa,world:anyone:cr: open to every client"},
		{"locked, no credentials", locked, false, verdictWarn, "digest:ops:hash=:cdrwa,world:anyone:r: clients without credentials may not create services under /r: set MICRO_REGISTRY_ZOOKEEPER_AUTH"},
		{"locked, with credentials", locked, true, verdictOK, "digest:ops:hash=:cdrwa,world:anyone:r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verdict, detail := judgeACL("/r", tt.acl, tt.authenticated)
			assert.Equal(t, tt.verdict, verdict)
			assert.Contains(t, detail, tt.detail)
		})
	}
}

func TestEnsembleChecks(t *testing.T) {
	server := func(addr, mode string) serverFacts {
		return serverFacts{Address: addr, Reachable: mode != "", Mode: mode, Serving: mode != "", answered: mode != ""}
	}
	notServing := func(addr string) serverFacts { return serverFacts{Address: addr, Reachable: true, answered: true} }
	tests := []struct {
		name    string
		servers []serverFacts
		verdict string
		detail  string
	}{
		{"standalone", []serverFacts{server("a:2181", "standalone")}, verdictOK, "one standalone server"},
		{"one member listed", []serverFacts{server("a:2181", "follower")}, verdictWarn, "one member of an ensemble listed"},
		{"healthy", []serverFacts{server("a:2181", "follower"), server("b:2181", "leader"), server("c:2181", "follower")},
			verdictOK, "3 of 3 servers serving, leader b:2181"},
		{"one down", []serverFacts{server("a:2181", "follower"), server("b:2181", "leader"), server("c:2181", "")},
			verdictWarn, "2 of 3 servers serving, leader b:2181: the quorum holds"},
		{"no quorum", []serverFacts{server("a:2181", "leader"), server("b:2181", ""), notServing("c:2181")},
			verdictFail, "1 of 3 servers serving: no quorum"},
		{"an election", []serverFacts{notServing("a:2181"), notServing("b:2181"), server("c:2181", "")},
			verdictFail, "0 of 3 servers serving: no quorum (or an election under way)"},
		{"no leader", []serverFacts{server("a:2181", "follower"), server("b:2181", "follower"), server("c:2181", "follower")},
			verdictFail, "no leader among 3 servers"},
		{"two leaders", []serverFacts{server("a:2181", "leader"), server("b:2181", "leader"), server("c:2181", "follower")},
			verdictFail, "2 leaders (a:2181, b:2181)"},
		{"standalone among others", []serverFacts{server("a:2181", "standalone"), server("b:2181", "leader")},
			verdictFail, "a:2181 is standalone"},
		{"nothing known", []serverFacts{server("a:2181", ""), server("b:2181", "")}, verdictFail, "no server answered srvr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := ensembleChecks(tt.servers)
			assert.Len(t, checks, 1)
			assert.Equal(t, checkEnsemble, checks[0].Check)
			assert.Equal(t, tt.verdict, checks[0].Verdict)
			assert.Contains(t, checks[0].Detail, tt.detail)
		})
	}
}

func TestPermVerbs(t *testing.T) {
	assert.Equal(t, "write", permVerbs(zk.PermWrite))
	assert.Equal(t, "write and delete", permVerbs(zk.PermWrite|zk.PermDelete))
	assert.Equal(t, "create, read, write, delete and administer", permVerbs(zk.PermAll))
}

func TestWorse(t *testing.T) {
	assert.Equal(t, verdictWarn, worse(verdictOK, verdictWarn))
	assert.Equal(t, verdictFail, worse(verdictFail, verdictWarn))
	assert.Equal(t, verdictOK, worse(verdictOK, verdictOK))
}

func TestJudgeSrvr(t *testing.T) {
	tests := []struct {
		name   string
		answer srvrAnswer
		err    error
		want   []string // check verdict: detail
		facts  serverFacts
	}{
		{name: "3.8 follower", answer: srvrAnswer{version: "3.8.0", mode: "follower", serving: true},
			want:  []string{"version ok: 3.8.0: container znodes supported", "mode ok: follower"},
			facts: serverFacts{Version: "3.8.0", Mode: "follower", Serving: true, ContainerZnodes: true, answered: true}},
		{name: "3.5", answer: srvrAnswer{version: "3.5.9", mode: "standalone", serving: true},
			want:  []string{"version warn: 3.5.9: no container znodes (ZooKeeper 3.6 or later): empty service directories stay until deleted by hand", "mode ok: standalone"},
			facts: serverFacts{Version: "3.5.9", Mode: "standalone", Serving: true, answered: true}},
		{name: "not allowed", answer: srvrAnswer{serving: true, refusal: "srvr is not executed because it is not in the whitelist."},
			want: []string{"version warn: unknown: srvr is not executed because it is not in the whitelist. (allow srvr in 4lw.commands.whitelist to check versions and modes)"}},
		{name: "no quorum", answer: srvrAnswer{serving: false},
			want:  []string{"mode fail: not serving requests: the server is not part of a quorum"},
			facts: serverFacts{answered: true}},
		{name: "no answer", err: errors.New("no answer to srvr: i/o timeout"),
			want: []string{"version fail: no answer to srvr: i/o timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var facts serverFacts
			var got []string
			for _, c := range judgeSrvr(&facts, tt.answer, tt.err) {
				got = append(got, c.Check+" "+c.Verdict+": "+c.Detail)
			}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.facts, facts)
		})
	}
}

func TestJudgeSession(t *testing.T) {
	var facts serverFacts
	c := judgeSession(&facts, 10*time.Second, 10*time.Second, nil)
	assert.Equal(t, doctorCheck{Check: checkSession, Verdict: verdictOK, Detail: "timeout 10s granted, as asked"}, c)
	assert.Equal(t, "10s", facts.SessionTimeout)

	c = judgeSession(&facts, 4*time.Second, 10*time.Second, nil)
	assert.Equal(t, verdictWarn, c.Verdict)
	assert.Equal(t, "4s", facts.SessionTimeout)

	facts = serverFacts{}
	c = judgeSession(&facts, 0, 10*time.Second, errors.New("zookeeper: no session with zk:2181"))
	assert.Equal(t, doctorCheck{Check: checkSession, Verdict: verdictFail, Detail: "zookeeper: no session with zk:2181"}, c)
	assert.Empty(t, facts.SessionTimeout)
}
