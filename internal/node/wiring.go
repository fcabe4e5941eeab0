package node

import (
	"context"
	"fmt"
	"time"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/antientropy"
	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/credwriter"
	"github.com/credmesh/credmesh/internal/gossip"
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/sysinfo"
	"github.com/credmesh/credmesh/internal/web"
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
	membership := false
	for _, r := range recs {
		n.log.Debug("record stored", "kind", r.Kind, "author", r.AuthorID(), "record", r.ID().Short())
		membership = membership || r.Kind == record.KindAdmit || r.Kind == record.KindRevoke
		// However a version for this node arrived, the credential writer
		// hears of it the same way.
		if s, ok := r.Body.(record.Secret); ok && s.TargetID() == n.self {
			if err := n.credRef.Cast(credwriter.SyncSecret{Name: s.Name, Version: s.Version}); err != nil {
				n.log.Warn("credential writer not told; the next sync will catch up", "secret", s.Name, "err", err)
			}
		}
	}
	if membership {
		// Who counts may have changed, and with it the current version of
		// this node's secrets: the writer checks them all (it writes only
		// what changed).
		if err := n.credRef.Cast(credwriter.SyncAll{Reason: "membership changed"}); err != nil {
			n.log.Warn("credential writer not told; the next sync will catch up", "err", err)
		}
	}
	if n.cfg.Observe != nil {
		n.cfg.Observe(recs)
	}
	now := n.cfg.Now()
	for _, r := range recs {
		if r.AuthorID() != n.self {
			n.metrics.ObserveDelivery(now.Sub(r.Time))
		}
	}
}

// LoginURL returns a one-time login URL for the web UI, valid for ttl
// (web.LoginCodeTTL when 0).
func (n *Node) LoginURL(ttl time.Duration) (api.LoginURL, error) {
	if n.web == nil || n.guard == nil {
		return api.LoginURL{}, fmt.Errorf("%w: the web UI is off (run without --no-web)", api.ErrNotFound)
	}
	if ttl <= 0 {
		ttl = web.LoginCodeTTL
	}
	code, exp := n.guard.LoginCode(ttl)
	return api.LoginURL{URL: n.web.URL() + "/login?code=" + code, Expires: exp.UTC()}, nil
}

// WebURL returns the web UI's base URL ("" when it is off).
func (n *Node) WebURL() string {
	if n.web == nil {
		return ""
	}
	return n.web.URL()
}

// Pull implements gossip.Sink: ask anti-entropy to pull from peer. A
// revoked node pulls from nobody (every member refuses it).
func (n *Node) Pull(peer record.NodeID) {
	if n.store.Members().IsRevoked(n.self) {
		return
	}
	if err := n.aeRef.Cast(antientropy.Pull{Peer: peer}); err != nil {
		n.log.Debug("pull not queued", "node", peer, "err", err)
	}
}

// SyncRequested implements gossip.Sink: a member asked this node to
// rewrite its credentials.
func (n *Node) SyncRequested(from record.NodeID) {
	n.log.Info("credential sync requested", "by", from)
	n.audit(context.Background(), EventSyncReceived, "sync requested by "+string(from), map[string]any{"from": from})
	if err := n.credRef.Cast(credwriter.SyncAll{Force: true, Reason: "requested by " + string(from)}); err != nil {
		n.log.Warn("sync request not queued", "err", err)
	}
}

// PublishReceipts implements credwriter.Publisher. A receipt that would
// not decode is dropped (and logged) rather than failing the batch.
func (n *Node) PublishReceipts(ctx context.Context, bodies [][]byte) error {
	good := bodies[:0:0]
	for _, b := range bodies {
		if _, err := record.DecodeReceipt(b); err != nil {
			n.log.Error("a receipt this node made does not decode; dropped", "err", err)
			continue
		}
		good = append(good, b)
	}
	if bodies = good; len(bodies) == 0 {
		return nil
	}
	res, err := actor.Call(ctx, n.gossipRef, func(reply chan<- gossip.PublishManyResult) gossip.Msg {
		return gossip.PublishRecords{Kind: record.KindReceipt, Bodies: bodies, Reply: reply}
	})
	if err != nil {
		return err
	}
	return res.Err
}

// Audit event types of sync requests.
const (
	EventSyncRequested = "sync.requested"
	EventSyncReceived  = "sync.received"
)

// Sync implements web.Backend: rewrite this node's credentials now, or ask
// node to rewrite its own (a signed sync request that only it acts on).
func (n *Node) Sync(ctx context.Context, node string) (api.SyncResult, error) {
	target := n.self
	if node != "" {
		peers, err := n.store.Peers(ctx)
		if err != nil {
			return api.SyncResult{}, err
		}
		if target, err = web.Resolve(peers, web.Self{ID: n.self, Hostname: n.hostname}, node); err != nil {
			return api.SyncResult{}, err
		}
	}
	if target == n.self {
		n.audit(ctx, EventSyncRequested, "credential sync of this node", map[string]any{"target": target})
		if err := n.credRef.Cast(credwriter.SyncAll{Force: true, Reason: "credmesh sync"}); err != nil {
			return api.SyncResult{}, err
		}
		return api.SyncResult{Target: string(target), Local: true}, nil
	}
	if !n.store.Members().IsMember(target) {
		return api.SyncResult{}, fmt.Errorf("%w: %s is not a member", api.ErrInvalid, target)
	}
	if err := n.sendSyncRequest(ctx, target); err != nil {
		return api.SyncResult{}, err
	}
	n.audit(ctx, EventSyncRequested, "credential sync requested of "+string(target), map[string]any{"target": target})
	return api.SyncResult{Target: string(target)}, nil
}

// PublishSysinfo implements sysinfo.Publisher. A revoked node publishes
// nothing: its records count nowhere.
func (n *Node) PublishSysinfo(ctx context.Context, body []byte) error {
	if n.store.Members().IsRevoked(n.self) {
		return nil
	}
	_, err := n.Publish(ctx, record.KindSysinfo, body)
	return err
}

// AddPeer implements web.Backend: trust the node a ticket names with a
// role (and admit it, on an admin).
func (n *Node) AddPeer(ctx context.Context, ticket, roleName string) (api.AddPeerResult, error) {
	role, err := parseRole(roleName)
	if err != nil {
		return api.AddPeerResult{}, err
	}
	t, err := identity.ParseTicket(ticket)
	if err != nil {
		return api.AddPeerResult{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	return n.addPeer(ctx, t, role, false)
}

func (n *Node) addPeer(ctx context.Context, t identity.Ticket, role record.Role, join bool) (api.AddPeerResult, error) {
	res, err := actor.Call(ctx, n.gossipRef, func(reply chan<- gossip.AddPeerResult) gossip.Msg {
		return gossip.AddPeer{Ticket: t, Role: role, Join: join, Reply: reply}
	})
	if err != nil {
		return api.AddPeerResult{}, err
	}
	if res.Err != nil {
		return api.AddPeerResult{}, trustError(res.Err)
	}
	out := api.AddPeerResult{NodeID: string(res.NodeID), Added: res.Added, Admitted: res.Admitted, Role: role.String()}
	if join || t.IsInvite() {
		out.Role, out.Joined = record.RoleAdmin.String(), true
	}
	return out, nil
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
