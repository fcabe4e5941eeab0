package node

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/credmesh/credmesh/internal/credwriter"
	"github.com/credmesh/credmesh/internal/gossip"
	"github.com/credmesh/credmesh/internal/record"
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

	// Tickets are nodes to trust and dial (run TICKET...); persisted.
	Tickets []string
	// Listen are the libp2p listen multiaddrs (default QUIC and TCP 7101).
	Listen []string
	// Cluster names the gossip topic (default "default").
	Cluster string
	// Heartbeat is the base heartbeat interval (default 10s).
	Heartbeat time.Duration
	// NoMDNS turns LAN discovery off.
	NoMDNS bool
	// Reachability is auto (default), public or private: whether nodes
	// anywhere can dial this one; public nodes relay for members.
	Reachability string
	// Announce are addresses to advertise besides the listen ones (a
	// forwarded port).
	Announce []string
	// SyncInterval is the anti-entropy period (default 30s).
	SyncInterval time.Duration
	// TicketFile, when set, receives this node's ticket once it listens.
	TicketFile string
	// Hostname overrides os.Hostname in the node record (tests, demo).
	Hostname string
	// Observe, when set, sees every record the node stores, however it
	// arrived (benchmarks). It must not block.
	Observe func([]*record.Record)

	// CredsDir is where credentials are written (default
	// /etc/credstore.encrypted).
	CredsDir string
	// CredsUser writes user-scoped credentials (systemd 256+).
	CredsUser bool
	// CredsKey is what encrypts credentials: auto (default: the host key
	// in process without a TPM2, else systemd-creds), host (in process),
	// tpm2 (systemd-creds --with-key=host+tpm2) or systemd-creds (always
	// the tool, with its own default).
	CredsKey string
	// NoAutoRestart restarts only the units named on secrets.
	NoAutoRestart bool
	// OnCredential, when set, sees every credential written or removed
	// (benchmarks). It must not block.
	OnCredential func(name string, version uint64, removed bool)

	// Web is the web UI's listen address (default 127.0.0.1:7100). A
	// non-loopback address requires the token in web.token.
	Web string
	// NoWeb turns the web UI off (the API stays on the control socket).
	NoWeb bool
	// PlainCredentials writes credentials as plain files instead of with
	// systemd-creds: `credmesh demo` without root only.
	PlainCredentials bool
}

// Defaults of the mesh settings, for flags.
var (
	DefaultListen    = gossip.DefaultListen
	DefaultCluster   = gossip.DefaultCluster
	DefaultHeartbeat = gossip.DefaultHeartbeat
)

// DefaultCredsKey is the default --creds-key.
const DefaultCredsKey = credwriter.KeyAuto

// DefaultWeb is the web UI's default address.
const DefaultWeb = "127.0.0.1:7100"

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
	if c.Web == "" {
		c.Web = DefaultWeb
	}
	return c
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("data dir is empty")
	}
	g := gossip.Config{Listen: c.Listen, Cluster: c.Cluster, Heartbeat: c.Heartbeat}.WithDefaults()
	if err := gossip.CheckSettings(g.Listen, g.Cluster, g.Heartbeat); err != nil {
		return err
	}
	if err := gossip.CheckReach(c.Reachability, c.Announce); err != nil {
		return err
	}
	if err := credwriter.CheckKey(c.CredsKey, c.CredsUser); err != nil {
		return err
	}
	if c.SyncInterval < 0 {
		return fmt.Errorf("sync interval %v is negative", c.SyncInterval)
	}
	if !c.NoWeb {
		if _, _, err := net.SplitHostPort(c.Web); err != nil {
			return fmt.Errorf("web address %q: give HOST:PORT, like 127.0.0.1:7100", c.Web)
		}
	}
	return nil
}

// SocketPath is the control socket of the node with data dir dir.
func SocketPath(dir string) string { return filepath.Join(dir, web.SocketFile) }

// StorePath is the database file of the node with data dir dir.
func StorePath(dir string) string { return filepath.Join(dir, store.FileName) }
