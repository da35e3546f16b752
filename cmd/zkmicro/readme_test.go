package main

import (
	"fmt"
	"go/parser"
	"go/token"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"

	"github.com/zkmicro/zookeeper/internal/gendocs"
)

// README.md, the manual, is made from the package documentation (doc.go).
func TestREADMEIsGeneratedFromDoc(t *testing.T) {
	root, err := gendocs.FindRoot(".")
	require.NoError(t, err)
	current, want, err := gendocs.Expected(root, "zkmicro")
	require.NoError(t, err)
	require.Equal(t, string(want), string(current), "cmd/zkmicro/README.md is not what doc.go says: run go generate ./cmd/zkmicro")
}

// The package documentation names every command, as "zkmicro COMMAND", and
// every option that the command line takes, so that the manual cannot miss
// one.
func TestDocNamesEveryCommandAndOption(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	require.NoError(t, err)
	doc := f.Doc.Text()
	var helpErr error
	cliApp := (&app{}).newCLI(&helpErr)
	var missing []string
	var walk func(path string, flags []cli.Flag, cmds []*cli.Command)
	walk = func(path string, flags []cli.Flag, cmds []*cli.Command) {
		for _, fl := range flags {
			for _, name := range fl.Names() {
				opt := "--" + name
				if len(name) == 1 {
					opt = "-" + name
				}
				if !regexp.MustCompile(regexp.QuoteMeta(opt) + `([^a-z_]|$)`).MatchString(doc) {
					missing = append(missing, fmt.Sprintf("option %s of %q", opt, path))
				}
			}
		}
		for _, c := range cmds {
			name := strings.TrimSpace(path + " " + c.Name)
			// "zkmicro config [--prefix P] get" names "config get".
			usage := "zkmicro"
			for _, word := range strings.Fields(name) {
				usage += `( \[[^]]*\])* ` + regexp.QuoteMeta(word)
			}
			if !regexp.MustCompile(usage + `( |$)`).MatchString(doc) {
				missing = append(missing, fmt.Sprintf("command %q", name))
			}
			walk(name, c.Flags, c.Subcommands)
		}
	}
	walk("", cliApp.Flags, cliApp.Commands)
	assert.Empty(t, missing, "doc.go does not document these")
}
