package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"
)

func TestUsageErrorsExitTwoWithUsageOnStderr(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // the first line of stderr
		usageOf string // the NAME line of the usage printed after it
	}{
		{name: "no command", args: nil,
			wantErr: "missing command", usageOf: "zkmicro - "},
		{name: "unknown command", args: []string{"bogus"},
			wantErr: `unknown command "bogus"`, usageOf: "zkmicro - "},
		{name: "help on an unknown command", args: []string{"help", "bogus"},
			wantErr: `no help topic for "bogus"`, usageOf: "zkmicro - "},
		{name: "unknown global option", args: []string{"--bogus", "services"},
			wantErr: "flag provided but not defined: -bogus", usageOf: "zkmicro - "},
		{name: "global option after the command", args: []string{"services", "--registry_address", "zk:2181"},
			wantErr: "flag provided but not defined: -registry_address", usageOf: "zkmicro services - "},
		{name: "bad timeout", args: []string{"--registry_timeout", "soon", "services"},
			wantErr: `invalid value "soon" for flag -registry_timeout`, usageOf: "zkmicro - "},
		{name: "zero timeout", args: []string{"--registry_timeout", "0s", "services"},
			wantErr: "--registry_timeout 0s: must be > 0", usageOf: "zkmicro - "},
		{name: "bad timeout in the environment", args: []string{"services"}, env: map[string]string{"MICRO_REGISTRY_TIMEOUT": "soon"},
			wantErr: `could not parse "soon" as duration value from environment variable "MICRO_REGISTRY_TIMEOUT"`, usageOf: "zkmicro - "},
		{name: "empty address", args: []string{"--registry_address=", "services"},
			wantErr: "--registry_address is empty", usageOf: "zkmicro - "},
		{name: "empty address in the list", args: []string{"--registry_address", "zk1:2181,,zk2:2181", "get", "greeter"},
			wantErr: `--registry_address "zk1:2181,,zk2:2181": empty address in the list`, usageOf: "zkmicro - "},
		{name: "services with an argument", args: []string{"services", "greeter"},
			wantErr: `unexpected arguments ["greeter"]`, usageOf: "zkmicro services - "},
		{name: "services unknown option", args: []string{"services", "--bogus"},
			wantErr: "flag provided but not defined: -bogus", usageOf: "zkmicro services - "},
		{name: "services unknown output", args: []string{"services", "-o", "yaml"},
			wantErr: `--output "yaml": want table or json`, usageOf: "zkmicro services - "},
		{name: "get without SERVICE", args: []string{"get"},
			wantErr: "missing SERVICE", usageOf: "zkmicro get - "},
		{name: "get with two services", args: []string{"get", "a", "b"},
			wantErr: `unexpected arguments ["b"] after SERVICE`, usageOf: "zkmicro get - "},
		{name: "get with an option after SERVICE", args: []string{"get", "greeter", "-o", "json"},
			wantErr: `unexpected arguments ["-o" "json"]: options go before SERVICE`, usageOf: "zkmicro get - "},
		{name: "get unknown output", args: []string{"get", "-o", "yaml", "greeter"},
			wantErr: `--output "yaml": want table or json`, usageOf: "zkmicro get - "},
		{name: "get -o without a value", args: []string{"get", "-o"},
			wantErr: "flag needs an argument: -o", usageOf: "zkmicro get - "},
		{name: "watch with two services", args: []string{"watch", "a", "b"},
			wantErr: `unexpected arguments ["b"] after SERVICE`, usageOf: "zkmicro watch - "},
		{name: "watch -o", args: []string{"watch", "-o", "json"},
			wantErr: "flag provided but not defined: -o", usageOf: "zkmicro watch - "},
		{name: "register without name", args: []string{"register", "--address", "10.0.0.7:4100"},
			wantErr: "--name is required", usageOf: "zkmicro register - "},
		{name: "register bad interval", args: []string{"register", "--name", "greeter", "--address", "10.0.0.7:4100", "--check_interval", "often"},
			wantErr: `invalid value "often" for flag -check_interval`, usageOf: "zkmicro register - "},
		{name: "register bad address", args: []string{"register", "--name", "greeter", "--address", "10.0.0.7"},
			wantErr: `--address "10.0.0.7": want HOST:PORT`, usageOf: "zkmicro register - "},
		{name: "register bad check", args: []string{"register", "--name", "greeter", "--address", "10.0.0.7:4100", "--check", "udp://10.0.0.7:4100"},
			wantErr: `--check "udp://10.0.0.7:4100": want tcp://HOST:PORT, http://URL or https://URL`, usageOf: "zkmicro register - "},
		{name: "register argument", args: []string{"register", "--name", "greeter", "--address", "10.0.0.7:4100", "extra"},
			wantErr: `unexpected arguments ["extra"]`, usageOf: "zkmicro register - "},
		{name: "drain without NODE", args: []string{"drain", "greeter"},
			wantErr: "missing SERVICE NODE", usageOf: "zkmicro drain - "},
		{name: "undrain with three arguments", args: []string{"undrain", "greeter", "greeter-1", "x"},
			wantErr: `unexpected arguments ["x"] after SERVICE NODE`, usageOf: "zkmicro undrain - "},
		{name: "register bad weight", args: []string{"register", "--name", "greeter", "--address", "10.0.0.7:4100", "--weight", "-1"},
			wantErr: `--weight "-1": want a decimal number > 0`, usageOf: "zkmicro register - "},
		{name: "prune with an argument", args: []string{"prune", "greeter"},
			wantErr: `unexpected arguments ["greeter"]`, usageOf: "zkmicro prune - "},
		{name: "prune zero dial timeout", args: []string{"prune", "--dial_timeout", "0s"},
			wantErr: "--dial_timeout 0s: must be > 0", usageOf: "zkmicro prune - "},
		{name: "prune unknown output", args: []string{"prune", "-o", "yaml"},
			wantErr: `--output "yaml": want table or json`, usageOf: "zkmicro prune - "},
		{name: "doctor with an argument", args: []string{"doctor", "zk1:2181"},
			wantErr: `unexpected arguments ["zk1:2181"]`, usageOf: "zkmicro doctor - "},
		{name: "doctor unknown option", args: []string{"doctor", "--delete"},
			wantErr: "flag provided but not defined: -delete", usageOf: "zkmicro doctor - "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			ta := newTestApp(t)

			code := ta.run(t, tt.args...)

			stderr := ta.stderr.String()
			require.Equal(t, exitUsage, code, "stderr:\n%s", stderr)
			firstLine, rest, _ := strings.Cut(stderr, "\n")
			assert.True(t, strings.HasPrefix(firstLine, "zkmicro: "+tt.wantErr), "first line of stderr: %q", firstLine)
			assert.Contains(t, rest, "NAME:\n   "+tt.usageOf, "usage after the error")
			assert.Contains(t, rest, "USAGE:")
			assert.Empty(t, ta.stdout.String(), "stdout")
			assert.Empty(t, ta.openCalls(), "a usage error opens no registry")
		})
	}
}

func TestHelpExitsZeroWithUsageOnStdout(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"}, {"help", "get"},
		{"services", "-h"}, {"get", "--help"}, {"watch", "-h"}, {"register", "-h"},
		{"prune", "-h"}, {"doctor", "--help"}, {"help", "doctor"}, {"drain", "-h"}, {"help", "undrain"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ta := newTestApp(t)

			code := ta.run(t, args...)

			require.Equal(t, exitOK, code, "stderr:\n%s", ta.stderr.String())
			assert.Contains(t, ta.stdout.String(), "USAGE:")
			assert.Empty(t, ta.stderr.String())
			assert.Empty(t, ta.openCalls())
		})
	}
}

func TestEveryHelpStatesTheRealDefaults(t *testing.T) {
	// optionsOf is the (GLOBAL) OPTIONS section of a usage, and what
	// follows it.
	optionsOf := func(t *testing.T, args ...string) string {
		t.Helper()
		ta := newTestApp(t)
		require.Equal(t, exitOK, ta.run(t, args...), "stderr:\n%s", ta.stderr.String())
		_, options, found := strings.Cut(ta.stdout.String(), "OPTIONS:\n")
		require.True(t, found, "zkmicro %s: no OPTIONS in\n%s", strings.Join(args, " "), ta.stdout.String())
		return options
	}
	for _, cmd := range []string{"services", "get", "watch", "register", "prune", "doctor", "config"} {
		t.Run(cmd, func(t *testing.T) {
			assert.Equal(t, optionsOf(t, cmd, "--help"), optionsOf(t, "help", cmd), "help %s and %s --help", cmd, cmd)
		})
	}
	register := optionsOf(t, "help", "register")
	for _, want := range []string{`(default: "latest")`, "(default: 5s)", "(default: 3)", "(default: 30s)"} {
		assert.Contains(t, register, want)
	}
	assert.Contains(t, optionsOf(t, "help", "prune"), "(default: 1s)")
	assert.Contains(t, optionsOf(t, "help", "config"), `(default: "/micro-config")`)
	assert.Contains(t, optionsOf(t, "help"), "(default: 5s)", "--registry_timeout")
}

func TestGlobalOptionsOpenTheRegistry(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		env         map[string]string
		wantAddrs   []string
		wantTimeout time.Duration
	}{
		{name: "defaults", args: []string{"services"},
			wantAddrs: []string{"127.0.0.1:2181"}, wantTimeout: 5 * time.Second},
		{name: "flags with a chroot", args: []string{"--registry_address", "h1:2181, h2:2181/apps/prod", "--registry_timeout", "2s", "services"},
			wantAddrs: []string{"h1:2181", "h2:2181/apps/prod"}, wantTimeout: 2 * time.Second},
		{name: "environment", args: []string{"services"},
			env:       map[string]string{"MICRO_REGISTRY_ADDRESS": "zk1:2181,zk2:2181", "MICRO_REGISTRY_TIMEOUT": "1500ms"},
			wantAddrs: []string{"zk1:2181", "zk2:2181"}, wantTimeout: 1500 * time.Millisecond},
		{name: "flags win over the environment", args: []string{"--registry_address", "flag:2181", "services"},
			env:       map[string]string{"MICRO_REGISTRY_ADDRESS": "env:2181"},
			wantAddrs: []string{"flag:2181"}, wantTimeout: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			ta := newTestApp(t)

			require.Equal(t, exitOK, ta.run(t, tt.args...), "stderr:\n%s", ta.stderr.String())

			require.Equal(t, []openCall{{addrs: tt.wantAddrs, timeout: tt.wantTimeout}}, ta.openCalls())
		})
	}
}

func TestRegistryThatDoesNotOpenExitsOne(t *testing.T) {
	ta := newTestApp(t)
	ta.openErr = errors.New(`zookeeper: invalid address "h1:x"`)

	code := ta.run(t, "services")

	require.Equal(t, exitError, code)
	require.Equal(t, "zkmicro: zookeeper: invalid address \"h1:x\"\n", ta.stderr.String())
	require.Empty(t, ta.stdout.String())
}

func TestRegistryIsClosedWhenTheCommandEnds(t *testing.T) {
	stub := &stubRegistry{Registry: registry.NewMemoryRegistry()}
	ta := newTestAppOn(t, stub)

	require.Equal(t, exitOK, ta.run(t, "services"))
	require.Equal(t, 1, stub.closed)

	stub.set(func(s *stubRegistry) { s.closeErr = errors.New("session already expired") })
	require.Equal(t, exitError, ta.run(t, "services"))
	require.Equal(t, 2, stub.closed)
	require.Equal(t, "zkmicro: close registry: session already expired\n", ta.stderr.String())
}

func TestFailedCommandReportsItsOwnErrorNotCloses(t *testing.T) {
	stub := &stubRegistry{Registry: registry.NewMemoryRegistry(), closeErr: errors.New("closing")}
	stub.listErr = errors.New("zookeeper: list services: not connected")
	ta := newTestAppOn(t, stub)

	require.Equal(t, exitError, ta.run(t, "services"))

	require.Equal(t, "zkmicro: list services: zookeeper: list services: not connected\n", ta.stderr.String())
	require.Equal(t, 1, stub.closed)
}

func TestPruneAndDoctorNeedZooKeeper(t *testing.T) {
	for _, cmd := range []string{"prune", "doctor"} {
		t.Run(cmd, func(t *testing.T) {
			ta := newTestApp(t)

			require.Equal(t, exitError, ta.run(t, cmd))

			require.Equal(t, "zkmicro: "+cmd+": this command needs the ZooKeeper registry, not \"memory\"\n", ta.stderr.String())
			require.Empty(t, ta.stdout.String())
		})
	}
}
