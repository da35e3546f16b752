package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkmicro/zookeeper/internal/engine"
	"github.com/zkmicro/zookeeper/internal/zktest"
)

// doctorLines is doctor's table as "SERVER CHECK VERDICT" triples, one per
// line below the header, and the detail of each by server and check.
func doctorLines(t *testing.T, stdout string) (verdicts []string, details map[string]string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	require.Regexp(t, `^SERVER +CHECK +VERDICT +DETAIL$`, lines[0])
	details = make(map[string]string)
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		require.GreaterOrEqual(t, len(f), 4, "line %q", l)
		verdicts = append(verdicts, strings.Join(f[:3], " "))
		details[f[0]+" "+f[1]] = strings.Join(f[3:], " ")
	}
	return verdicts, details
}

// decodeDoctor decodes `doctor -o json`.
func decodeDoctor(t *testing.T, stdout string) doctorReport {
	t.Helper()
	var report doctorReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &report), stdout)
	return report
}

func TestBinaryDoctorOfAHealthyStandaloneServer(t *testing.T) {
	t.Parallel()
	srv := zktest.Start(t)
	a := srv.Addr

	r := runBinary(t, nil, zkArgs(a, "doctor")...)

	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	require.Empty(t, r.stderr)
	verdicts, details := doctorLines(t, r.stdout)
	require.Equal(t, []string{
		a + " reachable ok",
		a + " version ok",
		a + " mode ok",
		a + " session ok",
		"- ensemble ok",
		"- prefix ok",
		"- credentials ok",
	}, verdicts, r.stdout)
	assert.Equal(t, "3.8.0: container znodes supported", details[a+" version"])
	assert.Equal(t, "standalone", details[a+" mode"])
	assert.Equal(t, "timeout 10s granted, as asked", details[a+" session"])
	assert.Equal(t, "/micro-registry does not exist yet: the first registration creates it", details["- prefix"])

	// Registered services, and a session timeout the server clamps.
	reg := newZKRegistry(t, a)
	registerFleet(t, reg)
	r = runBinary(t, []string{engine.EnvSessionTimeout + "=100ms"}, zkArgs(a, "doctor", "-o", "json")...)
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	report := decodeDoctor(t, r.stdout)
	assert.Equal(t, verdictWarn, report.Verdict)
	require.Len(t, report.Servers, 1)
	assert.Equal(t, serverFacts{
		Address: a, Reachable: true, Version: "3.8.0", Mode: "standalone", Serving: true,
		ContainerZnodes: true, SessionTimeout: (2 * zktest.TickTime).String(),
	}, report.Servers[0])
	assert.Equal(t, prefixFacts{Path: "/micro-registry", Exists: true, Services: 2, ACL: []string{"world:anyone:cdrwa"}}, report.Prefix)
	checks := map[string]doctorCheck{}
	for _, c := range report.Checks {
		checks[c.Server+" "+c.Check] = c
	}
	assert.Equal(t, doctorCheck{Server: a, Check: checkSession, Verdict: verdictWarn,
		Detail: "timeout 400ms granted, 100ms asked: the server clamps it to its minSessionTimeout..maxSessionTimeout; nodes of a crashed process stay 400ms"},
		checks[a+" session"])
	assert.Equal(t, doctorCheck{Check: checkACL, Verdict: verdictOK, Detail: "world:anyone:cdrwa: open to every client (no credentials configured)"}, checks[" acl"])
	assert.Equal(t, doctorCheck{Check: checkPrefix, Verdict: verdictOK, Detail: "/micro-registry exists, 2 services"}, checks[" prefix"])

	// Credentials over plaintext, on a prefix anyone may change.
	r = runBinary(t, []string{engine.EnvAuth + "=digest:ops:secret"}, zkArgs(a, "doctor")...)
	require.Equal(t, exitOK, r.code, "warnings only; stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	verdicts, details = doctorLines(t, r.stdout)
	assert.Contains(t, verdicts, "- acl warn")
	assert.Contains(t, details["- acl"], "anyone may write, delete and administer /micro-registry although this registry uses credentials")
	assert.Contains(t, verdicts, "- credentials warn")
	assert.Contains(t, details["- credentials"], "sent in clear text")
	assert.NotContains(t, r.stdout+r.stderr, "secret")
}

func TestBinaryDoctorOfAnEnsembleThenOfOneMemberKilled(t *testing.T) {
	t.Parallel()
	ens := zktest.StartEnsemble(t, 3)
	addrs := ens.Addrs()
	leader, err := ens.WaitLeader(zkTimeout)
	require.NoError(t, err)

	r := runBinary(t, nil, append(registryArgs(addrs...), "doctor")...)

	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	verdicts, details := doctorLines(t, r.stdout)
	modes := map[string]int{}
	for _, a := range addrs {
		for _, check := range []string{"reachable", "version", "mode", "session"} {
			assert.Contains(t, verdicts, a+" "+check+" ok")
		}
		modes[details[a+" mode"]]++
	}
	assert.Equal(t, map[string]int{"leader": 1, "follower": 2}, modes)
	assert.Equal(t, "leader", details[leader.Addr+" mode"])
	assert.Equal(t, "3 of 3 servers serving, leader "+leader.Addr, details["- ensemble"])

	// A member killed: its line FAILs, the quorum holds.
	var victim *zktest.Server
	for _, s := range ens.Servers {
		if s != leader {
			victim = s
			break
		}
	}
	victim.Kill()
	r = runBinary(t, nil, append(registryArgs(addrs...), "doctor", "-o", "json")...)

	require.Equal(t, exitError, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	require.Equal(t, "zkmicro: doctor: 1 of 12 checks failed: "+victim.Addr+" reachable\n", r.stderr)
	report := decodeDoctor(t, r.stdout)
	assert.Equal(t, verdictFail, report.Verdict)
	for _, c := range report.Checks {
		switch {
		case c.Server == victim.Addr:
			assert.Equal(t, doctorCheck{Server: victim.Addr, Check: checkReachable, Verdict: verdictFail,
				Detail: "dial tcp " + victim.Addr + ": connect: connection refused"}, c)
		case c.Check == checkEnsemble:
			assert.Equal(t, verdictWarn, c.Verdict)
			assert.Equal(t, "2 of 3 servers serving, leader "+leader.Addr+": the quorum holds, with less margin", c.Detail)
		default:
			assert.Equal(t, verdictOK, c.Verdict, "%+v", c)
		}
	}
}

func TestBinaryDoctorOverTLS(t *testing.T) {
	t.Parallel()
	_, secureAddr, pki := zktest.StartTLS(t)
	env := []string{
		engine.EnvTLSCA + "=" + pki.CAFile,
		engine.EnvTLSCert + "=" + pki.ClientCertFile,
		engine.EnvTLSKey + "=" + pki.ClientKeyFile,
	}

	r := runBinary(t, env, zkArgs(secureAddr, "doctor", "-o", "json")...)

	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	report := decodeDoctor(t, r.stdout)
	require.Len(t, report.Servers, 1)
	s := report.Servers[0]
	assert.Equal(t, "standalone", s.Mode)
	assert.Equal(t, "10s", s.SessionTimeout)
	require.NotNil(t, s.TLS)
	assert.Equal(t, "CN=zookeeper", s.TLS.Subject)
	assert.Equal(t, "CN=zookeeper test CA", s.TLS.Issuer)
	assert.Contains(t, []string{"TLS 1.2", "TLS 1.3"}, s.TLS.Version)
	var tlsCheck doctorCheck
	for _, c := range report.Checks {
		if c.Check == checkTLS {
			tlsCheck = c
		}
	}
	assert.Equal(t, verdictWarn, tlsCheck.Verdict, "the test certificate expires within a day")
	assert.Regexp(t, `^TLS 1\.[23], certificate CN=zookeeper issued by CN=zookeeper test CA, expires \S+ \(in \S+\): renew it$`, tlsCheck.Detail)

	// A CA that did not sign the server's certificate.
	other := zktest.NewPKI(t, "other")
	env[0] = engine.EnvTLSCA + "=" + other.CAFile
	r = runBinary(t, env, zkArgs(secureAddr, "doctor")...)
	require.Equal(t, exitError, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	verdicts, details := doctorLines(t, r.stdout)
	assert.Contains(t, verdicts, secureAddr+" tls FAIL")
	assert.Contains(t, details[secureAddr+" tls"], "certificate signed by unknown authority")
}
