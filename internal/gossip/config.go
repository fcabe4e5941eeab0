package gossip

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/credmesh/credmesh/internal/gossip/p2p"
	"github.com/credmesh/credmesh/internal/identity"
)

// Defaults.
const (
	DefaultCluster   = "default"
	DefaultHeartbeat = 10 * time.Second
	// MissedHeartbeats is how many heartbeat intervals may pass in silence
	// before a member is marked offline.
	MissedHeartbeats = 3
)

// DefaultListen are the default listen addresses: QUIC and TCP on 7101.
var DefaultListen = []string{"/ip4/0.0.0.0/udp/7101/quic-v1", "/ip4/0.0.0.0/tcp/7101"}

// Config configures the GossipActor.
type Config struct {
	Identity *identity.Identity
	Members  Membership
	Sink     Sink
	Self     Self
	Peers    Directory
	Invites  Invites
	Events   Events
	Counter  Counter
	Log      *slog.Logger
	Now      func() time.Time

	// Listen are multiaddrs to listen on (default DefaultListen).
	Listen []string
	// Cluster names the topic /credmesh/1/<Cluster> (default "default").
	Cluster string
	// Heartbeat is the base heartbeat interval (default 10s). The interval
	// used grows with the square root of the member count beyond 10, so
	// heartbeat traffic per node grows sub-linearly.
	Heartbeat time.Duration
	// MDNS enables LAN discovery.
	MDNS bool
	// Reachability is auto (default), public or private: whether nodes
	// anywhere can dial this one (p2p.Reachability).
	Reachability string
	// Announce are addresses to advertise besides the listen ones, such
	// as a forwarded port on a router (/ip4/198.51.100.7/tcp/7101).
	Announce []string
	// Hostname and AgentVersion go into this node's node record.
	Hostname     string
	AgentVersion string
	StartedAt    time.Time
}

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if len(c.Listen) == 0 {
		c.Listen = DefaultListen
	}
	if c.Cluster == "" {
		c.Cluster = DefaultCluster
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first unusable setting.
func (c Config) Validate() error {
	switch {
	case c.Identity == nil:
		return errors.New("gossip: no identity")
	case c.Members == nil || c.Sink == nil || c.Self == nil || c.Peers == nil || c.Invites == nil || c.Events == nil || c.Counter == nil:
		return errors.New("gossip: members, sink, self, peers, invites, events and counter are required")
	}
	if err := CheckReach(c.Reachability, c.Announce); err != nil {
		return err
	}
	return CheckSettings(c.Listen, c.Cluster, c.Heartbeat)
}

// CheckReach reports an unusable --reachability or --announce value.
func CheckReach(reachability string, announce []string) error {
	if _, err := p2p.ParseReachability(reachability); err != nil {
		return err
	}
	_, err := p2p.ParseAnnounce(announce)
	return err
}

// CheckSettings reports the first unusable listen address, cluster name
// or heartbeat interval (the settings a user gives on the command line).
func CheckSettings(listen []string, cluster string, heartbeat time.Duration) error {
	for _, a := range listen {
		if _, err := ma.NewMultiaddr(a); err != nil {
			return fmt.Errorf("listen address %q is not a multiaddr (like /ip4/0.0.0.0/tcp/7101): %v", a, err)
		}
	}
	switch {
	case heartbeat < 100*time.Millisecond || heartbeat > 10*time.Minute:
		return fmt.Errorf("heartbeat %v out of range (100ms to 10m)", heartbeat)
	case !validCluster(cluster):
		return fmt.Errorf("cluster name %q: use 1-64 letters, digits, '.', '_' or '-'", cluster)
	}
	return nil
}

func validCluster(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Topic returns the GossipSub topic of a cluster.
func Topic(cluster string) string { return "/credmesh/1/" + cluster }
