package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// Defaults and bounds of the prune command.
const (
	defaultDialTimeout = time.Second
	// pruneReads is how many ZooKeeper reads prune keeps in flight.
	pruneReads = 16
	// pruneDials is how many addresses prune dials at once.
	pruneDials = 32
)

// Status of a registration that prune found without an owner (see the
// package documentation).
const (
	pruneAlive   = "alive"   // its address accepts a TCP connection: kept
	pruneStale   = "stale"   // its address refuses TCP connections: deleted with --delete
	pruneUnknown = "unknown" // dialling its address failed otherwise (timeout, no route, bad address): kept
	pruneInvalid = "invalid" // its data is not a registration: kept
	pruneDeleted = "deleted" // was stale, and --delete deleted it
	pruneChanged = "changed" // was stale, but changed before the delete: kept
	pruneGone    = "gone"    // was stale, and someone else deleted it meanwhile
	pruneFailed  = "failed"  // was stale, and the delete failed
)

func (a *app) pruneCommand() *cli.Command {
	return &cli.Command{
		Name:      "prune",
		Usage:     "list registrations left behind by the older plugin whose server is gone; delete them with --delete",
		UsageText: "zkmicro prune [--delete] [--dial_timeout D] [-o table|json]",
		Description: "Lists the node znodes that no session owns (persistent znodes, written by\n" +
			"github.com/go-micro/plugins/v4/registry/zookeeper) with the result of a TCP connection to their\n" +
			"address. With --delete, deletes those whose address refuses the connection, unless they\n" +
			"changed since they were read. Nothing else is ever deleted.",
		Flags: []cli.Flag{
			outputFlag(),
			&cli.BoolFlag{Name: "delete", Usage: "delete the stale registrations"},
			&cli.DurationFlag{Name: "dial_timeout", Usage: "bounds each TCP connection to a registered address by `DURATION`", Value: defaultDialTimeout},
		},
		HideHelpCommand: true,
		OnUsageError:    a.onUsageError,
		Action:          a.prune,
	}
}

// pruneEntry is one element of `zkmicro prune -o json`, and one row of its
// table: a node znode without an owner. Its JSON is a documented contract.
type pruneEntry struct {
	Path    string `json:"path"`
	Service string `json:"service"`
	Version string `json:"version"`
	ID      string `json:"id"`
	Address string `json:"address"`
	Status  string `json:"status"`
	Detail  string `json:"detail"`

	node engine.UnownedNode // as read
}

func (a *app) prune(cCtx *cli.Context) error {
	if err := a.checkArgs(cCtx, 0, 0, "arguments"); err != nil {
		return err
	}
	format, err := a.outputFormat(cCtx)
	if err != nil {
		return err
	}
	dialTimeout := cCtx.Duration("dial_timeout")
	if dialTimeout <= 0 {
		return a.commandUsage(cCtx, "--dial_timeout %s: must be > 0", dialTimeout)
	}
	cfg, err := a.registryFromFlags(cCtx)
	if err != nil {
		return err
	}
	return a.withRegistry(cfg, func(reg registry.Registry) error {
		eng, err := engineOf(reg)
		if err != nil {
			return fmt.Errorf("prune: %w", err)
		}
		p := pruner{eng: eng, dialTimeout: dialTimeout}
		entries, err := p.run(cCtx.Context, cCtx.Bool("delete"))
		if err != nil {
			return fmt.Errorf("prune: %w", err)
		}
		if err := a.writePrune(format, entries); err != nil {
			return err
		}
		failed := 0
		for _, e := range entries {
			if e.Status == pruneFailed {
				failed++
			}
		}
		if failed > 0 {
			return fmt.Errorf("prune: %d of the stale registrations could not be deleted", failed)
		}
		return nil
	})
}

// writePrune prints entries as JSON, or as a table that names each
// registration by its path: what prune judges and deletes, whatever
// service and id its data claims (those are in the JSON).
func (a *app) writePrune(format string, entries []pruneEntry) error {
	if format == outputJSON {
		return writeJSON(a.stdout, entries)
	}
	rows := make([][]string, 0, len(entries))
	for _, e := range entries {
		rows = append(rows, []string{field(e.Path), field(e.Version), field(e.Address), e.Status, field(e.Detail)})
	}
	return writeTable(a.stdout, []string{"PATH", "VERSION", "ADDRESS", "STATUS", "DETAIL"}, rows)
}

// pruner finds, probes and deletes the registrations without an owner
// under the registry's root, on the registry's session.
type pruner struct {
	eng         *engine.Registry
	dialTimeout time.Duration // bounds each TCP connection to a registered address
}

// run returns the node znodes under the root that no session owns, sorted
// by path, each with its status; with del it deletes the stale ones.
func (p pruner) run(ctx context.Context, del bool) ([]pruneEntry, error) {
	entries, err := p.scan(ctx)
	if err != nil {
		return nil, err
	}
	forEach(len(entries), pruneDials, func(i int) {
		if entries[i].Status == "" {
			entries[i].Status, entries[i].Detail = probeAddress(ctx, entries[i].Address, p.dialTimeout)
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if del {
		forEach(len(entries), pruneReads, func(i int) {
			if entries[i].Status == pruneStale {
				entries[i].Status, entries[i].Detail = p.deleteStale(ctx, entries[i])
			}
		})
	}
	return entries, nil
}

// scan reads every node znode under the root and returns those that no
// session owns, sorted by path: registrations with their fields and no
// status yet, and znodes whose data is not a registration as pruneInvalid.
func (p pruner) scan(ctx context.Context) ([]pruneEntry, error) {
	nodes, err := p.eng.Unowned(ctx)
	if err != nil {
		return nil, err
	}
	entries := make([]pruneEntry, 0, len(nodes))
	for _, n := range nodes {
		e := pruneEntry{Path: n.Path, node: n}
		if svc := n.Registration; svc != nil {
			e.Service, e.Version, e.ID, e.Address = svc.Name, svc.Version, svc.Nodes[0].Id, svc.Nodes[0].Address
		} else {
			e.Service, e.ID = n.Service, n.ID
			e.Status, e.Detail = pruneInvalid, n.Invalid.Error()
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// probeAddress dials address over TCP within timeout and says what that
// tells of its registration: alive if it connects, stale if the connection
// is refused (nothing listens there), unknown otherwise (a timeout, no
// route, a bad address: perhaps only unreachable from here).
func probeAddress(ctx context.Context, address string, timeout time.Duration) (status, detail string) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", address)
	switch {
	case err == nil:
		_ = conn.Close()
		return pruneAlive, ""
	case errors.Is(err, syscall.ECONNREFUSED):
		return pruneStale, "connection refused"
	default:
		return pruneUnknown, err.Error()
	}
}

// deleteStale deletes the stale registration e unless it changed since it
// was read (engine.Registry.DeleteUnowned): so a node that the older
// plugin registered again (which writes it anew) and one that a live
// registry took over (which replaces it with an ephemeral znode) are kept.
func (p pruner) deleteStale(ctx context.Context, e pruneEntry) (status, detail string) {
	err := p.eng.DeleteUnowned(ctx, e.node)
	switch {
	case err == nil:
		return pruneDeleted, "connection refused"
	case errors.Is(err, engine.ErrGone):
		return pruneGone, "deleted by someone else meanwhile"
	case errors.Is(err, engine.ErrChanged):
		return pruneChanged, "changed since it was read: kept"
	}
	return pruneFailed, fmt.Sprintf("delete %s: %v", e.Path, err)
}
