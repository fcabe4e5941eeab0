package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/credmesh/credmesh/internal/store"
	"github.com/credmesh/credmesh/internal/web"
)

// Config is one node's settings, converted once from flags and the
// environment. The zero value of each field means its default.
type Config struct {
	// DataDir holds the keys, the store and the control socket.
	// Default: DefaultDataDir().
	DataDir string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// DefaultDataDir is /var/lib/credmesh for root and the user's state
// directory otherwise ($XDG_STATE_HOME/credmesh or ~/.local/state/credmesh).
func DefaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/credmesh"
	}
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "credmesh")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), fmt.Sprintf("credmesh-%d", os.Geteuid()))
	}
	return filepath.Join(home, ".local", "state", "credmesh")
}

// WithDefaults returns c with every unset field at its default and the
// data dir made absolute.
func (c Config) WithDefaults() Config {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir()
	}
	if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("data dir is empty")
	}
	return nil
}

// SocketPath is the control socket of the node with data dir dir.
func SocketPath(dir string) string { return filepath.Join(dir, web.SocketFile) }

// StorePath is the database file of the node with data dir dir.
func StorePath(dir string) string { return filepath.Join(dir, store.FileName) }
