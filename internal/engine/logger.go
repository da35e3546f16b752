package engine

import "fmt"

// Level is the severity of a log line.
type Level int

// Levels, from the least to the most severe.
const (
	LevelDebug Level = iota
	LevelInfo
	LevelWarn
	LevelError
)

// String returns the level's lower-case name.
func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	case LevelError:
		return "error"
	}
	return fmt.Sprintf("level(%d)", int(l))
}

// Logger receives the engine's log lines. The engine logs only from its
// background goroutines (the keeper, the owner's and the mirror's workers),
// never an error it also returns. Implementations must be safe for
// concurrent use. The go-micro faces adapt go-micro's logger.Logger.
type Logger interface {
	Logf(level Level, format string, args ...any)
}

// LoggerFunc adapts a function to Logger.
type LoggerFunc func(level Level, format string, args ...any)

// Logf calls f.
func (f LoggerFunc) Logf(level Level, format string, args ...any) { f(level, format, args...) }

// nopLogger discards everything; it is the logger of an Options without
// one.
type nopLogger struct{}

func (nopLogger) Logf(Level, string, ...any) {}
