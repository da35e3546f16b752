// Package microlog adapts go-micro's logger (go-micro.dev/v4/logger) to
// the engine's Logger, for this module's go-micro faces (the registry and
// zkconfig).
package microlog

import (
	"go-micro.dev/v4/logger"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// New returns an engine.Logger that writes to l, or to go-micro's default
// logger (logger.DefaultLogger, read at each line) when l is nil.
func New(l logger.Logger) engine.Logger { return adapter{l} }

// adapter writes the engine's log lines to a go-micro logger.
type adapter struct{ l logger.Logger }

// Logf writes one line at the go-micro level of level.
func (a adapter) Logf(level engine.Level, format string, args ...any) {
	logger.LoggerOrDefault(a.l).Logf(Level(level), format, args...)
}

// Level returns the go-micro level of an engine level.
func Level(level engine.Level) logger.Level {
	switch level {
	case engine.LevelInfo:
		return logger.InfoLevel
	case engine.LevelWarn:
		return logger.WarnLevel
	case engine.LevelError:
		return logger.ErrorLevel
	}
	return logger.DebugLevel
}
