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
	again    bool   // a redial was asked for while a dial was in flight
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
		if d.again {
			d.soon(g.now())
		}
		d.again = false
		g.log.Debug("dial failed", "peer", p, "retry_in", d.backoff, "err", err)
		return
	}
	d.backoff, d.next, d.lastErr, d.again = 0, time.Time{}, "", false
}

// redial moves the next dial of each named member that is not connected
// to within a second (Redial). Its backoff is kept, and a dial is never
// brought closer than a second away, so a member that publishes node
// records fast cannot make this node dial (its addresses) faster than
// once a second.
func (g *Gossip) redial(nodes []record.NodeID) {
	ids := g.ids()
	now := g.now()
	for _, id := range nodes {
		p, ok := ids.ByNode[id]
		if !ok || id == g.self || g.connectedTo(p) {
			continue
		}
		if d := g.dials[p]; d != nil { // else never dialled: the next scan does
			d.soon(now)
		}
	}
}

// soon brings d's next dial to within a second of now; with a dial in
// flight (to the addresses known before), to a second after it fails.
func (d *dialState) soon(now time.Time) {
	if d.inflight {
		d.again = true
		return
	}
	if at := now.Add(minBackoff); d.next.After(at) {
		d.next = at
	}
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
