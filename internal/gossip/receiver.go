package gossip

import (
	"context"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/credmesh/credmesh/internal/gossip/p2p"
	"github.com/credmesh/credmesh/internal/record"
)

// validate is the topic validator: it runs inline for every message,
// before it is forwarded. Malformed, forged, oversized or mis-dated input
// is rejected (which lowers the forwarding peer's score); a well-formed
// message from someone who is not a member (or not yet, here) is ignored.
// The sink runs the acceptance rules (and audits a refusal); records are
// applied by the receiver, which has the sink run them again in order.
func (g *Gossip) validate(ctx context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	if from == g.h.ID() {
		return pubsub.ValidationAccept
	}
	src := record.NodeID(from.String())
	env, err := record.Open(m.Data)
	if err != nil {
		g.cfg.Sink.Refused(ctx, Refusal{Reason: record.ReasonOf(err), Detail: err.Error(), Channel: ViaTopic, From: src})
		return pubsub.ValidationReject
	}
	rec, err := g.cfg.Sink.Check(ctx, env, src)
	if err != nil {
		switch record.ReasonOf(err) {
		case record.ReasonNotMember, record.ReasonRevoked:
			return pubsub.ValidationIgnore
		}
		return pubsub.ValidationReject
	}
	if hb, ok := rec.Body.(record.Heartbeat); ok {
		// Heard first-hand only, never forwarded: every member
		// flood-publishes its heartbeat to each member it is connected
		// to, so a forwarded copy only repeats what they heard, and at
		// idle those copies were half of what a node received.
		_ = g.ref.Cast(heard{id: rec.AuthorID(), hb: &hb})
		return pubsub.ValidationIgnore
	}
	m.ValidatorData = rec
	return pubsub.ValidationAccept
}

// inspectRPC sees every RPC before pubsub does anything with it, and
// counts the messages it is about to drop unseen by the validator: from
// peers that are not members (filtered out of the topic) or whose score
// fell below the graylist threshold (ignored). It never refuses anything.
func (g *Gossip) inspectRPC(from peer.ID, rpc *pubsub.RPC) error {
	n := len(rpc.GetPublish())
	if n == 0 {
		return nil
	}
	if !g.isMember(from) {
		g.cfg.Counter.CountDrops("not a member", n)
		return nil
	}
	g.scoresMu.Lock()
	sc, ok := g.scores[from]
	g.scoresMu.Unlock()
	if ok && sc < p2p.GraylistThreshold {
		g.cfg.Counter.CountDrops("graylisted peer", n)
	}
	return nil
}

// receiveBatch is how many records the receiver applies per transaction.
const receiveBatch = 256

// receive pumps validated messages from the subscription and handles
// them: records are applied in batches, ephemeral messages dispatched.
func (g *Gossip) receive(ctx context.Context) error {
	msgs := make(chan *pubsub.Message, 4096)
	pumpErr := make(chan error, 1)
	go func() {
		defer close(msgs)
		for {
			m, err := g.sub.Next(ctx)
			if err != nil {
				pumpErr <- err
				return
			}
			if m.ReceivedFrom == g.h.ID() {
				continue // our own publish, already stored
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				pumpErr <- ctx.Err()
				return
			}
		}
	}()
	var envs []*record.Envelope
	for m := range msgs {
		envs = envs[:0]
		envs = g.dispatch(m, envs)
	drain:
		for len(envs) < receiveBatch {
			select {
			case m, ok := <-msgs:
				if !ok {
					break drain
				}
				envs = g.dispatch(m, envs)
			default:
				break drain
			}
		}
		if len(envs) > 0 {
			g.cfg.Sink.Received(ctx, envs, ViaTopic, "")
		}
	}
	err := <-pumpErr
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// dispatch handles an ephemeral message or appends a record to envs
// (heartbeats are handled in validate).
func (g *Gossip) dispatch(m *pubsub.Message, envs []*record.Envelope) []*record.Envelope {
	rec, ok := m.ValidatorData.(*record.Record)
	if !ok {
		return envs
	}
	if rec.Kind.IsRecord() {
		return append(envs, rec.Envelope)
	}
	switch b := rec.Body.(type) {
	case record.Leaving:
		_ = g.ref.Cast(left{id: rec.AuthorID()})
	case record.SyncRequest:
		if b.TargetID() == g.self {
			g.cfg.Events.SyncRequested(rec.AuthorID())
		}
	}
	return envs
}
