package main

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/urfave/cli/v2"
	"go-micro.dev/v4/registry"
)

func (a *app) servicesCommand() *cli.Command {
	return &cli.Command{
		Name:            "services",
		Usage:           "list services with their versions and node counts",
		UsageText:       "zkmicro services [-o table|json]",
		Flags:           []cli.Flag{outputFlag()},
		HideHelpCommand: true,
		OnUsageError:    a.onUsageError,
		Action:          a.listServices,
	}
}

func (a *app) getCommand() *cli.Command {
	return &cli.Command{
		Name:            "get",
		Usage:           "show the nodes of a service with their addresses and metadata",
		UsageText:       "zkmicro get [-o table|json] SERVICE",
		Flags:           []cli.Flag{outputFlag()},
		HideHelpCommand: true,
		OnUsageError:    a.onUsageError,
		Action:          a.getService,
	}
}

// serviceSummary is one element of `zkmicro services -o json`: a service
// version and how many nodes it has. Its JSON is a documented contract.
type serviceSummary struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	NodeCount int    `json:"node_count"`
}

func (a *app) listServices(cCtx *cli.Context) error {
	if err := a.checkArgs(cCtx, 0, 0, "arguments"); err != nil {
		return err
	}
	format, err := a.outputFormat(cCtx)
	if err != nil {
		return err
	}
	cfg, err := a.registryFromFlags(cCtx)
	if err != nil {
		return err
	}
	return a.withRegistry(cfg, func(reg registry.Registry) error {
		svcs, err := reg.ListServices(registry.ListContext(cCtx.Context))
		if err != nil {
			return fmt.Errorf("list services: %w", err)
		}
		summaries := summarizeServices(svcs)
		if format == outputJSON {
			return writeJSON(a.stdout, summaries)
		}
		rows := make([][]string, 0, len(summaries))
		for _, s := range summaries {
			rows = append(rows, []string{field(s.Name), field(s.Version), strconv.Itoa(s.NodeCount)})
		}
		return writeTable(a.stdout, []string{"NAME", "VERSION", "NODES"}, rows)
	})
}

// summarizeServices counts the distinct nodes of each service name and
// version in svcs (a registry may list a name and version more than once),
// sorted by name, then version. It is never nil.
func summarizeServices(svcs []*registry.Service) []serviceSummary {
	type key struct{ name, version string }
	nodes := make(map[key]map[string]bool)
	for _, svc := range svcs {
		if svc == nil {
			continue
		}
		k := key{svc.Name, svc.Version}
		if nodes[k] == nil {
			nodes[k] = make(map[string]bool)
		}
		for _, n := range svc.Nodes {
			if n != nil {
				nodes[k][n.Id] = true
			}
		}
	}
	summaries := make([]serviceSummary, 0, len(nodes))
	for k, ids := range nodes {
		summaries = append(summaries, serviceSummary{Name: k.name, Version: k.version, NodeCount: len(ids)})
	}
	sort.Slice(summaries, func(i, j int) bool {
		if summaries[i].Name != summaries[j].Name {
			return summaries[i].Name < summaries[j].Name
		}
		return summaries[i].Version < summaries[j].Version
	})
	return summaries
}

func (a *app) getService(cCtx *cli.Context) error {
	if err := a.checkArgs(cCtx, 1, 1, "SERVICE"); err != nil {
		return err
	}
	format, err := a.outputFormat(cCtx)
	if err != nil {
		return err
	}
	cfg, err := a.registryFromFlags(cCtx)
	if err != nil {
		return err
	}
	name := cCtx.Args().First()
	return a.withRegistry(cfg, func(reg registry.Registry) error {
		svcs, err := reg.GetService(name, registry.GetContext(cCtx.Context))
		if err != nil {
			return fmt.Errorf("get %q: %w", name, err)
		}
		svcs = sortServices(svcs)
		if format == outputJSON {
			return writeJSON(a.stdout, svcs)
		}
		var rows [][]string
		for _, svc := range svcs {
			for _, n := range svc.Nodes {
				rows = append(rows, []string{field(svc.Version), field(n.Id), field(n.Address), formatMetadata(n.Metadata)})
			}
		}
		return writeTable(a.stdout, []string{"VERSION", "ID", "ADDRESS", "METADATA"}, rows)
	})
}

// sortServices returns copies of the services in svcs sorted by name, then
// version, each with its nodes sorted by id; nil entries are dropped. The
// result is never nil; svcs is not modified, nor is what it points to.
func sortServices(svcs []*registry.Service) []*registry.Service {
	sorted := make([]*registry.Service, 0, len(svcs))
	for _, svc := range svcs {
		if svc == nil {
			continue
		}
		c := *svc
		if svc.Nodes != nil {
			c.Nodes = make([]*registry.Node, 0, len(svc.Nodes))
			for _, n := range svc.Nodes {
				if n != nil {
					c.Nodes = append(c.Nodes, n)
				}
			}
		}
		sort.SliceStable(c.Nodes, func(i, j int) bool { return c.Nodes[i].Id < c.Nodes[j].Id })
		sorted = append(sorted, &c)
	}
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Name != sorted[j].Name {
			return sorted[i].Name < sorted[j].Name
		}
		return sorted[i].Version < sorted[j].Version
	})
	return sorted
}
