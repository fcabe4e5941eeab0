package p2p

import (
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/credmesh/credmesh/internal/record"
)

// MemberIDs holds, for one membership snapshot, its members' libp2p peer
// IDs both ways. The membership test runs on every pubsub message, score
// and connection, and the dialer walks every member each second: with the
// IDs decoded once per snapshot, none of them base58-encodes or decodes a
// peer ID.
type MemberIDs struct {
	M      *record.Members
	List   []record.NodeID // sorted
	ByPeer map[peer.ID]record.NodeID
	ByNode map[record.NodeID]peer.ID
}

// NewMemberIDs decodes the IDs of m's members (m may be nil).
func NewMemberIDs(m *record.Members) *MemberIDs {
	c := &MemberIDs{M: m, ByPeer: map[peer.ID]record.NodeID{}, ByNode: map[record.NodeID]peer.ID{}}
	if m != nil {
		c.List = m.List()
		for _, id := range c.List {
			if p, err := peer.Decode(string(id)); err == nil {
				c.ByPeer[p], c.ByNode[id] = id, p
			}
		}
	}
	return c
}
