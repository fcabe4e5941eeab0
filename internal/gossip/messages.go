package gossip

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// Msg is the GossipActor's message type.
type Msg interface{ gossipMsg() }

// PublishRecord signs body as a record of Kind, stores it and publishes
// it. The reply carries the stored record or the error.
type PublishRecord struct {
	Kind  record.Kind
	Body  []byte
	Reply chan<- PublishResult
}

// PublishRecords signs several records of Kind, stores them in one
// transaction (all or none) and publishes them.
type PublishRecords struct {
	Kind   record.Kind
	Bodies [][]byte
	With   store.With // audit events and own copy, in the same transaction
	Reply  chan<- PublishManyResult
}

// PublishManyResult answers PublishRecords.
type PublishManyResult struct {
	Records []*record.Record
	Err     error
}

// PublishResult answers PublishRecord.
type PublishResult struct {
	Record *record.Record
	Err    error
}

// PublishEphemeral signs and publishes a message that is not stored
// (a sync request). Reply may be nil.
type PublishEphemeral struct {
	Kind  record.Kind
	Body  []byte
	Reply chan<- error
}

// AddPeer trusts the node a ticket names and dials it. With Join (a
// ticket or invite given to run, or any invite) this node joins the
// ticket's cluster: the node is trusted as an admin and nothing is
// published. Otherwise it is trusted with Role and, when this node is an
// admin, admitted for the mesh (an admit record).
type AddPeer struct {
	Ticket identity.Ticket
	Role   record.Role
	Join   bool
	Reply  chan<- AddPeerResult
}

// AddPeerResult answers AddPeer.
type AddPeerResult struct {
	NodeID   record.NodeID
	Added    bool // false when it was already trusted
	Admitted bool // an admit was published
	Err      error
}

// Approve trusts a pending node with Role and publishes an admit for it.
type Approve struct {
	Node  record.NodeID
	Role  record.Role
	Reply chan<- error
}

// SetRole promotes (RoleAdmin) or demotes (RoleNode) a member.
type SetRole struct {
	Node  record.NodeID
	Role  record.Role
	Reply chan<- error
}

// Revoke publishes a revoke record for Node: sticky, it beats every admit.
type Revoke struct {
	Node   record.NodeID
	Reason string
	Reply  chan<- error
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
	found   struct{ info peer.AddrInfo }
	claimed struct {
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

func (PublishRecord) gossipMsg()    {}
func (PublishRecords) gossipMsg()   {}
func (PublishEphemeral) gossipMsg() {}
func (AddPeer) gossipMsg()          {}
func (Stats) gossipMsg()            {}
func (tick) gossipMsg()             {}
func (heard) gossipMsg()            {}
func (left) gossipMsg()             {}
func (connected) gossipMsg()        {}
func (disconnected) gossipMsg()     {}
func (dialDone) gossipMsg()         {}
func (found) gossipMsg()            {}
func (Approve) gossipMsg()          {}
func (Revoke) gossipMsg()           {}
func (SetRole) gossipMsg()          {}
func (claimed) gossipMsg()          {}
func (claimDone) gossipMsg()        {}
