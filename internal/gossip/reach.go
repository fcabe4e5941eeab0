package gossip

import (
	"context"
	"fmt"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"

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
		if ok, _ := g.punch.Outcome(p); ok {
			how = ReachHolePunched
		}
		return Reach{How: how, Addr: addr.String()}
	}
	if relayed != nil {
		if ok, why := g.punch.Outcome(p); !ok && why != "" {
			relayed.Why = "hole punch failed: " + why
		}
		return *relayed
	}
	why := "not dialled yet"
	if e := g.dialer.LastErr(p); e != "" {
		why = e
	}
	return Reach{How: ReachUnreachable, Why: why}
}

// reachAll is every other member's reach.
func (g *Gossip) reachAll() map[record.NodeID]Reach {
	out := map[record.NodeID]Reach{}
	ids := g.ids()
	for _, id := range ids.List {
		if p, ok := ids.ByNode[id]; ok && id != g.self {
			out[id] = g.reachOf(p)
		}
	}
	return out
}

// relaySource is autorelay's peer source on a private node (see
// p2p.MemberRelays). It is called from autorelay's goroutine, at most
// every 10 s and only while the node has fewer relays than it wants.
func (g *Gossip) relaySource(_ context.Context, num int) <-chan peer.AddrInfo {
	ids := g.ids()
	members := make([]peer.ID, 0, len(ids.ByPeer))
	for _, id := range ids.List {
		if p, ok := ids.ByNode[id]; ok && id != g.self {
			members = append(members, p)
		}
	}
	ps, _ := g.peerstore.Load().(peerstore.Peerstore) // nil until NewHost returned
	if ps == nil {
		members = nil
	}
	return p2p.MemberRelays(ps, members, num)
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

// decideReach turns the configured reachability into public or private.
func (g *Gossip) decideReach() (p2p.Reachability, error) {
	return p2p.DecideFor(g.cfg.Reachability, g.cfg.Listen, g.cfg.Announce, g.log.Debug)
}
