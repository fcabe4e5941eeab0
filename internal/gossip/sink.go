package gossip

import "github.com/credmesh/credmesh/internal/record"

// Sink is where the GossipActor delivers what it learns. The node package
// implements it. Methods are called from the actor's own goroutines and
// must not block: forward to another actor's mailbox and return.
type Sink interface {
	// Accepted is called with records newly stored (received or own).
	Accepted(recs []*record.Record)
	// Pull asks for anti-entropy with a member: it just connected, or its
	// heartbeat shows records this node lacks.
	Pull(peer record.NodeID)
	// SyncRequested is called when a member asks this node to rewrite its
	// credentials (a sync request addressed to this node).
	SyncRequested(from record.NodeID)
}
