package main

import (
	"strconv"

	"github.com/urfave/cli/v2"
)

// showDefaults makes the usage of every option in flags, and in cmds and
// their subcommands, state the option's real default, whichever way the
// usage is asked for. urfave/cli v2 learns a flag's default only when it
// parses the flag, so `zkmicro help register`, which parses none of
// register's options, printed "(default: 0s)" where `zkmicro register
// --help` printed "(default: 5s)". A DefaultText taken from the flag's
// Value is printed by both. A flag that already has a DefaultText keeps it.
func showDefaults(flags []cli.Flag, cmds []*cli.Command) {
	for _, f := range flags {
		switch f := f.(type) {
		case *cli.StringFlag:
			if f.DefaultText == "" && f.Value != "" {
				f.DefaultText = strconv.Quote(f.Value) // as urfave/cli prints it
			}
		case *cli.DurationFlag:
			if f.DefaultText == "" {
				f.DefaultText = f.Value.String()
			}
		case *cli.IntFlag:
			if f.DefaultText == "" {
				f.DefaultText = strconv.Itoa(f.Value)
			}
		}
		// Bool flags print "false" both ways; slice flags have no default.
	}
	for _, cmd := range cmds {
		showDefaults(cmd.Flags, cmd.Subcommands)
	}
}
