package gossip

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"

	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// publishRecord signs, stores and publishes one of this node's records.
func (g *Gossip) publishRecord(ctx context.Context, kind record.Kind, body []byte) (*record.Record, error) {
	recs, err := g.publishRecords(ctx, kind, [][]byte{body}, store.With{})
	if err != nil {
		return nil, err
	}
	return recs[0], nil
}

// publishRecords signs and stores records in one transaction, then
// publishes them.
func (g *Gossip) publishRecords(ctx context.Context, kind record.Kind, bodies [][]byte, with store.With) ([]*record.Record, error) {
	recs, err := g.cfg.Store.AddOwnMany(ctx, g.now(), len(bodies), func(i int, seq uint64) (*record.Envelope, error) {
		return record.Seal(g.cfg.Identity.NodeKey(), kind, seq, g.now(), bodies[i])
	}, with)
	if err != nil {
		return nil, err
	}
	g.cfg.Sink.Accepted(recs)
	for _, rec := range recs {
		if err := g.topic.Publish(ctx, rec.Raw()); err != nil {
			// Stored: anti-entropy delivers it even if this publish failed.
			g.log.Warn("publish failed; anti-entropy will deliver", "kind", kind, "err", err)
		}
	}
	return recs, nil
}

// publishEphemeral signs and publishes a message that is not stored.
func (g *Gossip) publishEphemeral(ctx context.Context, kind record.Kind, body []byte) error {
	e, err := record.Seal(g.cfg.Identity.NodeKey(), kind, g.cfg.Store.NextSeq(g.now()), g.now(), body)
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

// publishNodeRecord stores a new node record when what this node says
// about itself changed (it always does at start: the start time). It is
// sent to peers by the hello exchange and anti-entropy.
func (g *Gossip) publishNodeRecord(ctx context.Context) error {
	if g.cfg.Store.Members().IsRevoked(g.self) {
		return nil // a revoked node's records count nowhere, its own store included
	}
	want := g.nodeRecord()
	cur, ok, err := g.cfg.Store.Latest(ctx, record.KindNode, string(g.self))
	if err != nil {
		return err
	}
	if ok {
		if e, err := record.Open(cur.Raw); err == nil {
			if have, err := record.DecodeNode(e.Body); err == nil && sameNode(have, want) {
				return nil
			}
		}
	}
	_, err = g.cfg.Store.AddOwn(ctx, g.now(), func(seq uint64) (*record.Envelope, error) {
		return record.Seal(g.cfg.Identity.NodeKey(), record.KindNode, seq, g.now(), want.Encode())
	})
	return err
}

func sameNode(a, b record.Node) bool {
	return a.Hostname == b.Hostname && a.AgeRecipient == b.AgeRecipient && a.AgentVersion == b.AgentVersion &&
		a.StartedAt.Equal(b.StartedAt) && slices.Equal(a.Addrs, b.Addrs)
}

// ErrOwnTicket is returned when a node is given its own ticket.
var ErrOwnTicket = errors.New("that is this node's own ticket")

// addPeer trusts the ticket's node and dials it. Joining (see AddPeer),
// it is trusted as an admin and nothing is published; otherwise it is
// trusted with role and, when this node is an admin, an admit is
// published for it the first time.
func (g *Gossip) addPeer(ctx context.Context, t identity.Ticket, role record.Role, join bool) AddPeerResult {
	info, err := t.AddrInfo()
	if err != nil {
		return AddPeerResult{Err: err}
	}
	id := record.NodeID(info.ID.String())
	if info.ID == g.h.ID() {
		return AddPeerResult{NodeID: id, Err: ErrOwnTicket}
	}
	m := g.cfg.Store.Members()
	if m.IsRevoked(id) {
		return AddPeerResult{NodeID: id, Err: fmt.Errorf("%s is %w", id, ErrRevoked)}
	}
	if m.IsRevoked(g.self) {
		return AddPeerResult{NodeID: id, Err: ErrSelfRevoked}
	}
	var addrs []string
	for _, a := range t.Addrs {
		addrs = append(addrs, a.String())
	}
	join = join || t.IsInvite()
	if role == 0 {
		role = record.RoleNode
	}
	trust := store.Trusted{NodeID: id, Source: store.TrustTicket, Role: role, Addrs: addrs}
	if join {
		trust.Source, trust.Role = store.TrustJoin, record.RoleAdmin
	}
	added, err := g.cfg.Store.AddTrust(ctx, g.now(), trust)
	if err != nil {
		return AddPeerResult{NodeID: id, Err: err}
	}
	if t.IsInvite() {
		if err := g.addInvite(ctx, id, t); err != nil {
			return AddPeerResult{NodeID: id, Err: err}
		}
	}
	res := AddPeerResult{NodeID: id, Added: added}
	if added && !join && m.IsAdmin(g.self) {
		admit := record.Admit{Subject: t.PublicKey, Source: record.AdmitTicket, Addrs: addrs, Role: trust.Role}
		if _, err := g.publishRecord(ctx, record.KindAdmit, admit.Encode()); err != nil {
			return AddPeerResult{NodeID: id, Err: fmt.Errorf("publish admit: %w", err)}
		}
		res.Admitted = true
	}
	if added {
		how := "joined its cluster"
		switch {
		case res.Admitted:
			how = "added by ticket as " + trust.Role.String() + "; admit published"
		case !join:
			how = "added by ticket as " + trust.Role.String() + "; trusted here only (this node is not an admin, so it admits nobody)"
		}
		g.log.Info("peer added", "node", id, "role", trust.Role, "join", join, "addrs", strings.Join(addrs, " "))
		_ = g.cfg.Store.AddEvent(ctx, store.Event{Time: g.now(), Type: "peer.added", Node: string(id), Message: how})
	}
	g.h.Peerstore().AddAddrs(info.ID, info.Addrs, peerstore.PermanentAddrTTL)
	if t.IsInvite() && g.connectedTo(info.ID) {
		g.presentClaim(ctx, info.ID)
	}
	g.dialNow(info.ID)
	return res
}

// stats reports traffic and liveness.
func (g *Gossip) stats() StatsResult {
	var r StatsResult
	for proto, s := range g.bwc.GetBandwidthByProtocol() {
		if strings.HasPrefix(string(proto), "/meshsub/") {
			r.GossipIn += s.TotalIn
			r.GossipOut += s.TotalOut
		}
	}
	r.Heartbeat = g.heartbeatInterval()
	for _, l := range g.live {
		if l.online {
			r.Online++
		}
	}
	r.Connected = len(g.h.Network().Peers())
	return r
}

// connectedTo reports whether there is a live connection to p.
func (g *Gossip) connectedTo(p peer.ID) bool {
	return len(g.h.Network().ConnsToPeer(p)) > 0
}
