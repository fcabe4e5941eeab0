package node

import (
	"context"
	"fmt"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/antientropy"
	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/gossip"
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/sysinfo"
)

// The node is the glue between actors: it implements the sinks and
// publishers the lower layers declare.
var (
	_ gossip.Sink       = (*Node)(nil)
	_ antientropy.Sink  = (*Node)(nil)
	_ sysinfo.Publisher = (*Node)(nil)
)

// Accepted implements gossip.Sink and antientropy.Sink: records newly
// stored, however they arrived.
func (n *Node) Accepted(recs []*record.Record) {
	for _, r := range recs {
		n.log.Debug("record stored", "kind", r.Kind, "author", r.AuthorID(), "record", r.ID().Short())
	}
	if n.cfg.Observe != nil {
		n.cfg.Observe(recs)
	}
}

// Pull implements gossip.Sink: ask anti-entropy to pull from peer.
func (n *Node) Pull(peer record.NodeID) {
	if err := n.aeRef.Cast(antientropy.Pull{Peer: peer}); err != nil {
		n.log.Debug("pull not queued", "node", peer, "err", err)
	}
}

// SyncRequested implements gossip.Sink (the credentials part acts on it).
func (n *Node) SyncRequested(from record.NodeID) {
	n.log.Debug("sync requested", "by", from)
}

// PublishSysinfo implements sysinfo.Publisher.
func (n *Node) PublishSysinfo(ctx context.Context, body []byte) error {
	_, err := n.Publish(ctx, record.KindSysinfo, body)
	return err
}

// AddPeer implements web.Backend.
func (n *Node) AddPeer(ctx context.Context, ticket string) (api.AddPeerResult, error) {
	t, err := identity.ParseTicket(ticket)
	if err != nil {
		return api.AddPeerResult{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	return n.addPeer(ctx, t)
}

func (n *Node) addPeer(ctx context.Context, t identity.Ticket) (api.AddPeerResult, error) {
	res, err := actor.Call(ctx, n.gossipRef, func(reply chan<- gossip.AddPeerResult) gossip.Msg {
		return gossip.AddPeer{Ticket: t, Reply: reply}
	})
	if err != nil {
		return api.AddPeerResult{}, err
	}
	if res.Err == gossip.ErrOwnTicket {
		return api.AddPeerResult{}, fmt.Errorf("%w: %v", api.ErrInvalid, res.Err)
	}
	if res.Err != nil {
		return api.AddPeerResult{}, res.Err
	}
	return api.AddPeerResult{NodeID: string(res.NodeID), Added: res.Added}, nil
}

// ID returns this node's ID.
func (n *Node) ID() record.NodeID { return n.self }

// Publish signs, stores and publishes one of this node's records.
func (n *Node) Publish(ctx context.Context, kind record.Kind, body []byte) (*record.Record, error) {
	res, err := actor.Call(ctx, n.gossipRef, func(reply chan<- gossip.PublishResult) gossip.Msg {
		return gossip.PublishRecord{Kind: kind, Body: body, Reply: reply}
	})
	if err != nil {
		return nil, err
	}
	return res.Record, res.Err
}

// GossipStats returns the gossip actor's traffic and liveness numbers.
func (n *Node) GossipStats(ctx context.Context) (gossip.StatsResult, error) {
	return actor.Call(ctx, n.gossipRef, func(reply chan<- gossip.StatsResult) gossip.Msg {
		return gossip.Stats{Reply: reply}
	})
}
