package gossip

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/credmesh/credmesh/internal/gossip/p2p"
	"github.com/credmesh/credmesh/internal/record"
)

// How this node reaches a member.
const (
	ReachDirect      = "direct"       // a direct connection, dialled either way
	ReachHolePunched = "hole-punched" // a direct connection made by DCUtR through NATs
	ReachRelayed     = "relayed"      // through a member's relay only
	ReachUnreachable = "unreachable"  // no connection; Why says what the last dial hit
)

// Reach says how this node reaches a member now.
type Reach struct {
	How  string
	Via  record.NodeID // the relay, when relayed
	Addr string        // the remote address of the connection in use
	Why  string        // unreachable: the last dial's failure; relayed: the last hole punch's
}

// maxWhy caps the reason shown for an unreachable member.
const maxWhy = 300

// reachOf classifies p's connections: direct beats relayed.
func (g *Gossip) reachOf(p peer.ID) Reach {
	var relayed *Reach
	for _, c := range g.h.Network().ConnsToPeer(p) {
		addr := c.RemoteMultiaddr()
		if via, ok := p2p.IsRelayed(addr); ok {
			if relayed == nil {
				relayed = &Reach{How: ReachRelayed, Via: record.NodeID(via.String()), Addr: addr.String()}
			}
			continue
		}
		how := ReachDirect
		if ok, _ := g.punch.outcome(p); ok {
			how = ReachHolePunched
		}
		return Reach{How: how, Addr: addr.String()}
	}
	if relayed != nil {
		if ok, why := g.punch.outcome(p); !ok && why != "" {
			relayed.Why = "hole punch failed: " + why
		}
		return *relayed
	}
	why := "not dialled yet"
	if d := g.dials[p]; d != nil && d.lastErr != "" {
		why = d.lastErr
	}
	return Reach{How: ReachUnreachable, Why: why}
}

// reachAll is every other member's reach.
func (g *Gossip) reachAll() map[record.NodeID]Reach {
	out := map[record.NodeID]Reach{}
	ids := g.ids()
	for _, id := range ids.list {
		if p, ok := ids.byNode[id]; ok && id != g.self {
			out[id] = g.reachOf(p)
		}
	}
	return out
}

// dialWhy shortens a dial error to what went wrong at each address that
// could have worked: addresses that are this node's own (a peer's
// loopback) are left out, and addresses still in backoff from an earlier
// failure are only named when nothing else failed.
func dialWhy(err error) string {
	var de *swarm.DialError
	var why string
	switch {
	case errors.Is(err, swarm.ErrNoAddresses):
		why = "no address known"
	case errors.As(err, &de) && len(de.DialErrors) > 0:
		var failed, backoff []string
		for _, te := range de.DialErrors {
			switch {
			case errors.Is(te.Cause, swarm.ErrDialToSelf):
			case errors.Is(te.Cause, swarm.ErrDialBackoff):
				backoff = append(backoff, te.Address.String())
			default:
				if part := te.Address.String() + ": " + te.Cause.Error(); !slices.Contains(failed, part) {
					failed = append(failed, part)
				}
			}
		}
		switch {
		case len(failed) > 0:
			why = strings.Join(failed, "; ")
		case len(backoff) > 0:
			why = "failed recently, retrying later: " + strings.Join(backoff, " ")
		default:
			why = "only this node's own addresses known"
		}
	default:
		why = err.Error()
	}
	if len(why) > maxWhy {
		why = why[:maxWhy-3] + "..."
	}
	return why
}

// punches keeps each peer's last hole punch outcome. libp2p calls Trace
// from its own goroutines.
type punches struct {
	mu  sync.Mutex
	ok  map[peer.ID]bool
	why map[peer.ID]string
	log func(msg string, args ...any)
}

func newPunches(log func(string, ...any)) *punches {
	return &punches{ok: map[peer.ID]bool{}, why: map[peer.ID]string{}, log: log}
}

// Trace implements holepunch.EventTracer.
func (p *punches) Trace(evt *holepunch.Event) {
	end, ok := evt.Evt.(*holepunch.EndHolePunchEvt)
	if !ok {
		return
	}
	p.log("hole punch", "peer", evt.Remote, "ok", end.Success, "took", end.EllapsedTime, "err", end.Error)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ok[evt.Remote] = end.Success
	if end.Success {
		delete(p.why, evt.Remote)
	} else {
		p.why[evt.Remote] = end.Error
	}
}

// outcome is p's last hole punch: whether it worked, and why not.
func (p *punches) outcome(id peer.ID) (bool, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ok[id], p.why[id]
}

// forget drops p's outcome when its last connection closed.
func (p *punches) forget(id peer.ID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.ok, id)
	delete(p.why, id)
}

// relaySource is autorelay's peer source on a private node: the members
// with a public direct address in the peerstore (from their tickets,
// node records and identify), the relays it may reserve a slot on. It is
// called from autorelay's goroutine, at most every 10 s and only while
// the node has fewer relays than it wants; it reads the membership
// snapshot and the peerstore, both safe to share, and never the store.
func (g *Gossip) relaySource(_ context.Context, num int) <-chan peer.AddrInfo {
	var out []peer.AddrInfo
	ids := g.ids()
	for _, id := range ids.list {
		p, ok := ids.byNode[id]
		if id == g.self || !ok || len(out) == num {
			continue
		}
		var addrs []ma.Multiaddr
		for _, a := range g.h.Peerstore().Addrs(p) {
			if p2p.IsPublic(a) {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) > 0 {
			out = append(out, peer.AddrInfo{ID: p, Addrs: addrs})
		}
	}
	ch := make(chan peer.AddrInfo, len(out))
	for _, ai := range out {
		ch <- ai
	}
	close(ch)
	return ch
}

// watchAddrs tells the actor when the host's advertised addresses change
// (a relay slot gained or lost, an announced address), until sub closes.
func (g *Gossip) watchAddrs(sub event.Subscription) {
	defer g.workers.Done()
	for range sub.Out() {
		_ = g.ref.Cast(addrsChanged{})
	}
}

// onAddrsChanged stores and publishes this node's node record with its
// new addresses, so members learn at once how to reach it.
func (g *Gossip) onAddrsChanged(ctx context.Context) {
	n := g.nodeRecord()
	raw, err := g.cfg.Self.Announce(ctx, n)
	if err != nil {
		g.log.Warn("node record with new addresses not stored", "err", err)
		return
	}
	if raw == nil {
		return
	}
	g.log.Info("advertised addresses changed", "addrs", fmt.Sprint(n.Addrs))
	g.publish(ctx, [][]byte{raw})
}

// decideReach turns the configured reachability into public or private
// (p2p.Decide) from the listen and announced addresses and the machine's
// interfaces.
func (g *Gossip) decideReach() (p2p.Reachability, error) {
	r, err := p2p.ParseReachability(g.cfg.Reachability)
	if err != nil {
		return "", err
	}
	announce, err := p2p.ParseAnnounce(g.cfg.Announce)
	if err != nil {
		return "", err
	}
	var listen []ma.Multiaddr
	for _, s := range g.cfg.Listen {
		if a, err := ma.NewMultiaddr(s); err == nil {
			listen = append(listen, a)
		}
	}
	ifaces, err := manet.InterfaceMultiaddrs()
	if err != nil {
		g.log.Debug("interface addresses unknown", "err", err)
	}
	return p2p.Decide(r, listen, announce, ifaces), nil
}
