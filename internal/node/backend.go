package node

import (
	"context"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/version"
	"github.com/credmesh/credmesh/internal/web"
)

var _ web.Backend = (*Node)(nil)

// Status implements web.Backend.
func (n *Node) Status(ctx context.Context) (api.Status, error) {
	events, err := n.store.CountEvents(ctx)
	if err != nil {
		return api.Status{}, err
	}
	peers, err := n.store.Peers(ctx)
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
	for r, v := range n.store.RejectCounts() {
		c.Rejects[string(r)] = int(v)
	}
	c.Dropped = map[string]int{}
	for r, v := range n.store.DropCounts() {
		c.Dropped[r] = int(v)
	}
	gs, err := n.GossipStats(ctx)
	if err != nil {
		return api.Status{}, err
	}
	now := n.cfg.Now()
	cs := n.creds.Status()
	creds := api.Credentials{State: "ok", Reason: cs.Reason, Dir: cs.Dir, Written: cs.Written, Failing: cs.Failing}
	if !cs.OK {
		creds.State = "degraded"
	}
	m := n.store.Members()
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
			HeartbeatSeconds: gs.Heartbeat.Seconds(), Connected: gs.Connected},
	}, nil
}

// Ticket implements web.Backend: this node's ID and the addresses it
// listens on.
func (n *Node) Ticket(ctx context.Context) (api.Ticket, error) {
	return api.Ticket{NodeID: string(n.self), Ticket: n.gossip.Ticket().String()}, nil
}
