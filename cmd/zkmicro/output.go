package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/zkmicro/zookeeper/internal/termtext"
)

// Output formats of -o.
const (
	outputTable = "table"
	outputJSON  = "json"
)

// outputFlag is the -o option of the commands that print registry contents.
func outputFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "output",
		Aliases: []string{"o"},
		Usage:   "output `format`: table or json",
		Value:   outputTable,
	}
}

// outputFormat returns the -o value of the command in cCtx, or a usage error.
func (a *app) outputFormat(cCtx *cli.Context) (string, error) {
	switch format := cCtx.String("output"); format {
	case outputTable, outputJSON:
		return format, nil
	default:
		return "", a.commandUsage(cCtx, "--output %q: want table or json", format)
	}
}

// writeJSON writes v as indented JSON and a newline.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// writeTable writes a header and rows as columns aligned with spaces.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// field is s for human output: "-" when empty, so that columns stay
// countable, and escaped for the terminal on one line (termtext.Escape).
func field(s string) string {
	if s == "" {
		return "-"
	}
	return termtext.Escape(s, false)
}

// formatMetadata is md as sorted key=value pairs joined by ",", or "-",
// escaped for the terminal on one line.
func formatMetadata(md map[string]string) string {
	if len(md) == 0 {
		return "-"
	}
	pairs := make([]string, 0, len(md))
	for k, v := range md {
		pairs = append(pairs, k+"="+v)
	}
	sort.Strings(pairs)
	return termtext.Escape(strings.Join(pairs, ","), false)
}
