package gossip

import (
	"context"
	"time"

	"github.com/credmesh/credmesh/internal/gossip/p2p"
	"github.com/credmesh/credmesh/internal/record"
)

// The interfaces below are what the GossipActor needs from the rest of
// the node; it declares them and node wires them (to the replica, which
// owns the node's replicated state, and to other actors). Unless a method
// says otherwise it is called from the actor's own goroutines (its
// handler, the topic validator, the receiver loop and stream handlers)
// and may block briefly on the store, never on another actor.

// Membership gives the current membership snapshot: who is meshed with,
// dialled and heard.
type Membership interface {
	Members() *record.Members
}

// Channel is how a message reached this node.
type Channel uint8

// The channels.
const (
	ViaTopic       Channel = iota // the GossipSub topic
	ViaHello                      // a peer's node record on a new connection
	ViaNotice                     // a revocation notice sent to this node
	ViaSyncRequest                // a sync request sent straight to this node
)

// Refusal is a message refused before the sink saw it (it did not open,
// or was not what the channel carries).
type Refusal struct {
	Env     *record.Envelope // nil when it did not open
	Reason  record.Reason
	Detail  string
	Channel Channel
	From    record.NodeID // the peer that sent it ("" on the topic)
}

// Sink takes the records and hellos gossip receives, verified (they
// opened: the author's signature holds over the exact bytes).
type Sink interface {
	// Check runs the acceptance rules for the topic validator, before a
	// message is forwarded; a refusal is audited by the sink.
	Check(ctx context.Context, env *record.Envelope, from record.NodeID) (*record.Record, error)
	// Received applies records: a batch from the topic (from is "") or a
	// revocation notice from a peer.
	Received(ctx context.Context, envs []*record.Envelope, ch Channel, from record.NodeID)
	// Hello takes a peer's own node record on a new connection (remote is
	// where it connected from, source its address without the port);
	// member reports whether the peer is a member (then it is pulled
	// from). An error refuses the peer.
	Hello(ctx context.Context, env *record.Envelope, n record.Node, remote, source string) (member bool, err error)
	// Refused audits a refused message (rate-limited).
	Refused(ctx context.Context, r Refusal)
}

// Self is what gossip needs to speak for this node.
type Self interface {
	// Announce stores this node's node record when what it says changed
	// (in PreStart, and again when its advertised addresses change) and
	// returns the new record's bytes, nil when nothing changed.
	Announce(ctx context.Context, n record.Node) ([]byte, error)
	// NodeRecord returns this node's latest node record, for hellos.
	NodeRecord(ctx context.Context) ([]byte, error)
	// NextSeq reserves a sequence for an ephemeral message (heartbeat,
	// leaving, sync request).
	NextSeq() uint64
}

// Liveness is one member's heartbeat state, to save.
type Liveness struct {
	NodeID   record.NodeID
	LastSeen time.Time
	Online   bool
}

// Directory is what gossip reads and saves about other nodes.
type Directory interface {
	// KnownAddrs returns every address known for id (node record, where it
	// connected from, ticket, admits).
	KnownAddrs(ctx context.Context, id record.NodeID) []string
	// LatestSeq returns the highest sequence among stored records by id.
	LatestSeq(ctx context.Context, id record.NodeID) (uint64, error)
	// SaveLiveness saves heartbeat state for several members at once.
	SaveLiveness(ctx context.Context, ls []Liveness) error
	// Records returns the raw bytes of the stored records among ids (the
	// revokes a revocation notice carries).
	Records(ctx context.Context, ids []record.ID) ([][]byte, error)
}

// Invites presents this node's invites and takes the ones presented to
// it. Claim is called from the actor's handler.
type Invites interface {
	// Claim takes an invite token presented by claimant; the error is
	// the answer the claimant gets.
	Claim(ctx context.Context, claimant record.NodeID, token []byte, addrs []string) error
	// PendingClaim returns the token of an invite to present to inviter.
	PendingClaim(ctx context.Context, inviter record.NodeID) ([]byte, bool)
	// ClaimAnswered records the inviter's answer ("" when accepted).
	ClaimAnswered(ctx context.Context, inviter record.NodeID, refusal string)
}

// Events tells the rest of the node what happened on the mesh. Methods
// must not block: forward to another actor's mailbox and return.
type Events interface {
	// Pull asks for anti-entropy with a member: it just connected, or its
	// heartbeat shows records this node lacks.
	Pull(peer record.NodeID)
	// SyncRequested is called when a member asks this node to rewrite its
	// credentials (a sync request addressed to this node).
	SyncRequested(from record.NodeID)
}

// Counter counts what pubsub drops before the validator sees it. Called
// from pubsub's goroutines; must not block.
type Counter = p2p.Counter
