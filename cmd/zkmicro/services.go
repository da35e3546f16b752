package main

import (
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/urfave/cli/v2"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/engine"
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
	// Origin says who registered the nodes: "go-micro", "curator" (Java
	// services of Apache Curator's service discovery, read with the
	// registry's Curator option), or both, "go-micro+curator".
	Origin string `json:"origin"`
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
		curator := slices.ContainsFunc(summaries, func(s serviceSummary) bool { return s.Origin != originGoMicro })
		rows := make([][]string, 0, len(summaries))
		for _, s := range summaries {
			row := []string{field(s.Name), field(s.Version), strconv.Itoa(s.NodeCount)}
			if curator {
				row = append(row, s.Origin)
			}
			rows = append(rows, row)
		}
		header := []string{"NAME", "VERSION", "NODES"}
		if curator {
			header = append(header, "ORIGIN")
		}
		return writeTable(a.stdout, header, rows)
	})
}

// Origins of a node: who registered it.
const (
	originGoMicro = "go-micro"
	originCurator = "curator"
)

// nodeOrigin returns originCurator for a node that a Java service
// registered in Apache Curator's service discovery (read with the
// registry's Curator option), originGoMicro otherwise.
func nodeOrigin(n *registry.Node) string {
	if n.Metadata[engine.MetaCuratorOrigin] == engine.CuratorOriginCurator {
		return originCurator
	}
	return originGoMicro
}

// summarizeServices counts the distinct nodes of each service name and
// version in svcs (a registry may list a name and version more than once),
// sorted by name, then version. It is never nil.
func summarizeServices(svcs []*registry.Service) []serviceSummary {
	type key struct{ name, version string }
	nodes := make(map[key]map[string]bool)
	origins := make(map[key]map[string]bool)
	for _, svc := range svcs {
		if svc == nil {
			continue
		}
		k := key{svc.Name, svc.Version}
		if nodes[k] == nil {
			nodes[k], origins[k] = make(map[string]bool), make(map[string]bool)
		}
		for _, n := range svc.Nodes {
			if n != nil {
				nodes[k][n.Id] = true
				origins[k][nodeOrigin(n)] = true
			}
		}
	}
	summaries := make([]serviceSummary, 0, len(nodes))
	for k, ids := range nodes {
		origin := originGoMicro
		switch o := origins[k]; {
		case o[originCurator] && o[originGoMicro]:
			origin = originGoMicro + "+" + originCurator
		case o[originCurator]:
			origin = originCurator
		}
		summaries = append(summaries, serviceSummary{Name: k.name, Version: k.version, NodeCount: len(ids), Origin: origin})
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
		curator := false
		for _, svc := range svcs {
			for _, n := range svc.Nodes {
				curator = curator || nodeOrigin(n) == originCurator
			}
		}
		var rows [][]string
		for _, svc := range svcs {
			for _, n := range svc.Nodes {
				row := []string{field(svc.Version), field(n.Id), field(n.Address)}
				if curator {
					row = append(row, nodeOrigin(n))
				}
				rows = append(rows, append(row, formatMetadata(n.Metadata)))
			}
		}
		header := []string{"VERSION", "ID", "ADDRESS", "METADATA"}
		if curator {
			header = []string{"VERSION", "ID", "ADDRESS", "ORIGIN", "METADATA"}
		}
		return writeTable(a.stdout, header, rows)
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
