package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"go-micro.dev/v4/config/source"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/termtext"
)

// Exit codes (see the package documentation).
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// Global options and their defaults.
const (
	flagRegistryAddress = "registry_address"
	flagRegistryTimeout = "registry_timeout"

	defaultRegistryAddress = "127.0.0.1:2181"
	defaultRegistryTimeout = 5 * time.Second
)

// timestampLayout formats the times of watch lines and sidecar log lines
// (always UTC, so the zone prints as "Z").
const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

// app is zkmicro with its dependencies injected, so that every command runs
// in-process in tests. An app may run several times, one run at a time;
// runs of different apps must not overlap either, since urfave/cli's help
// command is package state that each run may modify.
type app struct {
	// newRegistry opens the registry a command uses, called at most once per
	// run, after the command's options are validated. The registry is closed
	// when the command ends if it is an io.Closer.
	newRegistry func(addrs []string, timeout time.Duration) (registry.Registry, error)
	// newConfigSource opens the configuration source the config commands
	// use, over the session of reg (the registry newRegistry opened), as o
	// says (prefix, timeout, Private); called at most once per run, after
	// the command's options are validated. The source is closed when the
	// command ends if it is an io.Closer, before the registry.
	newConfigSource func(reg registry.Registry, o configSourceOptions) source.Source
	stdout          io.Writer        // command output; help asked for with -h
	stderr          io.Writer        // errors, usage after a usage error, the sidecar's log
	now             func() time.Time // the clock of watch lines and the sidecar's log
	// surviveClosedOutput, if set, is called by the sidecar before it
	// starts: from then on a write to a closed stdout or stderr pipe fails
	// instead of ending the process, so that a log nobody reads any more
	// never stops it. The other commands end with their reader, as Unix
	// tools do.
	surviveClosedOutput func()
}

// usageError is a bad command line. Its message and the usage have been
// printed on stderr when it is returned.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// run runs the command line args (args[0] is the program name) until it is
// done or ctx is cancelled, and returns the exit code. It never exits the
// process.
func (a *app) run(ctx context.Context, args []string) int {
	// Set when `help TOPIC` names no command: the help command itself
	// reports no error.
	var helpErr error
	cliApp := a.newCLI(&helpErr)
	err := cliApp.RunContext(ctx, args)
	if err == nil {
		err = helpErr
	}
	var usage usageError
	var cliExit cli.ExitCoder
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &cliExit):
		// Only urfave/cli's own help returns these.
		a.printError(err)
		return exitUsage
	default:
		a.printError(err)
		return exitError
	}
}

// printError prints "zkmicro: ERR" on stderr. An error may quote what a
// remote party wrote (a name, a key, a server's answer): it is escaped for
// the terminal.
func (a *app) printError(err error) {
	fmt.Fprintf(a.stderr, "zkmicro: %s\n", termtext.Escape(err.Error(), false))
}

// newCLI builds the command tree.
func (a *app) newCLI(helpErr *error) *cli.App {
	cliApp := &cli.App{
		Name:                      "zkmicro",
		Usage:                     "inspect a go-micro registry in ZooKeeper, and register servers in it",
		UsageText:                 "zkmicro [global options] command [command options] [arguments...]",
		HideVersion:               true,
		Writer:                    a.stdout,
		ErrWriter:                 a.stderr,
		DisableSliceFlagSeparator: true, // --metadata values may contain commas
		// Errors become exit codes in run: urfave/cli must never call os.Exit.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   a.onUsageError,
		CommandNotFound: func(cCtx *cli.Context, name string) {
			*helpErr = a.reportUsage(cCtx, nil, fmt.Errorf("no help topic for %q", name))
		},
		Action: a.rootAction,
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    flagRegistryAddress,
				Usage:   "`ADDRS` of the ZooKeeper servers: comma-separated host:port, optionally ending with a chroot (zk1:2181,zk2:2181/apps/prod)",
				Value:   defaultRegistryAddress,
				EnvVars: []string{"MICRO_REGISTRY_ADDRESS"},
			},
			&cli.DurationFlag{
				Name:    flagRegistryTimeout,
				Usage:   "bounds each registry call by `DURATION`",
				Value:   defaultRegistryTimeout,
				EnvVars: []string{"MICRO_REGISTRY_TIMEOUT"},
			},
		},
		Commands: []*cli.Command{
			a.servicesCommand(),
			a.getCommand(),
			a.watchCommand(),
			a.registerCommand(),
			a.drainCommand(),
			a.undrainCommand(),
			a.pruneCommand(),
			a.doctorCommand(),
			a.configCommand(),
		},
	}
	showDefaults(cliApp.Flags, cliApp.Commands)
	return cliApp
}

// rootAction runs when no command is named, or an unknown one.
func (a *app) rootAction(cCtx *cli.Context) error {
	if cCtx.Args().Present() {
		return a.reportUsage(cCtx, nil, fmt.Errorf("unknown command %q", cCtx.Args().First()))
	}
	return a.reportUsage(cCtx, nil, errors.New("missing command"))
}

// onUsageError reports an option that does not parse, for the whole app or
// for one command.
func (a *app) onUsageError(cCtx *cli.Context, err error, isSubcommand bool) error {
	var cmd *cli.Command
	if isSubcommand {
		cmd = cCtx.Command
	}
	return a.reportUsage(cCtx, cmd, err)
}

// reportUsage prints "zkmicro: ERR" and the usage of cmd (of the app when
// cmd is nil) on stderr, and returns err as a usageError.
func (a *app) reportUsage(cCtx *cli.Context, cmd *cli.Command, err error) error {
	a.printError(err)
	fmt.Fprintln(a.stderr)
	if cmd == nil {
		cli.HelpPrinter(a.stderr, cli.AppHelpTemplate, cCtx.App)
	} else {
		template := cli.CommandHelpTemplate
		if cmd.CustomHelpTemplate != "" {
			template = cmd.CustomHelpTemplate
		}
		cli.HelpPrinter(a.stderr, template, cmd)
	}
	return usageError{err}
}

// commandUsage reports a bad command line of the command running in cCtx.
func (a *app) commandUsage(cCtx *cli.Context, format string, args ...any) error {
	return a.reportUsage(cCtx, cCtx.Command, fmt.Errorf(format, args...))
}

// checkArgs reports a usage error unless the command got between least and
// most arguments; names describes them for the message ("SERVICE").
func (a *app) checkArgs(cCtx *cli.Context, least, most int, names string) error {
	args := cCtx.Args().Slice()
	if len(args) < least {
		return a.commandUsage(cCtx, "missing %s", names)
	}
	if len(args) > most {
		extra := args[most:]
		for _, arg := range extra {
			if strings.HasPrefix(arg, "-") {
				return a.commandUsage(cCtx, "unexpected arguments %q: options go before %s", extra, names)
			}
		}
		if most == 0 {
			return a.commandUsage(cCtx, "unexpected arguments %q", extra)
		}
		return a.commandUsage(cCtx, "unexpected arguments %q after %s", extra, names)
	}
	return nil
}

// registryConfig is what the global options say about the registry.
type registryConfig struct {
	addrs   []string
	timeout time.Duration
}

// parseRegistryConfig validates the global options: addresses non-empty,
// timeout > 0. The registry validates the addresses further.
func parseRegistryConfig(address string, timeout time.Duration) (registryConfig, error) {
	if strings.TrimSpace(address) == "" {
		return registryConfig{}, fmt.Errorf("--%s is empty", flagRegistryAddress)
	}
	var addrs []string
	for _, addr := range strings.Split(address, ",") {
		addr = strings.TrimSpace(addr)
		if addr == "" {
			return registryConfig{}, fmt.Errorf("--%s %q: empty address in the list", flagRegistryAddress, address)
		}
		addrs = append(addrs, addr)
	}
	if timeout <= 0 {
		return registryConfig{}, fmt.Errorf("--%s %s: must be > 0", flagRegistryTimeout, timeout)
	}
	return registryConfig{addrs: addrs, timeout: timeout}, nil
}

// registryFromFlags reads the global options; an invalid one is a usage error
// of the whole app.
func (a *app) registryFromFlags(cCtx *cli.Context) (registryConfig, error) {
	cfg, err := parseRegistryConfig(cCtx.String(flagRegistryAddress), cCtx.Duration(flagRegistryTimeout))
	if err != nil {
		return registryConfig{}, a.reportUsage(cCtx, nil, err)
	}
	return cfg, nil
}

// withRegistry opens the registry as cfg says, calls fn with it, and closes
// it if it is an io.Closer.
func (a *app) withRegistry(cfg registryConfig, fn func(registry.Registry) error) (err error) {
	reg, err := a.newRegistry(cfg.addrs, cfg.timeout)
	if err != nil {
		return err
	}
	if closer, ok := reg.(io.Closer); ok {
		defer func() {
			if cerr := closer.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("close registry: %w", cerr)
			}
		}()
	}
	return fn(reg)
}

// logf prints a timestamped line on stderr: "<time> zkmicro: <message>",
// the message escaped for the terminal (it may quote remote text: a node
// id, a health check's answer, a znode the registry skipped).
func (a *app) logf(format string, args ...any) {
	msg := termtext.Escape(fmt.Sprintf(format, args...), false)
	fmt.Fprintf(a.stderr, "%s zkmicro: %s\n", a.now().UTC().Format(timestampLayout), msg)
}
