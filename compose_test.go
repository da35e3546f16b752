package zookeeper

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// docker-compose.yml cannot be run here (no Docker engine), so these tests
// check what `docker compose up` relies on: that the three ZooKeeper
// services agree on who is who (ZOO_MY_ID, ZOO_SERVERS, hostnames), publish
// distinct host ports for their client ports, have health checks ZooKeeper
// answers, and that the demo programs are built from the repository and
// pointed at exactly that ensemble.

const composePath = "docker-compose.yml"

// composeFile is the part of a compose file the demo relies on.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string                       `yaml:"image"`
	Hostname    string                       `yaml:"hostname"`
	Build       *composeBuild                `yaml:"build"`
	Command     []string                     `yaml:"command"`
	Ports       []string                     `yaml:"ports"`
	Environment map[string]string            `yaml:"environment"`
	Healthcheck *composeHealthcheck          `yaml:"healthcheck"`
	DependsOn   map[string]composeDependency `yaml:"depends_on"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

type composeHealthcheck struct {
	Test []string `yaml:"test"`
}

type composeDependency struct {
	Condition string `yaml:"condition"`
}

// zooServer is one ZOO_SERVERS entry:
// server.<id>=<host>:<quorum port>:<election port>[:<role>];[<address>:]<client port>.
type zooServer struct {
	id, host                             string
	quorumPort, electionPort, clientPort int
}

var (
	zkServiceName  = regexp.MustCompile(`^zk[0-9]+$`)
	zkImage        = regexp.MustCompile(`^zookeeper:3\.9\.[0-9]+$`)
	zooServerEntry = regexp.MustCompile(`^server\.([0-9]+)=([^:;]+):([0-9]+):([0-9]+)(?::(?:participant|observer))?;(?:[^;]*:)?([0-9]+)$`)
	fourLetterWord = regexp.MustCompile(`\b(srvr|ruok|stat|mntr|conf|isro)\b`)
)

// demoServices are the hello programs docker-compose.yml must run, and the
// package each one's binary is built from.
var demoServices = map[string]string{
	"hello-server-a": "./example/hello/server",
	"hello-server-b": "./example/hello/server",
	"hello-client":   "./example/hello/client",
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	data, err := os.ReadFile(composePath)
	require.NoError(t, err)
	var f composeFile
	require.NoError(t, yaml.Unmarshal(data, &f), "%s does not parse", composePath)
	return f
}

// parseZooServers parses a ZOO_SERVERS value.
func parseZooServers(v string) ([]zooServer, error) {
	var servers []zooServer
	for _, e := range strings.Fields(v) {
		m := zooServerEntry.FindStringSubmatch(e)
		if m == nil {
			return nil, fmt.Errorf("entry %q is not server.<id>=<host>:<quorum port>:<election port>;<client port>", e)
		}
		s := zooServer{id: m[1], host: m[2]}
		s.quorumPort, _ = strconv.Atoi(m[3])
		s.electionPort, _ = strconv.Atoi(m[4])
		s.clientPort, _ = strconv.Atoi(m[5])
		servers = append(servers, s)
	}
	if len(servers) == 0 {
		return nil, fmt.Errorf("no entries")
	}
	return servers, nil
}

// parsePort parses a short-syntax port mapping, [ip:]host:container.
func parsePort(p string) (hostPort, containerPort int, err error) {
	parts := strings.Split(p, ":")
	if len(parts) < 2 {
		return 0, 0, fmt.Errorf("port %q does not publish a host port", p)
	}
	if hostPort, err = strconv.Atoi(parts[len(parts)-2]); err == nil {
		containerPort, err = strconv.Atoi(parts[len(parts)-1])
	}
	if err != nil {
		return 0, 0, fmt.Errorf("port %q is not [ip:]host:container: %w", p, err)
	}
	return hostPort, containerPort, nil
}

// composeProblems returns what is inconsistent in f; root is the directory
// that build contexts are relative to.
func composeProblems(f composeFile, root string) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	var zks []string
	for name := range f.Services {
		if zkServiceName.MatchString(name) {
			zks = append(zks, name)
		}
	}
	sort.Strings(zks)
	if !slices.Equal(zks, []string{"zk1", "zk2", "zk3"}) {
		bad("ZooKeeper services are %v, want [zk1 zk2 zk3]", zks)
	}

	// Each server: who it is, and where its client port goes.
	byID := map[string]string{}    // ZOO_MY_ID → service
	clientPort := map[string]int{} // service → client port in ZOO_SERVERS
	hostPorts := map[int]string{}  // published host port → service
	var reference []zooServer      // zk1's ZOO_SERVERS
	for _, name := range zks {
		s := f.Services[name]
		if !zkImage.MatchString(s.Image) {
			bad("%s: image %q is not pinned to a zookeeper:3.9.x release", name, s.Image)
		}
		if s.Image != f.Services[zks[0]].Image {
			bad("%s: image %q differs from %s's %q", name, s.Image, zks[0], f.Services[zks[0]].Image)
		}
		if s.Hostname != "" && s.Hostname != name {
			bad("%s: hostname %q differs from the service name that ZOO_SERVERS uses", name, s.Hostname)
		}
		id := s.Environment["ZOO_MY_ID"]
		if n, err := strconv.Atoi(id); err != nil || n < 1 || n > 255 {
			bad("%s: ZOO_MY_ID %q is not a number from 1 to 255", name, id)
		} else if other, dup := byID[id]; dup {
			bad("%s: ZOO_MY_ID %s is also %s's", name, id, other)
		} else {
			byID[id] = name
		}

		servers, err := parseZooServers(s.Environment["ZOO_SERVERS"])
		if err != nil {
			bad("%s: ZOO_SERVERS: %v", name, err)
			continue
		}
		if reference == nil {
			reference = servers
		} else if !slices.Equal(servers, reference) {
			bad("%s: ZOO_SERVERS %q differs from %s's", name, s.Environment["ZOO_SERVERS"], zks[0])
		}
		for _, e := range servers {
			if e.host == name {
				clientPort[name] = e.clientPort
				if e.id != id {
					bad("%s: ZOO_SERVERS lists it as server.%s, but its ZOO_MY_ID is %q", name, e.id, id)
				}
			}
		}

		if len(s.Ports) != 1 {
			bad("%s: publishes %d ports, want its client port only", name, len(s.Ports))
		}
		for _, p := range s.Ports {
			hp, cp, err := parsePort(p)
			if err != nil {
				bad("%s: %v", name, err)
				continue
			}
			if cp != clientPort[name] {
				bad("%s: publishes container port %d, but its client port is %d", name, cp, clientPort[name])
			}
			if other, dup := hostPorts[hp]; dup {
				bad("%s: host port %d is also %s's", name, hp, other)
			}
			hostPorts[hp] = name
		}

		if s.Healthcheck == nil || len(s.Healthcheck.Test) == 0 {
			bad("%s: no healthcheck (the demo services wait for service_healthy)", name)
		} else {
			test := strings.Join(s.Healthcheck.Test, " ")
			allowed := strings.Split(s.Environment["ZOO_4LW_COMMANDS_WHITELIST"], ",")
			for _, w := range fourLetterWord.FindAllString(test, -1) {
				if !slices.Contains(allowed, w) && !slices.Contains(allowed, "*") {
					bad("%s: healthcheck sends %q, which ZOO_4LW_COMMANDS_WHITELIST %q does not allow", name, w, allowed)
				}
			}
			if !strings.Contains(test, strconv.Itoa(clientPort[name])) {
				bad("%s: healthcheck %q does not probe the client port %d", name, test, clientPort[name])
			}
		}
	}
	var ports []int
	for p := range hostPorts {
		ports = append(ports, p)
	}
	sort.Ints(ports)
	if !slices.Equal(ports, []int{2181, 2182, 2183}) {
		bad("ZooKeeper host ports are %v, want [2181 2182 2183]", ports)
	}

	// ZOO_SERVERS names exactly the services, each with its own ZOO_MY_ID.
	seen := map[string]bool{}
	for _, e := range reference {
		name, ok := byID[e.id]
		switch {
		case !ok:
			bad("ZOO_SERVERS entry server.%s=%s: no service has ZOO_MY_ID %s", e.id, e.host, e.id)
		case e.host != name:
			bad("ZOO_SERVERS entry server.%s=%s: ZOO_MY_ID %s is service %s", e.id, e.host, e.id, name)
		}
		if seen[e.host] {
			bad("ZOO_SERVERS lists %s twice", e.host)
		}
		seen[e.host] = true
	}
	for id, name := range byID {
		if !seen[name] {
			bad("ZOO_SERVERS has no entry for %s (server.%s)", name, id)
		}
	}

	// The demo programs: built from this repository, and pointed at exactly
	// this ensemble, once it is healthy.
	var want []string
	for _, name := range zks {
		want = append(want, fmt.Sprintf("%s:%d", name, clientPort[name]))
	}
	labels := map[string]string{}
	for name, pkg := range demoServices {
		s, ok := f.Services[name]
		if !ok {
			bad("no %s service", name)
			continue
		}
		if s.Build == nil {
			bad("%s: not built from the repository", name)
		} else {
			df := filepath.Join(root, s.Build.Context, s.Build.Dockerfile)
			data, err := os.ReadFile(df)
			if err != nil {
				bad("%s: Dockerfile: %v", name, err)
			} else if len(s.Command) == 0 || !strings.Contains(string(data), "/"+s.Command[0]+" "+pkg) {
				bad("%s: runs %q, which %s does not build from %s", name, s.Command, df, pkg)
			}
		}
		if got := s.Environment["MICRO_REGISTRY"]; got != "zookeeper" {
			bad("%s: MICRO_REGISTRY is %q, want zookeeper", name, got)
		}
		addrs := strings.Split(s.Environment["MICRO_REGISTRY_ADDRESS"], ",")
		sort.Strings(addrs)
		if !slices.Equal(addrs, want) {
			bad("%s: MICRO_REGISTRY_ADDRESS is %v, want %v", name, addrs, want)
		}
		for _, zk := range zks {
			if s.DependsOn[zk].Condition != "service_healthy" {
				bad("%s: does not wait for %s to be healthy", name, zk)
			}
		}
		for _, arg := range s.Command {
			if l, ok := strings.CutPrefix(arg, "--host_label="); ok {
				if other, dup := labels[l]; dup {
					bad("%s: host label %q is also %s's", name, l, other)
				}
				labels[l] = name
			}
		}
	}
	if c, ok := f.Services["hello-client"]; ok && !slices.Contains(c.Command, "--watch") {
		bad("hello-client: runs %q, without --watch", c.Command)
	}
	return problems
}

func TestComposeFileIsConsistent(t *testing.T) {
	f := loadCompose(t)
	require.Empty(t, composeProblems(f, "."))
}

// TestComposeProblemsCatchMistakes makes sure the consistency check fails
// on the mistakes it is meant to catch.
func TestComposeProblemsCatchMistakes(t *testing.T) {
	env := func(f composeFile, svc, key, value string) {
		f.Services[svc].Environment[key] = value
	}
	tests := []struct {
		name   string
		mutate func(f composeFile)
		want   string
	}{
		{"duplicate ZOO_MY_ID", func(f composeFile) { env(f, "zk2", "ZOO_MY_ID", "1") }, "ZOO_MY_ID 1 is also"},
		{"ZOO_MY_ID not in ZOO_SERVERS", func(f composeFile) { env(f, "zk3", "ZOO_MY_ID", "7") }, "its ZOO_MY_ID is \"7\""},
		{"missing ZOO_SERVERS entry", func(f composeFile) {
			for _, zk := range []string{"zk1", "zk2", "zk3"} {
				env(f, zk, "ZOO_SERVERS", "server.1=zk1:2888:3888;2181 server.2=zk2:2888:3888;2181")
			}
		}, "ZOO_SERVERS has no entry for zk3"},
		{"ZOO_SERVERS differ", func(f composeFile) {
			env(f, "zk2", "ZOO_SERVERS", "server.1=zk1:2888:3888;2181 server.2=zk2:2888:3888;2181 server.3=zk3:2889:3888;2181")
		}, "differs from zk1's"},
		{"malformed ZOO_SERVERS", func(f composeFile) { env(f, "zk1", "ZOO_SERVERS", "server.1=zk1:2888") }, "is not server.<id>"},
		{"host port twice", func(f composeFile) {
			s := f.Services["zk2"]
			s.Ports = []string{"2181:2181"}
			f.Services["zk2"] = s
		}, "host port 2181 is also"},
		{"wrong container port", func(f composeFile) {
			s := f.Services["zk1"]
			s.Ports = []string{"2181:2182"}
			f.Services["zk1"] = s
		}, "publishes container port 2182"},
		{"unpinned image", func(f composeFile) {
			s := f.Services["zk3"]
			s.Image = "zookeeper:latest"
			f.Services["zk3"] = s
		}, "not pinned"},
		{"health check word not allowed", func(f composeFile) { env(f, "zk1", "ZOO_4LW_COMMANDS_WHITELIST", "ruok") }, "does not allow"},
		{"missing ZooKeeper service", func(f composeFile) { delete(f.Services, "zk3") }, "want [zk1 zk2 zk3]"},
		{"client misses a server", func(f composeFile) {
			env(f, "hello-client", "MICRO_REGISTRY_ADDRESS", "zk1:2181,zk2:2181")
		}, "hello-client: MICRO_REGISTRY_ADDRESS"},
		{"server on another registry", func(f composeFile) { env(f, "hello-server-b", "MICRO_REGISTRY", "mdns") }, "want zookeeper"},
		{"no wait for health", func(f composeFile) {
			s := f.Services["hello-server-a"]
			s.DependsOn = map[string]composeDependency{"zk1": {Condition: "service_healthy"}}
			f.Services["hello-server-a"] = s
		}, "does not wait for zk2"},
		{"binary not built", func(f composeFile) {
			s := f.Services["hello-client"]
			s.Command = []string{"hello-cli", "--watch"}
			f.Services["hello-client"] = s
		}, "does not build"},
		{"same host label", func(f composeFile) {
			s := f.Services["hello-server-b"]
			s.Command = []string{"hello-server", "--host_label=server-a"}
			f.Services["hello-server-b"] = s
		}, "host label \"server-a\" is also"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := loadCompose(t) // a fresh copy: the maps are shared otherwise
			tt.mutate(f)
			problems := composeProblems(f, ".")
			require.NotEmpty(t, problems, "the check missed: %s", tt.name)
			require.Contains(t, strings.Join(problems, "\n"), tt.want)
		})
	}
}
