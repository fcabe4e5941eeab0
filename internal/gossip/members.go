package gossip

import (
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/credmesh/credmesh/internal/record"
)

// memberIDs holds, for one membership snapshot, its members' libp2p peer
// IDs both ways. The membership test runs on every pubsub message, score
// and connection, and the dialer walks every member each second: with the
// IDs decoded once per snapshot, none of them base58-encodes or decodes a
// peer ID.
type memberIDs struct {
	m      *record.Members
	list   []record.NodeID // sorted
	byPeer map[peer.ID]record.NodeID
	byNode map[record.NodeID]peer.ID
}

// ids returns the member IDs of the current snapshot, building them once
// per snapshot. Safe from any goroutine.
func (g *Gossip) ids() *memberIDs {
	m := g.cfg.Members.Members()
	if c := g.idCache.Load(); c != nil && c.m == m {
		return c
	}
	c := &memberIDs{m: m, byPeer: map[peer.ID]record.NodeID{}, byNode: map[record.NodeID]peer.ID{}}
	if m != nil {
		c.list = m.List()
		for _, id := range c.list {
			if p, err := peer.Decode(string(id)); err == nil {
				c.byPeer[p], c.byNode[id] = id, p
			}
		}
	}
	g.idCache.Store(c)
	return c
}

// isMember is the membership test for libp2p and pubsub.
func (g *Gossip) isMember(p peer.ID) bool {
	_, ok := g.ids().byPeer[p]
	return ok
}
