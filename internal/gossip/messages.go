package gossip

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
)

// Msg is the GossipActor's message type.
type Msg interface{ gossipMsg() }

// Publish publishes records this node stored (raw envelopes) on the
// topic. A publish that fails is logged: anti-entropy delivers them.
type Publish struct {
	Raw [][]byte
}

// Dial has the node a ticket names dialled now, whatever its backoff,
// with the ticket's addresses remembered; with an invite ticket, the
// invite is presented once connected. It trusts nothing by itself.
type Dial struct {
	Ticket identity.Ticket
}

// Redial has the members named dialled again soon, whatever their
// backoff, if they are not connected: their node records changed, so
// they may be reachable where they were not (a relay slot, a new port).
type Redial struct {
	Nodes []record.NodeID
}

// GetTicket asks for this node's ticket with the addresses it listens on.
type GetTicket struct {
	Reply chan<- identity.Ticket
}

// GetScore asks for a node's last GossipSub score.
type GetScore struct {
	Node  record.NodeID
	Reply chan<- Score
}

// Score answers GetScore; Known is false when the node has no score.
type Score struct {
	Score float64
	Known bool
}

// Stats asks for traffic and liveness numbers.
type Stats struct {
	Reply chan<- StatsResult
}

// StatsResult answers Stats.
type StatsResult struct {
	// GossipIn and GossipOut are bytes on GossipSub streams since start.
	GossipIn, GossipOut int64
	Heartbeat           time.Duration // the interval in use
	Online              int           // members heard from recently
	Connected           int
	// Reachability is public or private; a public node relays for members.
	Reachability string
	// Reach says how every other member is reached.
	Reach map[record.NodeID]Reach
}

// Internal messages from the actor's own loops and libp2p callbacks.
type (
	tick  struct{}
	heard struct {
		id record.NodeID
		hb *record.Heartbeat
	}
	left      struct{ id record.NodeID }
	connected struct {
		p       peer.ID
		inbound bool
	}
	disconnected struct{ p peer.ID }
	dialDone     struct {
		p   peer.ID
		err error
	}
	found        struct{ info peer.AddrInfo }
	addrsChanged struct{}
	claimed      struct {
		claimant record.NodeID
		token    []byte
		addrs    []string
		reply    chan<- error
	}
	claimDone struct {
		inviter record.NodeID
		err     error
	}
)

func (Publish) gossipMsg()      {}
func (Dial) gossipMsg()         {}
func (Redial) gossipMsg()       {}
func (GetTicket) gossipMsg()    {}
func (GetScore) gossipMsg()     {}
func (Stats) gossipMsg()        {}
func (tick) gossipMsg()         {}
func (heard) gossipMsg()        {}
func (left) gossipMsg()         {}
func (connected) gossipMsg()    {}
func (disconnected) gossipMsg() {}
func (dialDone) gossipMsg()     {}
func (found) gossipMsg()        {}
func (addrsChanged) gossipMsg() {}
func (claimed) gossipMsg()      {}
func (claimDone) gossipMsg()    {}
