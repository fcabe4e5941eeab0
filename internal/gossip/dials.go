package gossip

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"

	"github.com/credmesh/credmesh/internal/record"
)

// dialDue has the dialer dial every member that is not connected and
// whose backoff has passed (none when this node is revoked: every member
// hangs up on it).
func (g *Gossip) dialDue(ctx context.Context, now time.Time) {
	ids := g.ids()
	if ids.M.IsRevoked(g.self) {
		return
	}
	members := make([]peer.ID, 0, len(ids.List))
	for _, id := range ids.List {
		if p, ok := ids.ByNode[id]; ok && id != g.self {
			members = append(members, p)
		}
	}
	g.dialer.Due(ctx, now, members)
}

// redial brings the next dial of each named member closer (Redial).
func (g *Gossip) redial(nodes []record.NodeID) {
	ids := g.ids()
	var ps []peer.ID
	for _, id := range nodes {
		if p, ok := ids.ByNode[id]; ok && id != g.self {
			ps = append(ps, p)
		}
	}
	g.dialer.Soon(ps)
}

// onDisconnected schedules a prompt redial of a member that went away.
func (g *Gossip) onDisconnected(p peer.ID) {
	g.punch.Forget(p)
	if g.isMember(p) {
		g.dialer.Lost(p)
	}
}

// onFound dials a node found on the LAN; the hello exchange then lists it
// as pending or recognises it as a member.
func (g *Gossip) onFound(info peer.AddrInfo) {
	if g.connectedTo(info.ID) {
		return
	}
	g.h.Peerstore().AddAddrs(info.ID, info.Addrs, peerstore.TempAddrTTL)
	g.log.Debug("found on the LAN", "peer", info.ID)
	g.dialer.Now(info.ID)
}
