package cli

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("--log-level must be debug, info, warn or error, not %q", s)
}

// logger returns the process logger: text or JSON on w at the chosen level.
// Levels: debug for programmers, info for normal operation (start, stop,
// major state changes), warn for trouble that is retried or ignored, error
// when a person must act.
func (e *env) logger(w io.Writer) *slog.Logger {
	level, _ := parseLevel(e.logLevel) // checked in PersistentPreRunE
	opts := &slog.HandlerOptions{Level: level}
	if e.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// logLevelDefault sets the level when --log-level was not given.
func (e *env) logLevelDefault(level string) {
	if !e.logLevelSet {
		e.logLevel = level
	}
}
