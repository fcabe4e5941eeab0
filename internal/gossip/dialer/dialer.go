package dialer

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/credmesh/credmesh/internal/gossip/p2p"
	"github.com/credmesh/credmesh/internal/record"
)

// Redial backoff for members that cannot be reached.
const (
	minBackoff  = time.Second
	maxBackoff  = time.Minute
	dialTimeout = 10 * time.Second
	// scanEvery paces the scan for members to (re)dial.
	scanEvery = time.Second
)

// Config is what the dialer works with.
type Config struct {
	Host host.Host
	// KnownAddrs lists every address known for a node: from its node
	// record, from where it connected, from the ticket it was added with.
	KnownAddrs func(ctx context.Context, id record.NodeID) []string
	// Done hands a dial's result to the owner, which calls Dialer.Done
	// with it on its own goroutine.
	Done func(p peer.ID, err error)
	Now  func() time.Time
	Log  *slog.Logger
	// Workers counts the dials running, so that the owner can wait for
	// them when it stops.
	Workers *sync.WaitGroup
}

// Dialer keeps one backoff state per member it has had to dial.
type Dialer struct {
	cfg       Config
	states    map[peer.ID]*state
	lastScan  time.Time
	lastSpare time.Time
}

type state struct {
	next     time.Time
	backoff  time.Duration
	inflight bool
	again    bool   // a redial was asked for while a dial was in flight
	lastErr  string // the last dial's failure, shortened (p2p.DialWhy)
}

// New returns a dialer; it dials nothing until asked.
func New(cfg Config) *Dialer {
	return &Dialer{cfg: cfg, states: map[peer.ID]*state{}}
}

func (d *Dialer) connected(p peer.ID) bool {
	return len(d.cfg.Host.Network().ConnsToPeer(p)) > 0
}

func (d *Dialer) state(p peer.ID) *state {
	s := d.states[p]
	if s == nil {
		s = &state{}
		d.states[p] = s
	}
	return s
}

// Due dials every one of members that is not connected and whose backoff
// has passed: remembered peers at start, lost peers later, members learnt
// of through admits and node records (introductions). It scans at most
// once a second, however often it is called.
func (d *Dialer) Due(ctx context.Context, now time.Time, members []peer.ID) {
	if now.Sub(d.lastScan) < scanEvery {
		return
	}
	d.lastScan = now
	for _, p := range members {
		if d.connected(p) {
			continue
		}
		s := d.state(p)
		if s.inflight || now.Before(s.next) {
			continue
		}
		d.start(ctx, p, s)
	}
}

// Now dials p at once, whatever its backoff.
func (d *Dialer) Now(p peer.ID) {
	s := d.state(p)
	if !s.inflight && !d.connected(p) {
		s.next = time.Time{}
		d.start(context.Background(), p, s)
	}
}

func (d *Dialer) start(ctx context.Context, p peer.ID, s *state) {
	addrs := d.knownAddrs(ctx, record.NodeID(p.String()))
	if len(addrs) > 0 {
		d.cfg.Host.Peerstore().AddAddrs(p, addrs, peerstore.RecentlyConnectedAddrTTL)
	}
	if len(d.cfg.Host.Peerstore().Addrs(p)) == 0 {
		s.lastErr = "no address known"
		d.backoff(s)
		return
	}
	s.inflight = true
	d.cfg.Workers.Add(1)
	go func() {
		defer d.cfg.Workers.Done()
		dctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
		defer cancel()
		d.cfg.Done(p, d.cfg.Host.Connect(dctx, peer.AddrInfo{ID: p}))
	}()
}

// Done takes the result of a dial of p.
func (d *Dialer) Done(p peer.ID, err error) {
	s := d.states[p]
	if s == nil {
		return
	}
	s.inflight = false
	if err != nil {
		s.lastErr = p2p.DialWhy(err)
		d.backoff(s)
		if s.again {
			s.soon(d.cfg.Now())
		}
		s.again = false
		d.cfg.Log.Debug("dial failed", "peer", p, "retry_in", s.backoff, "err", err)
		return
	}
	s.backoff, s.next, s.lastErr, s.again = 0, time.Time{}, "", false
}

// Soon moves the next dial of each of peers that is not connected to
// within a second (a member's new node record). Its backoff is kept, and
// a dial is never brought closer than a second away, so a member that
// publishes node records fast cannot make this node dial (its addresses)
// faster than once a second.
func (d *Dialer) Soon(peers []peer.ID) {
	now := d.cfg.Now()
	for _, p := range peers {
		if d.connected(p) {
			continue
		}
		if s := d.states[p]; s != nil { // else never dialled: the next scan does
			s.soon(now)
		}
	}
}

// soon brings s's next dial to within a second of now; with a dial in
// flight (to the addresses known before), to a second after it fails.
func (s *state) soon(now time.Time) {
	if s.inflight {
		s.again = true
		return
	}
	if at := now.Add(minBackoff); s.next.After(at) {
		s.next = at
	}
}

func (d *Dialer) backoff(s *state) {
	s.backoff = min(max(s.backoff*2, minBackoff), maxBackoff)
	s.next = d.cfg.Now().Add(jitter(s.backoff))
}

// Connected clears p's backoff: it is connected, however that came about.
func (d *Dialer) Connected(p peer.ID) {
	if s := d.states[p]; s != nil {
		s.backoff, s.next = 0, time.Time{}
	}
}

// Lost schedules a prompt redial of a member whose last connection closed.
func (d *Dialer) Lost(p peer.ID) {
	s := d.state(p)
	if s.lastErr == "" {
		s.lastErr = "connection lost; redialling"
	}
	if s.backoff == 0 {
		s.next = d.cfg.Now().Add(jitter(minBackoff))
	}
}

// LastErr is why the last dial of p failed, or "" when none did.
func (d *Dialer) LastErr(p peer.ID) string {
	if s := d.states[p]; s != nil {
		return s.lastErr
	}
	return ""
}

// knownAddrs parses the addresses known for id. When any of them can be
// used from anywhere (public or relayed), its private and loopback ones
// are left out: they are from its own network (the same policy as the
// addresses a node advertises).
func (d *Dialer) knownAddrs(ctx context.Context, id record.NodeID) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, s := range d.cfg.KnownAddrs(ctx, id) {
		if a, err := ma.NewMultiaddr(s); err == nil {
			out = append(out, a)
		}
	}
	if slices.ContainsFunc(out, p2p.ReachableAnywhere) {
		out = slices.DeleteFunc(out, func(a ma.Multiaddr) bool { return !p2p.ReachableAnywhere(a) })
	}
	return out
}

// jitter spreads d by ±10%.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}
