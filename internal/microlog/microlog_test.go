package microlog

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go-micro.dev/v4/logger"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// recLogger is a go-micro logger that keeps what it is given.
type recLogger struct {
	logger.Logger
	levels []logger.Level
	lines  []string
}

func (r *recLogger) Logf(level logger.Level, format string, args ...any) {
	r.levels = append(r.levels, level)
	r.lines = append(r.lines, format)
}

func TestNewMapsLevels(t *testing.T) {
	r := &recLogger{}
	l := New(r)
	for _, lv := range []engine.Level{engine.LevelDebug, engine.LevelInfo, engine.LevelWarn, engine.LevelError, engine.Level(42)} {
		l.Logf(lv, "line %d", int(lv))
	}
	assert.Equal(t, []logger.Level{logger.DebugLevel, logger.InfoLevel, logger.WarnLevel, logger.ErrorLevel, logger.DebugLevel}, r.levels)
	assert.Equal(t, "line %d", r.lines[0])
}

func TestNewWithoutALoggerUsesTheDefault(t *testing.T) {
	prev := logger.DefaultLogger
	t.Cleanup(func() { logger.DefaultLogger = prev })
	r := &recLogger{}
	l := New(nil)
	logger.DefaultLogger = r // read at each line, not when New is called
	l.Logf(engine.LevelWarn, "to the default")
	assert.Equal(t, []string{"to the default"}, r.lines)
}
