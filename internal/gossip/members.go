package gossip

import (
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/credmesh/credmesh/internal/gossip/p2p"
)

// ids returns the member peer IDs of the current membership snapshot,
// decoded once per snapshot. Safe from any goroutine.
func (g *Gossip) ids() *p2p.MemberIDs {
	m := g.cfg.Members.Members()
	if c := g.idCache.Load(); c != nil && c.M == m {
		return c
	}
	c := p2p.NewMemberIDs(m)
	g.idCache.Store(c)
	return c
}

// isMember is the membership test for libp2p and pubsub.
func (g *Gossip) isMember(p peer.ID) bool {
	_, ok := g.ids().ByPeer[p]
	return ok
}
