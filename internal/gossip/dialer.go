package gossip

import (
	"context"
	"slices"
	"time"

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
	// dialScanEvery paces the scan for members to (re)dial.
	dialScanEvery = time.Second
)

type dialState struct {
	next     time.Time
	backoff  time.Duration
	inflight bool
	lastErr  string // the last dial's failure, shortened (dialWhy)
}

// dialDue dials every member that is not connected and whose backoff has
// passed: remembered peers at start, lost peers later, members learnt of
// through admits and node records (introductions).
func (g *Gossip) dialDue(ctx context.Context, now time.Time) {
	if now.Sub(g.lastDialScan) < dialScanEvery {
		return
	}
	g.lastDialScan = now
	ids := g.ids()
	if ids.M.IsRevoked(g.self) {
		return // every member hangs up on it
	}
	for _, id := range ids.List {
		p, ok := ids.ByNode[id]
		if id == g.self || !ok || g.connectedTo(p) {
			continue
		}
		d := g.dials[p]
		if d == nil {
			d = &dialState{}
			g.dials[p] = d
		}
		if d.inflight || now.Before(d.next) {
			continue
		}
		g.startDial(ctx, p, d)
	}
}

// dialNow dials p at once, whatever its backoff.
func (g *Gossip) dialNow(p peer.ID) {
	d := g.dials[p]
	if d == nil {
		d = &dialState{}
		g.dials[p] = d
	}
	if !d.inflight && !g.connectedTo(p) {
		d.next = time.Time{}
		g.startDial(context.Background(), p, d)
	}
}

func (g *Gossip) startDial(ctx context.Context, p peer.ID, d *dialState) {
	addrs := g.knownAddrs(ctx, record.NodeID(p.String()))
	if len(addrs) > 0 {
		g.h.Peerstore().AddAddrs(p, addrs, peerstore.RecentlyConnectedAddrTTL)
	}
	if len(g.h.Peerstore().Addrs(p)) == 0 {
		d.lastErr = "no address known"
		g.backoff(d)
		return
	}
	d.inflight = true
	g.workers.Add(1)
	go func() {
		defer g.workers.Done()
		dctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
		defer cancel()
		err := g.h.Connect(dctx, peer.AddrInfo{ID: p})
		_ = g.ref.Cast(dialDone{p: p, err: err})
	}()
}

func (g *Gossip) onDialDone(p peer.ID, err error) {
	d := g.dials[p]
	if d == nil {
		return
	}
	d.inflight = false
	if err != nil {
		d.lastErr = p2p.DialWhy(err)
		g.backoff(d)
		g.log.Debug("dial failed", "peer", p, "retry_in", d.backoff, "err", err)
		return
	}
	d.backoff, d.next, d.lastErr = 0, time.Time{}, ""
}

func (g *Gossip) backoff(d *dialState) {
	d.backoff = min(max(d.backoff*2, minBackoff), maxBackoff)
	d.next = g.now().Add(jitter(d.backoff))
}

// onDisconnected schedules a prompt redial of a member that went away.
func (g *Gossip) onDisconnected(p peer.ID) {
	g.punch.Forget(p)
	if !g.isMember(p) {
		return
	}
	d := g.dials[p]
	if d == nil {
		d = &dialState{}
		g.dials[p] = d
	}
	if d.lastErr == "" {
		d.lastErr = "connection lost; redialling"
	}
	if d.backoff == 0 {
		d.next = g.now().Add(jitter(minBackoff))
	}
}

// onFound dials a node found on the LAN; the hello exchange then lists it
// as pending or recognises it as a member.
func (g *Gossip) onFound(ctx context.Context, info peer.AddrInfo) {
	if g.connectedTo(info.ID) {
		return
	}
	g.h.Peerstore().AddAddrs(info.ID, info.Addrs, peerstore.TempAddrTTL)
	g.log.Debug("found on the LAN", "peer", info.ID)
	g.dialNow(info.ID)
}

// knownAddrs collects every address known for id: from its node record,
// from where it connected, and from the ticket it was added with. When
// any of them can be used from anywhere (public or relayed), its private
// and loopback ones are left out: they are from its own network (the
// same policy as the addresses a node advertises).
func (g *Gossip) knownAddrs(ctx context.Context, id record.NodeID) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, s := range g.cfg.Peers.KnownAddrs(ctx, id) {
		if a, err := ma.NewMultiaddr(s); err == nil {
			out = append(out, a)
		}
	}
	if slices.ContainsFunc(out, p2p.ReachableAnywhere) {
		out = slices.DeleteFunc(out, func(a ma.Multiaddr) bool { return !p2p.ReachableAnywhere(a) })
	}
	return out
}
