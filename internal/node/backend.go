package node

import (
	"context"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/credwriter"
	"github.com/credmesh/credmesh/internal/gossip"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/version"
)

// Status implements web.Node: what this node and its actors report.
func (n *Node) Status(ctx context.Context) (api.Status, error) {
	events, err := n.store.CountEvents(ctx)
	if err != nil {
		return api.Status{}, err
	}
	peers, err := n.replica.Peers(ctx)
	if err != nil {
		return api.Status{}, err
	}
	records, err := n.store.CountRecords(ctx)
	if err != nil {
		return api.Status{}, err
	}
	secrets, err := n.store.CountSecrets(ctx)
	if err != nil {
		return api.Status{}, err
	}
	c := api.Counts{Events: events, Secrets: secrets, Records: map[string]int{}, Rejects: map[string]int{}}
	for _, p := range peers {
		switch {
		case p.Member:
			c.Members++
			if p.Online {
				c.Online++
			}
		case p.Pending():
			c.Pending++
		}
	}
	for k, v := range records {
		c.Records[k.String()] = v
	}
	for r, v := range n.replica.RejectCounts() {
		c.Rejects[string(r)] = int(v)
	}
	c.Dropped = map[string]int{}
	for r, v := range n.replica.DropCounts() {
		c.Dropped[r] = int(v)
	}
	gs, err := n.GossipStats(ctx)
	if err != nil {
		return api.Status{}, err
	}
	now := n.cfg.Now()
	cw, err := n.credRef()
	if err != nil {
		return api.Status{}, err
	}
	cs, err := actor.Call(ctx, cw, func(reply chan<- credwriter.State) credwriter.Msg { return credwriter.GetState{Reply: reply} })
	if err != nil {
		return api.Status{}, err
	}
	creds := api.Credentials{State: "ok", Reason: cs.Reason, Dir: cs.Dir, Written: cs.Written, Failing: cs.Failing, Key: cs.Key}
	if !cs.OK {
		creds.State = "degraded"
	}
	m := n.replica.Members()
	role := m.Role(n.self).String()
	var revoked *api.Revocation
	if r, ok := m.Revocation(n.self); ok {
		role = "revoked"
		revoked = &api.Revocation{At: r.At.UTC(), Reason: r.Reason}
		for _, id := range r.By {
			revoked.By = append(revoked.By, string(id))
		}
	}
	return api.Status{
		Role:          role,
		Revoked:       revoked,
		Web:           n.WebURL(),
		Credentials:   creds,
		NodeID:        string(n.self),
		Hostname:      n.hostname,
		AgeRecipient:  n.id.Recipient(),
		Version:       version.String(),
		StartedAt:     n.started.UTC(),
		UptimeSeconds: now.Sub(n.started).Seconds(),
		DataDir:       n.cfg.DataDir,
		Counts:        c,
		Gossip: api.Gossip{BytesIn: gs.GossipIn, BytesOut: gs.GossipOut,
			HeartbeatSeconds: gs.Heartbeat.Seconds(), Connected: gs.Connected,
			Reachability: gs.Reachability, Reached: reachCounts(gs.Reach)},
	}, nil
}

// Ticket implements web.Node: this node's ID and the addresses it
// listens on.
func (n *Node) Ticket(ctx context.Context) (api.Ticket, error) {
	t, err := mesh{n}.Ticket(ctx)
	if err != nil {
		return api.Ticket{}, err
	}
	return api.Ticket{NodeID: string(n.self), Ticket: t.String()}, nil
}

// PeerScore implements web.Node: the node's GossipSub score here.
func (n *Node) PeerScore(ctx context.Context, node string) (float64, bool) {
	g, err := n.gossipRef()
	if err != nil {
		return 0, false
	}
	s, err := actor.Call(ctx, g, func(reply chan<- gossip.Score) gossip.Msg {
		return gossip.GetScore{Node: record.NodeID(node), Reply: reply}
	})
	return s.Score, err == nil && s.Known
}

// Reach implements web.Node: how every other member is reached now.
func (n *Node) Reach(ctx context.Context) (map[string]api.Reach, error) {
	gs, err := n.GossipStats(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]api.Reach, len(gs.Reach))
	for id, r := range gs.Reach {
		out[string(id)] = api.Reach{How: r.How, Via: string(r.Via), Addr: r.Addr, Why: r.Why}
	}
	return out, nil
}

// reachCounts counts members by how they are reached.
func reachCounts(rs map[record.NodeID]gossip.Reach) map[string]int {
	c := map[string]int{api.ReachDirect: 0, api.ReachHolePunched: 0, api.ReachRelayed: 0, api.ReachUnreachable: 0}
	for _, r := range rs {
		c[r.How]++
	}
	return c
}

// GossipStats returns the gossip actor's traffic and liveness numbers.
func (n *Node) GossipStats(ctx context.Context) (gossip.StatsResult, error) {
	g, err := n.gossipRef()
	if err != nil {
		return gossip.StatsResult{}, err
	}
	return actor.Call(ctx, g, func(reply chan<- gossip.StatsResult) gossip.Msg {
		return gossip.Stats{Reply: reply}
	})
}
