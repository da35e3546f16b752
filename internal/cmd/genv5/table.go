package main

// The table: which go-micro v4 files have a generated go-micro v5 twin, and
// every rewrite that turns one into the other. Everything else is the same
// text: what truly differs per go-micro line in code lives in files
// written by hand in each face (hand).

// A table says what the generator makes, and how.
type table struct {
	pkgs   []pkg
	common []commonRule
	twins  map[string]string // this module's packages with a go-micro v5 twin, to it
	shared map[string]bool   // this module's packages both faces use as they are
	rules  map[string][]rule // each file's own rewrites, by source path
}

// repository is the table of this repository.
var repository = table{pkgs: pkgs, common: commonRules, twins: twins, shared: shared, rules: rules}

// A pkg is a go-micro v4 package (a directory of the root module) whose
// go-micro v5 twin (a directory of module v5/) is generated.
type pkg struct {
	from, to string   // directories, relative to the repository root
	files    []string // the files generated; nil: every .go file of from but hand
	hand     []string // with files nil: written by hand in from (and, as needed, in to)
}

// pkgs lists the generated packages.
var pkgs = []pkg{
	// The registry face. Its tests are not generated yet.
	{from: ".", to: "v5", files: []string{"zookeeper.go", "options.go", "encoding.go", "watcher.go"}},
	{from: "zkprom", to: "v5/zkprom", files: []string{"collector.go", "example_test.go"}},
	// go-micro's logger, adapted to the engine's.
	{from: "internal/microlog", to: "v5/internal/microlog"},
}

// commonRules rewrite go-micro's import paths in every generated file,
// comments and strings included (goleak's function names, for one).
// Longer paths come first.
var commonRules = []commonRule{
	{old: "go-micro.dev/v4/util/cmd", new: "go-micro.dev/v5/cmd"},
	{old: "go-micro.dev/v4", new: "go-micro.dev/v5"},
}

// twins maps this module's packages that have a go-micro v5 twin to it.
var twins = map[string]string{
	modulePath:                           modulePath + "/v5",
	modulePath + "/zkprom":               modulePath + "/v5/zkprom",
	modulePath + "/internal/microlog":    modulePath + "/v5/internal/microlog",
	modulePath + "/zkconfig":             modulePath + "/v5/zkconfig",
	modulePath + "/example/hello/server": modulePath + "/v5/example/hello/server",
}

// shared lists this module's packages that both faces use as they are.
var shared = map[string]bool{
	modulePath + "/internal/engine":       true,
	modulePath + "/internal/configdoc":    true,
	modulePath + "/internal/zkmetrics":    true,
	modulePath + "/internal/zktest":       true,
	modulePath + "/internal/faultproxy":   true,
	modulePath + "/example/hello/greeter": true,
}

// rules are each file's own rewrites, by source path: sentences of the
// documentation that differ per go-micro line, and the other line's name.
var rules = map[string][]rule{
	"zookeeper.go": {
		{
			old: "Its twin for go-micro v5 is\n// github.com/zkmicro/zookeeper/v5:",
			new: "Its twin for go-micro v4 is\n// github.com/zkmicro/zookeeper:",
		},
		// go-micro v5 names a service in New.
		{old: "micro.NewService(micro.Registry(reg))", new: `micro.New("greeter", micro.Registry(reg))`},
		// The zkmicro command is built on the go-micro v4 face.
		{old: "(zkprom, zkconfig's WithRegistry, the zkmicro command)", new: "(zkprom, zkconfig's WithRegistry)"},
	},
	"zkprom/collector.go": {
		{
			old: "Its twin for go-micro v5, github.com/zkmicro/zookeeper/v5/zkprom,",
			new: "Its twin for go-micro v4, github.com/zkmicro/zookeeper/zkprom,",
		},
	},
}
