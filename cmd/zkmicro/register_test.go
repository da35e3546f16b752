package main

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/zktest"
)

// validFlags is a register command line with every default, as urfave/cli
// hands it over.
func validFlags() registerFlags {
	return registerFlags{
		name:             "greeter",
		address:          "10.0.0.7:4100",
		version:          defaultVersion,
		checkInterval:    defaultCheckInterval,
		checkFailures:    defaultCheckFailures,
		registerInterval: defaultRegisterInterval,
	}
}

func TestRegisterFlagsDefaults(t *testing.T) {
	cfg, err := validFlags().validate()
	require.NoError(t, err)

	assert.Equal(t, "greeter", cfg.name)
	assert.Equal(t, "latest", cfg.version)
	assert.Equal(t, "10.0.0.7:4100", cfg.address)
	assert.Empty(t, cfg.metadata)
	assert.Nil(t, cfg.check)
	assert.Equal(t, 5*time.Second, cfg.checkInterval)
	assert.Equal(t, 3, cfg.checkFailures)
	assert.Equal(t, 30*time.Second, cfg.registerInterval)
	id, ok := strings.CutPrefix(cfg.id, "greeter-")
	require.True(t, ok, "id %q is NAME-<uuid>, as go-micro's server builds it", cfg.id)
	_, err = uuid.Parse(id)
	require.NoError(t, err, "id %q is NAME-<uuid>", cfg.id)

	other, err := validFlags().validate()
	require.NoError(t, err)
	assert.NotEqual(t, cfg.id, other.id, "each sidecar has its own node")
}

func TestRegisterFlagsGiven(t *testing.T) {
	f := validFlags()
	f.id = "greeter-a"
	f.version = "1.0.0"
	f.metadata = []string{"team=core", "hosts=a,b", "expr=x=y", "empty="}
	f.check = "http://127.0.0.1:4100/health"
	f.checkInterval = time.Second
	f.checkFailures = 1
	f.registerInterval = time.Minute

	cfg, err := f.validate()

	require.NoError(t, err)
	assert.Equal(t, "greeter-a", cfg.id)
	assert.Equal(t, "1.0.0", cfg.version)
	assert.Equal(t, map[string]string{"team": "core", "hosts": "a,b", "expr": "x=y", "empty": ""}, cfg.metadata)
	assert.Equal(t, "http://127.0.0.1:4100/health", cfg.check.String())
	assert.Equal(t, time.Second, cfg.checkInterval)
	assert.Equal(t, 1, cfg.checkFailures)
	assert.Equal(t, time.Minute, cfg.registerInterval)
}

func TestRegisterFlagsInvalid(t *testing.T) {
	tests := []struct {
		name    string
		change  func(f *registerFlags)
		wantErr string
	}{
		{"no name", func(f *registerFlags) { f.name = "" }, "--name is required"},
		{"blank name", func(f *registerFlags) { f.name = "  " }, "--name is required"},
		{"no address", func(f *registerFlags) { f.address = "" }, "--address is required"},
		{"address without port", func(f *registerFlags) { f.address = "10.0.0.7" }, `--address "10.0.0.7": want HOST:PORT`},
		{"address port zero", func(f *registerFlags) { f.address = "10.0.0.7:0" }, `--address "10.0.0.7:0": port "0": want a number from 1 to 65535`},
		{"address port name", func(f *registerFlags) { f.address = "10.0.0.7:http" }, `port "http": want a number`},
		{"address port too big", func(f *registerFlags) { f.address = "10.0.0.7:65536" }, `port "65536": want a number`},
		{"empty version", func(f *registerFlags) { f.version = "" }, "--version is empty"},
		{"metadata without =", func(f *registerFlags) { f.metadata = []string{"team"} }, `--metadata "team": want KEY=VALUE`},
		{"metadata without key", func(f *registerFlags) { f.metadata = []string{"=core"} }, `--metadata "=core": want KEY=VALUE`},
		{"metadata key twice", func(f *registerFlags) { f.metadata = []string{"team=a", "team=b"} }, `--metadata "team=b": key "team" given twice`},
		{"check scheme", func(f *registerFlags) { f.check = "ftp://10.0.0.7:21" }, `--check "ftp://10.0.0.7:21": want tcp://HOST:PORT, http://URL or https://URL`},
		{"check tcp without port", func(f *registerFlags) { f.check = "tcp://10.0.0.7" }, `--check "tcp://10.0.0.7": want HOST:PORT`},
		{"check CA without a check", func(f *registerFlags) { f.checkCA = "ca.pem" }, "--check_ca: only for an https:// --check"},
		{"check CA of an http check", func(f *registerFlags) {
			f.check, f.checkCA = "http://127.0.0.1:8080/health", "ca.pem"
		}, "--check_ca: only for an https:// --check"},
		{"check CA that is not there", func(f *registerFlags) {
			f.check, f.checkCA = "https://127.0.0.1:8443/health", filepath.Join(t.TempDir(), "ca.pem")
		}, "--check_ca: open "},
		{"check CA without a certificate", func(f *registerFlags) {
			f.check, f.checkCA = "https://127.0.0.1:8443/health", writeFile(t, "ca.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
		}, `ca.pem": no PEM certificate in it`},
		{"zero interval", func(f *registerFlags) { f.checkInterval = 0 }, "--check_interval 0s: must be > 0"},
		{"negative interval", func(f *registerFlags) { f.checkInterval = -time.Second }, "--check_interval -1s: must be > 0"},
		{"zero failures", func(f *registerFlags) { f.checkFailures = 0 }, "--check_failures 0: must be >= 1"},
		{"zero register interval", func(f *registerFlags) { f.registerInterval = 0 }, "--register_interval 0s: must be > 0"},
		{"weight abc", func(f *registerFlags) { f.weight = "abc" }, `--weight "abc": want a decimal number > 0`},
		{"weight -1", func(f *registerFlags) { f.weight = "-1" }, `--weight "-1": want a decimal number > 0`},
		{"weight 0", func(f *registerFlags) { f.weight = "0" }, `--weight "0": want a decimal number > 0`},
		{"weight twice", func(f *registerFlags) { f.weight, f.metadata = "2", []string{"weight=3"} }, "--weight and --metadata weight=...: give the weight once"},
		{"load twice", func(f *registerFlags) { f.loadFile, f.metadata = "load", []string{"load=3"} }, "--load_file and --metadata load=...: the load comes from the file"},
		{"zero load interval", func(f *registerFlags) { f.loadFile = "load" }, "--load_interval 0s: must be > 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := validFlags()
			tt.change(&f)
			_, err := f.validate()
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestAdvertiseAddress(t *testing.T) {
	for _, given := range []string{"10.0.0.7:4100", "[::1]:4100", "[fd00::7]:4100", "greeter.internal:4100", "localhost:4100"} {
		got, err := advertiseAddress(given)
		require.NoError(t, err)
		assert.Equal(t, given, got, "a host is kept")
	}
	for _, given := range []string{":4100", "0.0.0.0:4100", "[::]:4100"} {
		t.Run(given, func(t *testing.T) {
			got, err := advertiseAddress(given)
			require.NoError(t, err)
			host, port, err := net.SplitHostPort(got)
			require.NoError(t, err)
			assert.Equal(t, "4100", port)
			ip := net.ParseIP(host)
			require.NotNil(t, ip, "an IP of this machine, as go-micro's server picks: %q", got)
			assert.False(t, ip.IsUnspecified(), "%q", got)
		})
	}
}

func TestNodeServiceIsWhatGoMicroClientsExpect(t *testing.T) {
	f := validFlags()
	f.id = "greeter-1"
	f.version = "1.0.0"
	f.metadata = []string{"protocol=mucp", "registry=overridden"}
	cfg, err := f.validate()
	require.NoError(t, err)

	svc := nodeService(cfg, "zookeeper")

	require.Equal(t, &registry.Service{
		Name:    "greeter",
		Version: "1.0.0",
		Nodes: []*registry.Node{{
			Id:       "greeter-1",
			Address:  "10.0.0.7:4100",
			Metadata: map[string]string{"registry": "overridden", "registrar": "zkmicro", "protocol": "mucp"},
		}},
	}, svc)

	svc = nodeService(sidecarConfig{name: "greeter", version: "latest", id: "greeter-1", address: "10.0.0.7:4100"}, "zookeeper")
	require.Equal(t, map[string]string{"registry": "zookeeper", "registrar": "zkmicro"}, svc.Nodes[0].Metadata)

	f = validFlags()
	f.weight = "2.5"
	cfg, err = f.validate()
	require.NoError(t, err)
	assert.Equal(t, "2.5", nodeService(cfg, "zookeeper").Nodes[0].Metadata["weight"], "--weight, as given")
}

func TestReadLoadFile(t *testing.T) {
	tests := []struct {
		content string // "": no file
		want    float64
		wantErr string
	}{
		{content: "3", want: 3},
		{content: " 12.5\n", want: 12.5},
		{content: "0", want: 0},
		{wantErr: "no such file"},
		{content: "abc", wantErr: `holds "abc": want a decimal number >= 0`},
		{content: "-1", wantErr: `holds "-1": want a decimal number >= 0`},
		{content: "\n", wantErr: `holds "": want a decimal number >= 0`},
		{content: strings.Repeat("1", maxLoadFile+1), wantErr: "more than 64 bytes: not a load"},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.content), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "load")
			if tt.content != "" {
				require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o600))
			}
			got, err := readLoadFile(path)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRegisterCommandPassesEveryOption(t *testing.T) {
	ta := newTestApp(t)
	srv := startTCPServer(t, "127.0.0.1:0")

	r := ta.start(t, "register",
		"--name", "greeter", "--address", "10.0.0.7:4100", "--version", "1.0.0", "--id", "greeter-1",
		"--metadata", "hosts=a,b", "--metadata", "team=core",
		"--check", "tcp://"+srv.addr(), "--check_interval", "1h", "--check_failures", "2", "--register_interval", "1h")
	waitForNodes(t, ta.reg, "greeter", "greeter-1")

	svcs, err := ta.reg.GetService("greeter")
	require.NoError(t, err)
	require.Len(t, svcs, 1)
	assert.Equal(t, "1.0.0", svcs[0].Version)
	require.Len(t, svcs[0].Nodes, 1)
	assert.Equal(t, "10.0.0.7:4100", svcs[0].Nodes[0].Address)
	assert.Equal(t, map[string]string{"registry": "memory", "registrar": "zkmicro", "hosts": "a,b", "team": "core"},
		svcs[0].Nodes[0].Metadata, "a --metadata value keeps its commas")
	require.Equal(t, exitOK, r.stop(t), "stderr:\n%s", ta.stderr.String())
	require.Equal(t, []string{
		"2026-11-27T10:00:00.000Z zkmicro: greeter-1 healthy: registered",
		"2026-11-27T10:00:00.000Z zkmicro: greeter-1 stopped: deregistered",
	}, ta.stderr.Lines())
	require.Empty(t, ta.stdout.String())
}

func TestRegisterCheckTimeoutIsTheIntervalUpToFiveSeconds(t *testing.T) {
	ta := newTestApp(t)
	for interval, want := range map[time.Duration]time.Duration{
		time.Second:           time.Second,
		5 * time.Second:       5 * time.Second,
		time.Minute:           5 * time.Second,
		10 * time.Millisecond: 10 * time.Millisecond,
	} {
		t.Run(strconv.Itoa(int(interval.Milliseconds()))+"ms", func(t *testing.T) {
			f := validFlags()
			f.checkInterval = interval
			cfg, err := f.validate()
			require.NoError(t, err)
			s := ta.app.newSidecar(cfg, ta.reg, time.Second)
			assert.Equal(t, want, s.checkTimeout)
		})
	}
}

// writeFile writes content to a file named name in a new temporary
// directory, and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestRegisterChecksHTTPSWithThePrivateCAOfCheckCA(t *testing.T) {
	pki := zktest.NewPKI(t, "health") // a server certificate for 127.0.0.1, from a private CA
	cert, err := tls.LoadX509KeyPair(pki.ServerFile, pki.ServerKeyFile)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	args := []string{"register", "--name", "greeter", "--id", "greeter-1", "--address", "10.0.0.7:4100",
		// The first check loads the system's roots: slow on a busy machine.
		"--check", srv.URL + "/health", "--check_interval", "5s"}

	for name, extra := range map[string][]string{
		"the system's roots": nil,
		"another CA":         {"--check_ca", zktest.NewPKI(t, "other").CAFile},
	} {
		ta := newTestApp(t)
		r := ta.start(t, append(args, extra...)...)
		waitFor(t, "the first check", func() bool { return len(ta.stderr.Lines()) > 0 })
		require.Equal(t, exitOK, r.stop(t))
		assert.Contains(t, ta.stderr.Lines()[0], "certificate signed by unknown authority): not registered",
			"%s do not trust the server", name)
	}

	ta := newTestApp(t)
	r := ta.start(t, append(args, "--check_ca", pki.CAFile)...)
	waitForNodes(t, ta.reg, "greeter", "greeter-1")
	require.Equal(t, exitOK, r.stop(t), "stderr:\n%s", ta.stderr.String())
}
