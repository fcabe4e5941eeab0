package gossip

import (
	"context"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"

	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
)

// publish publishes records this node stored.
func (g *Gossip) publish(ctx context.Context, raws [][]byte) {
	for _, raw := range raws {
		if err := g.topic.Publish(ctx, raw); err != nil {
			// Stored: anti-entropy delivers it even if this publish failed.
			g.log.Warn("publish failed; anti-entropy will deliver", "err", err)
		}
	}
}

// publishEphemeral signs and publishes a message that is not stored.
func (g *Gossip) publishEphemeral(ctx context.Context, kind record.Kind, body []byte) error {
	e, err := record.Seal(g.cfg.Identity.NodeKey(), kind, g.cfg.Self.NextSeq(), g.now(), body)
	if err != nil {
		return err
	}
	return g.topic.Publish(ctx, e.Raw())
}

// nodeRecord is this node's current node record body.
func (g *Gossip) nodeRecord() record.Node {
	var addrs []string
	for _, a := range g.h.Addrs() {
		addrs = append(addrs, a.String())
	}
	if len(addrs) > record.MaxAddrs {
		addrs = addrs[:record.MaxAddrs]
	}
	return record.Node{
		Hostname:     g.cfg.Hostname,
		AgeRecipient: g.cfg.Identity.Recipient(),
		Addrs:        addrs,
		AgentVersion: g.cfg.AgentVersion,
		StartedAt:    g.cfg.StartedAt,
	}
}

// dial remembers a ticket's addresses and dials its node now; an invite
// is presented at once when the node is connected already (else on
// connection).
func (g *Gossip) dial(ctx context.Context, t identity.Ticket) {
	info, err := t.AddrInfo()
	if err != nil || info.ID == g.h.ID() {
		return
	}
	g.h.Peerstore().AddAddrs(info.ID, info.Addrs, peerstore.PermanentAddrTTL)
	if t.IsInvite() && g.connectedTo(info.ID) {
		g.presentClaim(ctx, info.ID)
	}
	g.dialer.Now(info.ID)
}

// stats reports traffic and liveness.
func (g *Gossip) stats() StatsResult {
	var r StatsResult
	r.GossipIn, r.GossipOut = g.bwc.Totals()
	r.Heartbeat = g.heartbeatInterval()
	for _, l := range g.live {
		if l.online {
			r.Online++
		}
	}
	r.Connected = len(g.h.Network().Peers())
	r.Reachability = string(g.reach)
	r.Reach = g.reachAll()
	return r
}

// connectedTo reports whether there is a live connection to p.
func (g *Gossip) connectedTo(p peer.ID) bool {
	return len(g.h.Network().ConnsToPeer(p)) > 0
}
