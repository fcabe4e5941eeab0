package p2p

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/credmesh/credmesh/internal/record"
)

// Counter counts what pubsub drops before the validator sees it. Called
// from pubsub's goroutines; must not block.
type Counter interface {
	CountRejection(reason record.Reason)
	CountDrops(reason string, n int)
}

// Tracer counts what pubsub drops before the validator sees it:
// duplicates (a replay within pubsub's seen window) are counted as such.
type Tracer struct{ C Counter }

var _ pubsub.RawTracer = Tracer{}

func (t Tracer) DuplicateMessage(*pubsub.Message) { t.C.CountRejection(record.ReasonDuplicate) }

// RejectMessage counts messages pubsub drops on its own before the
// validator runs (a full validation queue, throttling, a blacklisted
// peer); verdicts of the validator itself are audited there.
func (t Tracer) RejectMessage(_ *pubsub.Message, reason string) {
	switch reason {
	case pubsub.RejectValidationFailed, pubsub.RejectValidationIgnored, pubsub.RejectMissingSignature, pubsub.RejectUnexpectedSignature,
		pubsub.RejectUnexpectedAuthInfo, pubsub.RejectInvalidSignature, pubsub.RejectSelfOrigin:
		return
	}
	t.C.CountDrops(reason, 1)
}

// ThrottlePeer counts an RPC whose messages pubsub ignored because the
// peer's score is below the publish threshold.
func (t Tracer) ThrottlePeer(peer.ID) { t.C.CountDrops("throttled peer", 1) }

func (Tracer) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (Tracer) OnClosedOutboundStream(peer.ID)                       {}
func (Tracer) AddPeer(peer.ID, protocol.ID)                         {}
func (Tracer) RemovePeer(peer.ID)                                   {}
func (Tracer) Join(string)                                          {}
func (Tracer) Leave(string)                                         {}
func (Tracer) Graft(peer.ID, string)                                {}
func (Tracer) Prune(peer.ID, string)                                {}
func (Tracer) ValidateMessage(*pubsub.Message)                      {}
func (Tracer) DeliverMessage(*pubsub.Message)                       {}
func (Tracer) RecvRPC(*pubsub.RPC)                                  {}
func (Tracer) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (Tracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (Tracer) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (Tracer) UndeliverableMessage(*pubsub.Message)                 {}
