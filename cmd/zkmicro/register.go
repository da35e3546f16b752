package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/urfave/cli/v2"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/util/addr"

	"github.com/zkmicro/zookeeper/internal/balance"
	"github.com/zkmicro/zookeeper/internal/engine"
)

// Defaults of the register command.
const (
	defaultVersion          = "latest" // as go-micro's server.DefaultVersion
	defaultCheckInterval    = 5 * time.Second
	defaultCheckFailures    = 3
	defaultRegisterInterval = 30 * time.Second // as go-micro's server.DefaultRegisterInterval
	defaultLoadInterval     = time.Second      // as zkbalance.DefaultInterval
	// maxLoadFile bounds what is read of --load_file.
	maxLoadFile = 64
)

// Node metadata the register command sets (see the package documentation).
const (
	metadataRegistry  = "registry"
	metadataRegistrar = "registrar"
	registrarName     = "zkmicro"
)

func (a *app) registerCommand() *cli.Command {
	return &cli.Command{
		Name:      "register",
		Usage:     "keep a node of a server registered while its health check passes (a sidecar)",
		UsageText: "zkmicro register --name NAME --address HOST:PORT [--version V] [--id ID] [--metadata KEY=VALUE]... [--weight W] [--check URL] [--check_ca FILE] [--check_interval D] [--check_failures N] [--register_interval D] [--load_file FILE] [--load_interval D]",
		Description: "Registers a node for the server at --address on the first passing check, deregisters it\n" +
			"after --check_failures consecutive failures, registers it again once healthy, and deregisters\n" +
			"it at SIGINT or SIGTERM. Without --check the node stays registered until then. With\n" +
			"--load_file it publishes the load the server writes there, for clients that balance by load.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "service `NAME` (required)"},
			&cli.StringFlag{Name: "address", Usage: "`HOST:PORT` clients dial (required); an unspecified host is replaced with an IP of this machine"},
			&cli.StringFlag{Name: "version", Usage: "service version `V`", Value: defaultVersion},
			&cli.StringFlag{Name: "id", Usage: "node `ID`, unique within the service (default: NAME-<random UUID>)"},
			&cli.StringSliceFlag{Name: "metadata", Usage: "node metadata `KEY=VALUE`; repeatable"},
			&cli.StringFlag{Name: "check", Usage: "health check `URL`: tcp://HOST:PORT, http://URL or https://URL (2xx or 3xx is healthy)"},
			&cli.StringFlag{Name: "check_ca", Usage: "an https check trusts only the CA certificates in the PEM `FILE` (default: the system's roots)"},
			&cli.DurationFlag{Name: "check_interval", Usage: "`DURATION` between checks; a failed registration is retried at the next check", Value: defaultCheckInterval},
			&cli.IntFlag{Name: "check_failures", Usage: "`N` consecutive failed checks deregister the node", Value: defaultCheckFailures},
			&cli.DurationFlag{Name: "register_interval", Usage: "registers the node again every `DURATION` while healthy", Value: defaultRegisterInterval},
			&cli.StringFlag{Name: "weight", Usage: "the node's share of traffic relative to the others, `W` > 0 (node metadata \"weight\"; default: none, which clients take as 1)"},
			&cli.StringFlag{Name: "load_file", Usage: "publishes the load the server writes in `FILE` (a decimal >= 0, such as its requests in flight) as the node's \"load\""},
			&cli.DurationFlag{Name: "load_interval", Usage: "reads --load_file every `DURATION`; a load is written at most that often, and only when it changed enough", Value: defaultLoadInterval},
		},
		HideHelpCommand: true,
		OnUsageError:    a.onUsageError,
		Action:          a.register,
	}
}

// registerFlags are the register command's options as given.
type registerFlags struct {
	name, address, version, id, check string
	checkCA                           string // --check_ca: a PEM file
	metadata                          []string
	checkInterval, registerInterval   time.Duration
	checkFailures                     int
	weight                            string // --weight, as given
	loadFile                          string
	loadInterval                      time.Duration
}

// sidecarConfig is a validated register command line.
type sidecarConfig struct {
	name, version, id string
	address           string            // as clients dial it: an unspecified host replaced
	metadata          map[string]string // from --metadata and --weight
	check             *url.URL          // nil: no health check
	checkTLS          *tls.Config       // for an https check; nil: the system's roots
	checkInterval     time.Duration
	checkFailures     int
	registerInterval  time.Duration
	loadFile          string // "": no load published
	loadInterval      time.Duration
}

// validate checks f and resolves its defaults: the node id and the address
// of an unspecified host.
func (f registerFlags) validate() (sidecarConfig, error) {
	if strings.TrimSpace(f.name) == "" {
		return sidecarConfig{}, errors.New("--name is required")
	}
	if f.address == "" {
		return sidecarConfig{}, errors.New("--address is required")
	}
	address, err := advertiseAddress(f.address)
	if err != nil {
		return sidecarConfig{}, fmt.Errorf("--address %q: %w", f.address, err)
	}
	if f.version == "" {
		return sidecarConfig{}, errors.New("--version is empty")
	}
	id := f.id
	if id == "" {
		id = f.name + "-" + uuid.NewString()
	}
	metadata, err := parseMetadata(f.metadata)
	if err != nil {
		return sidecarConfig{}, err
	}
	if f.weight != "" {
		if _, err := balance.ParseWeight(f.weight); err != nil {
			return sidecarConfig{}, fmt.Errorf("--weight %q: want a decimal number > 0", f.weight)
		}
		if _, dup := metadata[engine.MetaWeight]; dup {
			return sidecarConfig{}, fmt.Errorf("--weight and --metadata %s=...: give the weight once", engine.MetaWeight)
		}
		metadata[engine.MetaWeight] = f.weight
	}
	if _, ok := metadata[engine.MetaLoad]; ok && f.loadFile != "" {
		return sidecarConfig{}, fmt.Errorf("--load_file and --metadata %s=...: the load comes from the file", engine.MetaLoad)
	}
	if f.loadFile != "" && f.loadInterval <= 0 {
		return sidecarConfig{}, fmt.Errorf("--load_interval %s: must be > 0", f.loadInterval)
	}
	var check *url.URL
	if f.check != "" {
		if check, err = parseCheckURL(f.check); err != nil {
			return sidecarConfig{}, err
		}
	}
	var tlsConfig *tls.Config
	if f.checkCA != "" {
		if check == nil || check.Scheme != "https" {
			return sidecarConfig{}, errors.New("--check_ca: only for an https:// --check")
		}
		if tlsConfig, err = checkTLSConfig(f.checkCA); err != nil {
			return sidecarConfig{}, err
		}
	}
	if f.checkInterval <= 0 {
		return sidecarConfig{}, fmt.Errorf("--check_interval %s: must be > 0", f.checkInterval)
	}
	if f.checkFailures < 1 {
		return sidecarConfig{}, fmt.Errorf("--check_failures %d: must be >= 1", f.checkFailures)
	}
	if f.registerInterval <= 0 {
		return sidecarConfig{}, fmt.Errorf("--register_interval %s: must be > 0", f.registerInterval)
	}
	return sidecarConfig{
		name:             f.name,
		version:          f.version,
		id:               id,
		address:          address,
		metadata:         metadata,
		check:            check,
		checkTLS:         tlsConfig,
		checkInterval:    f.checkInterval,
		checkFailures:    f.checkFailures,
		registerInterval: f.registerInterval,
		loadFile:         f.loadFile,
		loadInterval:     f.loadInterval,
	}, nil
}

// advertiseAddress validates host:port and returns the address clients
// dial: as given, or, for an empty or unspecified host (0.0.0.0, ::), with
// an IP of this machine (its first private one if it has one), as a
// go-micro server does.
func advertiseAddress(address string) (string, error) {
	if _, err := parseHostPort(address); err != nil {
		return "", err
	}
	host, port, _ := net.SplitHostPort(address) // valid: parsed above
	if host != "" && !isUnspecified(host) {
		return address, nil
	}
	ip, err := addr.Extract("")
	if err != nil {
		return "", fmt.Errorf("no host, and no IP address of this machine to use: %w", err)
	}
	return net.JoinHostPort(ip, port), nil
}

func isUnspecified(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// parseMetadata parses KEY=VALUE pairs, split at the first "=". Keys must
// be non-empty and given once.
func parseMetadata(pairs []string) (map[string]string, error) {
	md := make(map[string]string, len(pairs))
	for _, pair := range pairs {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--metadata %q: want KEY=VALUE", pair)
		}
		if _, dup := md[k]; dup {
			return nil, fmt.Errorf("--metadata %q: key %q given twice", pair, k)
		}
		md[k] = v
	}
	return md, nil
}

// nodeService is the go-micro service the sidecar registers: cfg's name and
// version and exactly one node, whose metadata is registry (registryName),
// registrar ("zkmicro"), and cfg's metadata over them.
func nodeService(cfg sidecarConfig, registryName string) *registry.Service {
	md := map[string]string{
		metadataRegistry:  registryName,
		metadataRegistrar: registrarName,
	}
	for k, v := range cfg.metadata {
		md[k] = v
	}
	return &registry.Service{
		Name:    cfg.name,
		Version: cfg.version,
		Nodes: []*registry.Node{{
			Id:       cfg.id,
			Address:  cfg.address,
			Metadata: md,
		}},
	}
}

func (a *app) register(cCtx *cli.Context) error {
	if err := a.checkArgs(cCtx, 0, 0, "arguments"); err != nil {
		return err
	}
	cfg, err := registerFlags{
		name:             cCtx.String("name"),
		address:          cCtx.String("address"),
		version:          cCtx.String("version"),
		id:               cCtx.String("id"),
		check:            cCtx.String("check"),
		checkCA:          cCtx.String("check_ca"),
		metadata:         cCtx.StringSlice("metadata"),
		checkInterval:    cCtx.Duration("check_interval"),
		checkFailures:    cCtx.Int("check_failures"),
		registerInterval: cCtx.Duration("register_interval"),
		weight:           cCtx.String("weight"),
		loadFile:         cCtx.String("load_file"),
		loadInterval:     cCtx.Duration("load_interval"),
	}.validate()
	if err != nil {
		return a.commandUsage(cCtx, "%v", err)
	}
	regCfg, err := a.registryFromFlags(cCtx)
	if err != nil {
		return err
	}
	if a.surviveClosedOutput != nil {
		// `zkmicro register ... 2>&1 | head`: the node must stay checked
		// when its log has no reader; log lines that cannot be written are
		// dropped.
		a.surviveClosedOutput()
	}
	return a.withRegistry(regCfg, func(reg registry.Registry) error {
		a.newSidecar(cfg, reg, regCfg.timeout).run(cCtx.Context)
		return nil
	})
}

// newSidecar is the sidecar of cfg on reg; stopTimeout bounds its final
// Deregister.
func (a *app) newSidecar(cfg sidecarConfig, reg registry.Registry, stopTimeout time.Duration) *sidecar {
	svc := nodeService(cfg, reg.String())
	s := &sidecar{
		register: func(ctx context.Context) error {
			return reg.Register(svc, registry.RegisterContext(ctx))
		},
		deregister: func(ctx context.Context) error {
			return reg.Deregister(svc, registry.DeregisterContext(ctx))
		},
		checkInterval:    cfg.checkInterval,
		checkTimeout:     min(cfg.checkInterval, maxCheckTimeout),
		maxFailures:      cfg.checkFailures,
		registerInterval: cfg.registerInterval,
		stopTimeout:      stopTimeout,
		logf: func(format string, args ...any) {
			a.logf("%s %s", cfg.id, fmt.Sprintf(format, args...))
		},
		now: a.now,
	}
	if cfg.check != nil {
		s.check = newHealthCheck(cfg.check, cfg.checkTLS)
	}
	if cfg.loadFile != "" {
		s.loadInterval = cfg.loadInterval
		s.readLoad = func() (float64, error) { return readLoadFile(cfg.loadFile) }
		s.publishLoad = func(ctx context.Context, load string) error {
			eng, err := engineOf(reg)
			if err != nil {
				return err
			}
			return eng.SetNodeMetadata(ctx, cfg.name, cfg.id, map[string]string{engine.MetaLoad: load})
		}
	}
	return s
}

// readLoadFile reads the load in the file at path: a decimal >= 0, with
// blanks and line breaks around it allowed.
func readLoadFile(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxLoadFile+1))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxLoadFile {
		return 0, fmt.Errorf("%s: more than %d bytes: not a load", path, maxLoadFile)
	}
	text := strings.TrimSpace(string(b))
	load, err := balance.ParseLoad(text)
	if err != nil {
		return 0, fmt.Errorf("%s holds %q: want a decimal number >= 0", path, text)
	}
	return load, nil
}
