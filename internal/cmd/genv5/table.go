package main

// The table: which go-micro v4 files have a generated go-micro v5 twin, and
// every rewrite that turns one into the other. Everything else is the same
// text: what truly differs per go-micro line in code lives in files
// written by hand in each face (hand, microconfig.go). A v5 directory may
// hold files of its own too (v5/zkconfig/fleet_test.go): the generator
// leaves alone every file that does not begin with its header.

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
// go-micro v5 twin (a directory of module v5/) is generated. With files
// nil, the table accounts for every .go file of to: generated, or named in
// hand or own; any other is an error (a hand copy that would drift).
type pkg struct {
	from, to string   // directories, relative to the repository root
	files    []string // the files generated; nil: every .go file of from but hand
	hand     []string // with files nil: written by hand in from (and, as needed, in to)
	own      []string // with files nil: written by hand in to, which from has no twin of
}

// pkgs lists the generated packages.
var pkgs = []pkg{
	// The registry face, with its tests: main_test.go holds what the
	// tests do differently per go-micro line. generate.go runs this
	// generator; the hello example, the compose file, the benchmark and
	// the README, and the check of the Makefile's fuzz list, are the v4
	// face's. Module v5 alone checks that it builds
	// no go-micro v4 package, that its generated files are fresh and its
	// option docs the v4 face's, and runs the mixed v4/v5 fleet.
	{
		from: ".", to: "v5",
		hand: []string{"generate.go", "main_test.go", "hello_test.go", "compose_test.go", "bench_test.go", "readme_test.go", "makefile_test.go"},
		own:  []string{"fleet_test.go", "generated_test.go", "nov4_test.go", "optiondocs_test.go"},
	},
	// Prometheus metrics, with their tests: main_test.go holds what the
	// tests do differently per go-micro line; the hello example's metrics
	// and the README are the v4 face's.
	{from: "zkprom", to: "v5/zkprom", hand: []string{"main_test.go", "hello_test.go", "readme_test.go"}},
	// go-micro's logger, adapted to the engine's.
	{from: "internal/microlog", to: "v5/internal/microlog"},
	// The config face, with its tests: main_test.go holds what the tests
	// do differently per go-micro line. The mixed v4/v5 fleet runs in
	// module v5 alone.
	{from: "zkconfig", to: "v5/zkconfig", hand: []string{"main_test.go", "readme_test.go"}, own: []string{"fleet_test.go"}},
	// Soft load balancing: the go-micro line's hooks (service.go) compile
	// on both.
	{from: "zkbalance", to: "v5/zkbalance"},
	// The hello server's greeting, from zkconfig (microconfig.go, written
	// by hand in each server, holds the config calls that differ).
	{from: "example/hello/server", to: "v5/example/hello/server", files: []string{"greeting.go"}},
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
	modulePath + "/zkbalance":            modulePath + "/v5/zkbalance",
	modulePath + "/example/hello/server": modulePath + "/v5/example/hello/server",
}

// shared lists this module's packages that both faces use as they are.
var shared = map[string]bool{
	modulePath + "/internal/engine":       true,
	modulePath + "/internal/configdoc":    true,
	modulePath + "/internal/balance":      true,
	modulePath + "/internal/zkmetrics":    true,
	modulePath + "/internal/zktest":       true,
	modulePath + "/internal/faultproxy":   true,
	modulePath + "/example/hello/greeter": true,
}

// rules are each file's own rewrites, by source path: the sentences of
// documentation and the lines of examples that differ per go-micro line
// (the other line's module, go-micro v5's Get and Close), and passages
// that name both lines on purpose, kept as they are.
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
	"example_test.go": {
		// go-micro v5 names a service in New.
		{old: "micro.NewService(\n\t\tmicro.Name(\"greeter\"),\n\t\tmicro.Registry(reg),\n\t)", new: `micro.New("greeter", micro.Registry(reg))`},
		{old: "whether a go-micro v4 or v5 service\n// registered it", new: "whether a go-micro v4 or v5 service\n// registered it"},
	},
	"zkconfig/doc.go": {
		{
			old: "Its twin for go-micro v5 is github.com/zkmicro/zookeeper/v5/zkconfig: the",
			new: "Its twin for go-micro v4 is github.com/zkmicro/zookeeper/zkconfig: the",
		},
		// go-micro v5's config.Get returns an error too.
		{
			old: `//	greeting := conf.Get("greeting").String("Hello")`,
			new: "//	value, err := conf.Get(\"greeting\")\n//	...\n//	greeting := value.String(\"Hello\")",
		},
		{
			old: `// To stop a config, close its loader, conf.Options().Loader.Close(), which
// stops the loader's watch of the source, then the source. Do not call
// conf.Close: go-micro v4.11.0's crashes the process (its loop calls
// Error on the nil error its loader watcher's Stop returns); without it
// the config's loop stays, blocked, until the process ends. On go-micro
// v5, whose conf.Close works (github.com/zkmicro/zookeeper/v5/zkconfig),
// call it last, after the loader's Close and the source's.
`,
			new: `// To stop a config, close its loader, conf.Options().Loader.Close(), which
// stops the loader's watch of the source, then the source, then call
// conf.Close, which ends the config's own loop (within a second;
// go-micro v5.30.0's prints "<nil>" on standard output as it does). In
// that order: the config takes each change on a channel that conf.Close
// closes, and a change handed over after it crashes the process (a send
// on a closed channel); closing the loader and the source first stops the
// changes. On go-micro v4 (github.com/zkmicro/zookeeper/zkconfig), do not
// call conf.Close: v4.11.0's crashes the process.
//
// go-micro v5.30.0's conf.Watch(key) compares each value with the one the
// key had when the watch began, never with the last it returned: it misses
// the key going back to that value (a key deleted that was absent then).
// To see every change, watch the config's loader,
// conf.Options().Loader.Watch(key), whose watcher compares with the last
// value it returned, and read the value from the loader's Snapshot, as the
// hello example's server does (example/hello/server/greeting.go).
`,
		},
	},
	"zkconfig/helpers_test.go": {
		{old: "which crashes go-micro v4.11.0; on go-micro v5, where", new: "which crashes go-micro v4.11.0; on go-micro v5, where"},
	},
	"zkconfig/example_test.go": {
		{
			old: `	// Stopping, in this order (see the package doc): the config's watch
	// of src, then src, which ends the ZooKeeper session.
	defer src.(io.Closer).Close()
	defer conf.Options().Loader.Close()
	fmt.Println(conf.Get("greeting").String("Hello"))
`,
			new: `	// Stopping, in this order (see the package doc): the config's watch
	// of src, then src, which ends the ZooKeeper session, then the
	// config's loop.
	defer conf.Close()
	defer src.(io.Closer).Close()
	defer conf.Options().Loader.Close()
	greeting, err := conf.Get("greeting")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(greeting.String("Hello"))
`,
		},
	},
	"zkprom/collector.go": {
		{
			old: "Its twin for go-micro v5, github.com/zkmicro/zookeeper/v5/zkprom,",
			new: "Its twin for go-micro v4, github.com/zkmicro/zookeeper/zkprom,",
		},
	},
}
