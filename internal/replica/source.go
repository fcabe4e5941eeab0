package replica

import "github.com/credmesh/credmesh/internal/record"

// Via is the way a record or message reached this node.
type Via uint8

// The ways in.
const (
	Mine        Via = iota // written by this node
	Gossip                 // the GossipSub topic
	AntiEntropy            // a pull from a peer's log
	Hello                  // a peer's own node record, on a new connection
	Notice                 // a revocation notice sent to this (revoked) node
	SyncRequest            // a sync request sent straight to this node
	Invite                 // an invite presented to this node
	Stream                 // another request stream (a refused pull)
)

// Source says where records came from: the way and, when known, the peer
// that sent them (a gossip batch mixes peers and names none).
type Source struct {
	Via  Via
	Peer record.NodeID
}

// String is the source as the audit log names it.
func (s Source) String() string {
	var what string
	switch s.Via {
	case Mine:
		return "this node"
	case Gossip:
		what = "gossip"
	case AntiEntropy:
		what = "anti-entropy"
	case Hello:
		what = "hello"
	case Notice:
		what = "revocation notice"
	case SyncRequest:
		what = "sync request"
	case Invite:
		what = "invite"
	default:
		what = "stream"
	}
	if s.Peer == "" {
		return what
	}
	return what + " from " + string(s.Peer)
}
