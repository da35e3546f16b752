package main

import (
	"fmt"

	"go-micro.dev/v4/logger"
)

// registryLogger is the go-micro logger given to the registry: it writes
// the lines of its background work (a lost session, a node restored) at
// warning level and above to stderr as zkmicro's own log lines, "<time>
// zkmicro: <message>", and drops the rest (a session established is no
// news to a command line).
type registryLogger struct {
	logf func(format string, args ...any) // a.logf
}

var _ logger.Logger = registryLogger{}

// minLevel is the least severe level written.
const minLevel = logger.WarnLevel

func (l registryLogger) Init(...logger.Option) error { return nil }

func (l registryLogger) Options() logger.Options { return logger.Options{Level: minLevel} }

func (l registryLogger) Fields(map[string]interface{}) logger.Logger { return l }

func (l registryLogger) Log(level logger.Level, v ...interface{}) {
	if minLevel.Enabled(level) {
		l.logf("%s", fmt.Sprint(v...))
	}
}

func (l registryLogger) Logf(level logger.Level, format string, v ...interface{}) {
	if minLevel.Enabled(level) {
		l.logf(format, v...)
	}
}

func (l registryLogger) String() string { return "zkmicro" }
