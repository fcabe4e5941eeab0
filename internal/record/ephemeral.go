package record

import (
	"crypto/ed25519"
	"time"
)

// Heartbeat is the body of a heartbeat: the sender is alive, the highest
// sequence among the records it authored (so peers notice one they miss),
// and its heartbeat interval (so peers know when it is overdue).
type Heartbeat struct {
	LatestSeq uint64
	Interval  time.Duration // millisecond precision
}

// Encode returns the body bytes.
func (h Heartbeat) Encode() []byte {
	var w writer
	w.uvarint(h.LatestSeq)
	w.uvarint(uint64(max(h.Interval.Milliseconds(), 0)))
	return w.b
}

// Heartbeat intervals a peer may announce.
const (
	MinHeartbeat = 100 * time.Millisecond
	MaxHeartbeat = 10 * time.Minute
)

// DecodeHeartbeat decodes and validates a heartbeat body.
func DecodeHeartbeat(b []byte) (Heartbeat, error) {
	r := reader{b: b}
	h := Heartbeat{LatestSeq: r.uvarint("latest seq")}
	ms := r.uvarint("interval")
	if err := r.done(); err != nil {
		return Heartbeat{}, reject(ReasonMalformed, "heartbeat: %v", err)
	}
	h.Interval = time.Duration(min(ms, uint64(MaxHeartbeat/time.Millisecond))) * time.Millisecond
	if h.Interval < MinHeartbeat {
		return Heartbeat{}, reject(ReasonMalformed, "heartbeat: interval %v below %v", h.Interval, MinHeartbeat)
	}
	return h, nil
}

// Leaving is the (empty) body of the message a node sends when it stops
// gracefully.
type Leaving struct{}

// Encode returns the body bytes.
func (Leaving) Encode() []byte { return nil }

// DecodeLeaving validates a leaving body.
func DecodeLeaving(b []byte) (Leaving, error) {
	if len(b) != 0 {
		return Leaving{}, reject(ReasonMalformed, "leaving: %d unexpected bytes", len(b))
	}
	return Leaving{}, nil
}

// SyncRequest asks one node (Target) to rewrite all its credentials now.
// Every node receives it; only the target acts on it.
type SyncRequest struct {
	Target ed25519.PublicKey
}

// TargetID returns the target's node ID.
func (s SyncRequest) TargetID() NodeID { return NodeIDOf(s.Target) }

// Encode returns the body bytes.
func (s SyncRequest) Encode() []byte {
	var w writer
	w.fixed(s.Target)
	return w.b
}

// DecodeSyncRequest decodes and validates a sync request body.
func DecodeSyncRequest(b []byte) (SyncRequest, error) {
	r := reader{b: b}
	s := SyncRequest{Target: ed25519.PublicKey(r.fixed("target", ed25519.PublicKeySize))}
	if err := r.done(); err != nil {
		return SyncRequest{}, reject(ReasonMalformed, "sync request: %v", err)
	}
	return s, nil
}
