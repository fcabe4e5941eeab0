package gossip

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/credmesh/credmesh/internal/record"
)

// tracer counts what pubsub drops before the validator sees it:
// duplicates (a replay within pubsub's seen window) are counted as such.
type tracer struct{ c Counter }

var _ pubsub.RawTracer = tracer{}

func (t tracer) DuplicateMessage(*pubsub.Message) { t.c.CountRejection(record.ReasonDuplicate) }

// RejectMessage counts messages pubsub drops on its own before the
// validator runs (a full validation queue, throttling, a blacklisted
// peer); verdicts of the validator itself are audited there.
func (t tracer) RejectMessage(_ *pubsub.Message, reason string) {
	switch reason {
	case pubsub.RejectValidationFailed, pubsub.RejectValidationIgnored, pubsub.RejectMissingSignature, pubsub.RejectUnexpectedSignature,
		pubsub.RejectUnexpectedAuthInfo, pubsub.RejectInvalidSignature, pubsub.RejectSelfOrigin:
		return
	}
	t.c.CountDrops(reason, 1)
}

// ThrottlePeer counts an RPC whose messages pubsub ignored because the
// peer's score is below the publish threshold.
func (t tracer) ThrottlePeer(peer.ID) { t.c.CountDrops("throttled peer", 1) }

func (tracer) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (tracer) OnClosedOutboundStream(peer.ID)                       {}
func (tracer) AddPeer(peer.ID, protocol.ID)                         {}
func (tracer) RemovePeer(peer.ID)                                   {}
func (tracer) Join(string)                                          {}
func (tracer) Leave(string)                                         {}
func (tracer) Graft(peer.ID, string)                                {}
func (tracer) Prune(peer.ID, string)                                {}
func (tracer) ValidateMessage(*pubsub.Message)                      {}
func (tracer) DeliverMessage(*pubsub.Message)                       {}
func (tracer) RecvRPC(*pubsub.RPC)                                  {}
func (tracer) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (tracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (tracer) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (tracer) UndeliverableMessage(*pubsub.Message)                 {}
