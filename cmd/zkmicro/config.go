package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/urfave/cli/v2"
	"go-micro.dev/v4/config/source"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/termtext"
	"github.com/zkmicro/zookeeper/zkconfig"
)

// Options of the config commands.
const (
	flagConfigPrefix  = "prefix"
	flagConfigString  = "string"
	flagConfigPrivate = "private"

	// configOutputText is the human output of the config commands: a
	// string as it is, anything else as indented JSON.
	configOutputText = "text"
)

func (a *app) configCommand() *cli.Command {
	return &cli.Command{
		Name:      "config",
		Usage:     "read, change and watch the configuration services load from ZooKeeper (zkconfig)",
		UsageText: "zkmicro config [--prefix P] command [command options] [arguments...]",
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:  flagConfigPrefix,
				Usage: "the znode `P` whose subtree is the configuration, below the chroot of --registry_address",
				Value: zkconfig.DefaultPrefix,
			},
		},
		HideHelpCommand:    true,
		CustomHelpTemplate: commandsHelpTemplate,
		OnUsageError:       a.onUsageError,
		Action:             a.configMissingCommand,
		Subcommands: []*cli.Command{
			{
				Name:            "get",
				Usage:           "print the configuration, or the value of one key",
				UsageText:       "zkmicro config [--prefix P] get [-o text|json] [KEY]",
				Flags:           []cli.Flag{configOutputFlag()},
				HideHelpCommand: true,
				OnUsageError:    a.onUsageError,
				Action:          a.configGet,
			},
			{
				Name:            "set",
				Usage:           "set one key, leaving the others alone; VALUE is JSON if it parses as JSON, else a string",
				UsageText:       "zkmicro config [--prefix P] set [--string] [--private] KEY VALUE",
				HideHelpCommand: true,
				OnUsageError:    a.onUsageError,
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: flagConfigString, Usage: "store VALUE as a string, even if it parses as JSON (42, true, [1])"},
					&cli.BoolFlag{Name: flagConfigPrivate, Usage: "make the znodes set creates readable and writable only with the credentials (zkconfig's Private; needs MICRO_REGISTRY_ZOOKEEPER_AUTH); without it a new key takes the ACL of the znode it is created below"},
				},
				Action: a.configSet,
			},
			{
				Name:            "delete",
				Usage:           "delete one key and everything below it, leaving the others alone",
				UsageText:       "zkmicro config [--prefix P] delete KEY",
				HideHelpCommand: true,
				OnUsageError:    a.onUsageError,
				Action:          a.configDelete,
			},
			{
				Name:            "watch",
				Usage:           "print a line per key created, updated or deleted, until interrupted",
				UsageText:       "zkmicro config [--prefix P] watch [-o text|json] [KEY]",
				Flags:           []cli.Flag{configOutputFlag()},
				HideHelpCommand: true,
				OnUsageError:    a.onUsageError,
				Action:          a.configWatch,
			},
		},
	}
}

// commandsHelpTemplate is the usage of a command that has commands of its
// own: urfave/cli's SubcommandHelpTemplate, listing the commands and
// options without their categories, which urfave/cli sets up only once the
// command runs (`zkmicro help config` would list none), and without the
// help command `zkmicro help config` adds (config has none).
const commandsHelpTemplate = `NAME:
   {{template "helpNameTemplate" .}}

USAGE:
   {{wrap .UsageText 3}}

COMMANDS:{{$cv := offsetCommands .VisibleCommands 5}}{{range .VisibleCommands}}{{if ne .Name "help"}}
   {{$s := join .Names ", "}}{{$s}}{{$sp := subtract $cv (offset $s 3)}}{{indent $sp ""}}{{wrap .Usage $cv}}{{end}}{{end}}

OPTIONS:{{template "visibleFlagTemplate" .}}
`

// configMissingCommand runs when `config` names no command, or an unknown
// one.
func (a *app) configMissingCommand(cCtx *cli.Context) error {
	if cCtx.Args().Present() {
		return a.commandUsage(cCtx, "unknown config command %q", cCtx.Args().First())
	}
	return a.commandUsage(cCtx, "missing config command: get, set, delete or watch")
}

// configOutputFlag is the -o option of config get and config watch.
func configOutputFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "output",
		Aliases: []string{"o"},
		Usage:   "output `format`: text or json",
		Value:   configOutputText,
	}
}

// configOutputFormat returns the -o value of the command in cCtx, or a
// usage error.
func (a *app) configOutputFormat(cCtx *cli.Context) (string, error) {
	switch format := cCtx.String("output"); format {
	case configOutputText, outputJSON:
		return format, nil
	default:
		return "", a.commandUsage(cCtx, "--output %q: want text or json", format)
	}
}

// configKeyArg returns the key path of the KEY argument at index i, nil
// when it is absent, or a usage error.
func (a *app) configKeyArg(cCtx *cli.Context, i int) ([]string, error) {
	if i >= cCtx.Args().Len() {
		return nil, nil
	}
	key := cCtx.Args().Get(i)
	path, ok := parseKeyPath(key)
	if !ok {
		return nil, a.commandUsage(cCtx, "KEY %q: want keys separated by dots, none empty (database.address)", key)
	}
	return path, nil
}

// withConfigSource opens the configuration source as the global options,
// --prefix and --private (of set) say, over the registry's session, calls
// fn with it and its prefix, and closes it, then the registry.
func (a *app) withConfigSource(cCtx *cli.Context, fn func(src source.Source, prefix string) error) error {
	cfg, err := a.registryFromFlags(cCtx)
	if err != nil {
		return err
	}
	o := configSourceOptions{prefix: cCtx.String(flagConfigPrefix), timeout: cfg.timeout, private: cCtx.Bool(flagConfigPrivate)}
	return a.withRegistry(cfg, func(reg registry.Registry) (err error) {
		src := a.newConfigSource(reg, o)
		if closer, ok := src.(io.Closer); ok {
			defer func() {
				if cerr := closer.Close(); cerr != nil && err == nil {
					err = fmt.Errorf("close config source: %w", cerr)
				}
			}()
		}
		return fn(src, o.prefix)
	})
}

// configSourceOptions are the options of the config commands' source.
type configSourceOptions struct {
	prefix  string        // --prefix
	timeout time.Duration // --registry_timeout
	private bool          // set --private: zkconfig's Private
}

// errNoKey is the error of a KEY the configuration does not hold.
var errNoKey = errors.New("no such key")

func (a *app) configGet(cCtx *cli.Context) error {
	if err := a.checkArgs(cCtx, 0, 1, "KEY"); err != nil {
		return err
	}
	format, err := a.configOutputFormat(cCtx)
	if err != nil {
		return err
	}
	path, err := a.configKeyArg(cCtx, 0)
	if err != nil {
		return err
	}
	return a.withConfigSource(cCtx, func(src source.Source, prefix string) error {
		cs, err := src.Read()
		if err != nil {
			return fmt.Errorf("config get: %w", err)
		}
		value, ok := lookupKey(cs.Data, path)
		if !ok {
			return fmt.Errorf("config get %q: %w in %s", keyName(path), errNoKey, prefix)
		}
		return writeConfigValue(a.stdout, value, format)
	})
}

// writeConfigValue writes value, valid JSON, and a newline: as compact JSON
// for -o json; for people, a string as it is and anything else as
// indented JSON, escaped for the terminal (line feeds and tabs kept).
func writeConfigValue(w io.Writer, value json.RawMessage, format string) error {
	var b bytes.Buffer
	var s string
	switch {
	case format == outputJSON:
		b.Write(compactJSON(value))
	case bytes.HasPrefix(bytes.TrimLeft(value, " \t\r\n"), []byte(`"`)) && json.Unmarshal(value, &s) == nil:
		b.WriteString(termtext.Escape(s, true))
	default:
		var indented bytes.Buffer
		if err := json.Indent(&indented, compactJSON(value), "", "  "); err != nil {
			indented.Reset()
			indented.Write(value)
		}
		b.WriteString(termtext.Escape(indented.String(), true))
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

func (a *app) configSet(cCtx *cli.Context) error {
	if err := a.checkArgs(cCtx, 2, 2, "KEY VALUE"); err != nil {
		return err
	}
	path, err := a.configKeyArg(cCtx, 0)
	if err != nil {
		return err
	}
	text := cCtx.Args().Get(1)
	if !utf8.ValidString(text) {
		return a.commandUsage(cCtx, "VALUE is not UTF-8 text")
	}
	value := configValue(text, cCtx.Bool(flagConfigString))
	return a.withConfigSource(cCtx, func(src source.Source, _ string) error {
		if err := zkconfig.SetKey(src, value, path...); err != nil {
			return fmt.Errorf("config set %q: %w", keyName(path), err)
		}
		return nil
	})
}

// configValue is the JSON value set stores for the VALUE text: the text
// itself when it is JSON and asString is false, else the text as a JSON
// string.
func configValue(text string, asString bool) []byte {
	if !asString && json.Valid([]byte(text)) {
		return []byte(text)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(text) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func (a *app) configDelete(cCtx *cli.Context) error {
	if err := a.checkArgs(cCtx, 1, 1, "KEY"); err != nil {
		return err
	}
	path, err := a.configKeyArg(cCtx, 0)
	if err != nil {
		return err
	}
	return a.withConfigSource(cCtx, func(src source.Source, prefix string) error {
		cs, err := src.Read()
		if err != nil {
			return fmt.Errorf("config delete %q: %w", keyName(path), err)
		}
		if _, ok := lookupKey(cs.Data, path); !ok {
			return fmt.Errorf("config delete %q: %w in %s", keyName(path), errNoKey, prefix)
		}
		if err := zkconfig.DeleteKey(src, path...); err != nil {
			return fmt.Errorf("config delete %q: %w", keyName(path), err)
		}
		return nil
	})
}

func (a *app) configWatch(cCtx *cli.Context) error {
	if err := a.checkArgs(cCtx, 0, 1, "KEY"); err != nil {
		return err
	}
	format, err := a.configOutputFormat(cCtx)
	if err != nil {
		return err
	}
	path, err := a.configKeyArg(cCtx, 0)
	if err != nil {
		return err
	}
	return a.withConfigSource(cCtx, func(src source.Source, prefix string) error {
		started := func() {
			if len(path) == 0 {
				a.logf("watching every key in %s", prefix)
			} else {
				a.logf("watching %s in %s", keyName(path), prefix)
			}
		}
		write := func(t time.Time, c configChange) error { return writeConfigChange(a.stdout, t, c, format) }
		return watchConfig(cCtx.Context, src, path, a.now, started, write)
	})
}

// watchConfig calls write for each change to the configuration src holds,
// at or below the key path under, until ctx ends (nil) or reading or
// watching fails (the error). It reads the configuration, calls started
// once the watcher is in place (changes from then on are written), and
// diffs each configuration the watcher returns with the one before.
func watchConfig(ctx context.Context, src source.Source, under []string, now func() time.Time, started func(), write func(time.Time, configChange) error) error {
	cs, err := src.Read()
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("config watch: %w", err)
	}
	// The source's watcher starts from what Read handed out: a change made
	// in between is not missed.
	watcher, err := src.Watch()
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("config watch: %w", err)
	}
	defer stopWhenDone(ctx, func() { _ = watcher.Stop() })()
	started()
	before := flattenConfig(cs.Data)
	for {
		cs, err := watcher.Next()
		if err != nil {
			if ctx.Err() != nil {
				// Interrupted: source.ErrWatcherStopped is the normal end.
				return nil
			}
			return fmt.Errorf("config watch: %w", err)
		}
		t := now()
		after := flattenConfig(cs.Data)
		for _, c := range diffConfig(before, after, under) {
			if err := write(t, c); err != nil {
				return err
			}
		}
		before = after
	}
}

// configChangeJSON is a line of `config watch -o json`. Its JSON is a
// documented contract.
type configChangeJSON struct {
	Time   string          `json:"time"`
	Action string          `json:"action"`
	Key    string          `json:"key"`
	Path   []string        `json:"path"`
	Value  json.RawMessage `json:"value"`
}

// writeConfigChange writes the line of change c seen at t: "TIME ACTION
// KEY VALUE", KEY and VALUE escaped for the terminal, or a JSON object for
// -o json.
func writeConfigChange(w io.Writer, t time.Time, c configChange, format string) error {
	stamp := t.UTC().Format(timestampLayout)
	if format == outputJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		path := c.path
		if path == nil {
			path = []string{}
		}
		return enc.Encode(configChangeJSON{Time: stamp, Action: c.action, Key: keyName(c.path), Path: path, Value: c.value})
	}
	_, err := fmt.Fprintln(w, stamp, c.action, field(keyName(c.path)), field(strings.TrimSpace(string(c.value))))
	return err
}
