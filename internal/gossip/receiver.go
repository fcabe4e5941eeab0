package gossip

import (
	"context"
	"errors"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// validate is the topic validator: it runs inline for every message,
// before it is forwarded. Malformed, forged, oversized or mis-dated input
// is rejected (which lowers the forwarding peer's score); a well-formed
// message from someone who is not a member (or not yet, here) is ignored.
// Records are applied to the store by the receiver, which runs the
// stateful rules again.
func (g *Gossip) validate(ctx context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	if from == g.h.ID() {
		return pubsub.ValidationAccept
	}
	src := "gossip from " + from.String()
	env, err := record.Open(m.Data)
	if err != nil {
		g.auditReject(ctx, store.Rejection{Reason: record.ReasonOf(err), Detail: err.Error(), From: src})
		return pubsub.ValidationReject
	}
	members := g.cfg.Store.Members()
	body, err := record.Check(env, members, g.now())
	if err != nil && g.cfg.Store.CounterRevokeCounts(ctx, env, g.now(), err) {
		// A crossed revocation: its author is revoked here, but the revoke
		// counts in its own view (the store keeps it).
		body, err = record.DecodeBody(env)
	}
	if err != nil {
		g.auditReject(ctx, store.Rejection{Kind: env.Kind, Author: env.AuthorID(), ID: env.ID().String(),
			Reason: record.ReasonOf(err), Detail: err.Error(), From: src})
		switch record.ReasonOf(err) {
		case record.ReasonNotMember, record.ReasonRevoked:
			return pubsub.ValidationIgnore
		}
		return pubsub.ValidationReject
	}
	m.ValidatorData = &record.Record{Envelope: env, Body: body}
	return pubsub.ValidationAccept
}

func (g *Gossip) auditReject(ctx context.Context, r store.Rejection) {
	if err := g.cfg.Store.AuditRejection(ctx, g.now(), r); err != nil && !errors.Is(err, context.Canceled) {
		g.log.Warn("audit rejection failed", "err", err)
	}
	g.log.Debug("rejected message", "reason", r.Reason, "from", r.From, "author", r.Author)
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
		g.cfg.Store.CountDrops("not a member", n)
		return nil
	}
	g.scoresMu.Lock()
	sc, ok := g.scores[from]
	g.scoresMu.Unlock()
	if ok && sc < graylistThreshold {
		g.cfg.Store.CountDrops("graylisted peer", n)
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
			g.apply(ctx, envs, "gossip")
		}
	}
	err := <-pumpErr
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// dispatch handles an ephemeral message or appends a record to envs.
func (g *Gossip) dispatch(m *pubsub.Message, envs []*record.Envelope) []*record.Envelope {
	rec, ok := m.ValidatorData.(*record.Record)
	if !ok {
		return envs
	}
	if rec.Kind.IsRecord() {
		return append(envs, rec.Envelope)
	}
	switch b := rec.Body.(type) {
	case record.Heartbeat:
		_ = g.ref.Cast(heard{id: rec.AuthorID(), hb: &b})
	case record.Leaving:
		_ = g.ref.Cast(left{id: rec.AuthorID()})
	case record.SyncRequest:
		if b.TargetID() == g.self {
			g.cfg.Sink.SyncRequested(rec.AuthorID())
		}
	}
	return envs
}

// apply stores records and hands the accepted ones to the sink.
func (g *Gossip) apply(ctx context.Context, envs []*record.Envelope, from string) {
	outs, err := g.cfg.Store.Apply(ctx, g.now(), envs, from)
	if err != nil {
		if ctx.Err() == nil {
			g.log.Warn("storing received records failed; anti-entropy will retry", "err", err)
		}
		return
	}
	var accepted []*record.Record
	for _, o := range outs {
		if o.Accepted() {
			accepted = append(accepted, o.Record)
		}
	}
	if len(accepted) > 0 {
		g.cfg.Sink.Accepted(accepted)
	}
}
