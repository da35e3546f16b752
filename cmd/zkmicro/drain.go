package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/engine"
)

func (a *app) drainCommand() *cli.Command {
	return &cli.Command{
		Name:            "drain",
		Usage:           "tell clients that balance by load (zkbalance) to send a node no new requests",
		UsageText:       "zkmicro drain SERVICE NODE",
		Description:     "Sets the node's status to \"draining\" in its registration; the server keeps running.\nNeeds WRITE on the node's znode: with credentials, those that registered it.",
		HideHelpCommand: true,
		OnUsageError:    a.onUsageError,
		Action:          func(cCtx *cli.Context) error { return a.setStatus(cCtx, engine.StatusDraining) },
	}
}

func (a *app) undrainCommand() *cli.Command {
	return &cli.Command{
		Name:            "undrain",
		Usage:           "let a drained node receive requests again",
		UsageText:       "zkmicro undrain SERVICE NODE",
		Description:     "Removes the node's status from its registration.\nNeeds WRITE on the node's znode: with credentials, those that registered it.",
		HideHelpCommand: true,
		OnUsageError:    a.onUsageError,
		Action:          func(cCtx *cli.Context) error { return a.setStatus(cCtx, "") },
	}
}

// setStatus sets the status of the node named on the command line
// (engine.Registry.SetStatus), and says what it did: "NODE of SERVICE:
// draining" or "NODE of SERVICE: serving".
func (a *app) setStatus(cCtx *cli.Context, status string) error {
	if err := a.checkArgs(cCtx, 2, 2, "SERVICE NODE"); err != nil {
		return err
	}
	cfg, err := a.registryFromFlags(cCtx)
	if err != nil {
		return err
	}
	name, id := cCtx.Args().Get(0), cCtx.Args().Get(1)
	verb := cCtx.Command.Name
	return a.withRegistry(cfg, func(reg registry.Registry) error {
		eng, err := engineOf(reg)
		if err != nil {
			return fmt.Errorf("%s: %w", verb, err)
		}
		err = eng.SetStatus(cCtx.Context, name, id, status)
		switch {
		case errors.Is(err, engine.ErrNotFound):
			return fmt.Errorf("%s %q %q: no such node", verb, name, id)
		case err != nil:
			return fmt.Errorf("%s %q %q: %w", verb, name, id, err)
		}
		now := "serving"
		if status != "" {
			now = status
		}
		_, err = fmt.Fprintf(a.stdout, "%s of %s: %s\n", field(id), field(name), now)
		return err
	})
}
