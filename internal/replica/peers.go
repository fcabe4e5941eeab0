package replica

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// Peers returns every node this node knows of (itself excluded): members,
// pending and revoked nodes, with their membership, sorted by hostname
// then ID. Members known only through an admit or a ticket are listed too.
func (r *Replica) Peers(ctx context.Context) ([]store.Peer, error) {
	rows, err := r.st.Peers(ctx)
	if err != nil {
		return nil, err
	}
	m := r.Members()
	seen := map[record.NodeID]bool{}
	var list []store.Peer
	for _, p := range rows {
		if p.NodeID == r.self {
			continue
		}
		seen[p.NodeID] = true
		list = append(list, withMembership(p, m))
	}
	var extra []record.NodeID
	for _, id := range m.List() {
		if id != r.self && !seen[id] {
			extra = append(extra, id)
		}
	}
	if len(extra) > 0 {
		trust, err := r.st.TrustList(ctx)
		if err != nil {
			return nil, err
		}
		source := map[record.NodeID]string{}
		for _, t := range trust {
			source[t.NodeID] = t.Source
		}
		for _, id := range extra {
			list = append(list, withMembership(store.Peer{NodeID: id, Trust: source[id]}, m))
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Hostname != list[j].Hostname {
			return list[i].Hostname < list[j].Hostname
		}
		return list[i].NodeID < list[j].NodeID
	})
	return list, nil
}

func withMembership(p store.Peer, m *record.Members) store.Peer {
	p.Member = m.IsMember(p.NodeID)
	p.Role = m.Role(p.NodeID)
	p.Revoked = m.IsRevoked(p.NodeID)
	return p
}

// Peer returns one peer by ID with its membership (ok is false when
// nothing is stored about it; it may still be a member known only through
// an admit).
func (r *Replica) Peer(ctx context.Context, id record.NodeID) (store.Peer, bool, error) {
	p, ok, err := r.st.Peer(ctx, id)
	if err != nil || !ok {
		return p, ok, err
	}
	return withMembership(p, r.Members()), true, nil
}

// MaxPending bounds the pending list: at most this many nodes that are
// neither members nor revoked nor trusted are kept (the one first seen
// longest ago is dropped for a new one). New pending nodes also go
// through the remote limiter: at most 5 a minute from one source address,
// 60 a minute from all.
const MaxPending = 256

// ErrPendingLimited refuses a new pending node from a source that brought
// too many in the last minute.
var ErrPendingLimited = errors.New("too many new pending nodes from this address; try again in a minute")

// Hello takes what a node said about itself in a verified hello (its
// signed node record, env) and where it connected from (remoteAddr; source
// is the remote address without the port, for the rate limit). For a
// member the node record is applied as a record too; for others what it
// says is all that is kept, so they can be listed as pending. member
// reports whether it is a member; a revoked node is refused.
func (r *Replica) Hello(ctx context.Context, env *record.Envelope, n record.Node, remoteAddr, source string) (member bool, err error) {
	id := env.AuthorID()
	m := r.Members()
	if m.IsRevoked(id) {
		return false, errors.New("revoked")
	}
	pending := !m.IsMember(id)
	now := r.now()
	err = r.st.Update(ctx, func(tx *store.Tx) error {
		known, err := tx.PeerKnown(id)
		if err != nil {
			return err
		}
		if !known && pending {
			if ok, _ := r.rejects.allow(now, source, "pending"); !ok {
				return ErrPendingLimited
			}
			keep := func(p record.NodeID) bool { return m.IsMember(p) || m.IsRevoked(p) || p == r.self }
			if err := tx.TrimPending(MaxPending, keep); err != nil {
				return err
			}
		}
		return tx.NotePeer(now, id, n, remoteAddr)
	})
	if err != nil {
		return false, fmt.Errorf("note peer: %w", err)
	}
	if pending {
		return false, nil
	}
	if _, err := r.Apply(ctx, []*record.Envelope{env}, Source{Via: Hello, Peer: id}); err != nil && ctx.Err() == nil {
		r.log.Warn("storing a hello's node record failed; anti-entropy will retry", "err", err)
	}
	return true, nil
}

// KnownAddrs returns every address stored for id: from its node record,
// from where it connected, from the ticket it was added with and from the
// admits of it.
func (r *Replica) KnownAddrs(ctx context.Context, id record.NodeID) []string {
	var out []string
	if p, ok, err := r.st.Peer(ctx, id); err == nil && ok {
		out = append(out, p.Addrs...)
		out = append(out, p.SeenAddrs...)
	}
	if ts, err := r.st.TrustList(ctx); err == nil {
		for _, t := range ts {
			if t.NodeID == id {
				out = append(out, t.Addrs...)
			}
		}
	}
	_ = r.st.View(ctx, func(tx *store.Tx) error {
		recs, err := tx.Records(string(id), record.KindAdmit)
		for _, rec := range recs {
			if e, err := record.OpenStored(rec.Raw); err == nil {
				if a, err := record.DecodeAdmit(e.Body); err == nil {
					out = append(out, a.Addrs...)
				}
			}
		}
		return err
	})
	return out
}

// Resolve finds the node a user means (see ResolveNode) among the peers.
func (r *Replica) Resolve(ctx context.Context, q string) (record.NodeID, error) {
	ps, err := r.Peers(ctx)
	if err != nil {
		return "", err
	}
	return ResolveNode(ps, r.self, r.hostname, q)
}

// ResolveNode finds the node a user means: a full node ID, a unique
// prefix of one (at least 4 characters), a unique hostname, or the node's
// ticket. This node (self, named selfHost) counts too.
func ResolveNode(ps []store.Peer, self record.NodeID, selfHost, q string) (record.NodeID, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return "", fmt.Errorf("%w: no node given", api.ErrInvalid)
	}
	if strings.HasPrefix(q, identity.TicketPrefix) {
		t, err := identity.ParseTicket(q)
		if err != nil {
			return "", fmt.Errorf("%w: %w", api.ErrInvalid, err)
		}
		id, err := t.NodeID()
		if err != nil {
			return "", fmt.Errorf("%w: %w", api.ErrInvalid, err)
		}
		q = id.String()
	}
	type cand struct {
		id   record.NodeID
		host string
	}
	cands := []cand{{self, selfHost}}
	for _, p := range ps {
		cands = append(cands, cand{p.NodeID, p.Hostname})
	}
	var byPrefix, byHost []string
	for _, c := range cands {
		if string(c.id) == q {
			return c.id, nil
		}
		if len(q) >= 4 && strings.HasPrefix(string(c.id), q) {
			byPrefix = append(byPrefix, string(c.id))
		}
		if c.host != "" && c.host == q {
			byHost = append(byHost, string(c.id))
		}
	}
	for _, m := range [][]string{byPrefix, byHost} {
		switch len(m) {
		case 0:
		case 1:
			return record.NodeID(m[0]), nil
		default:
			sort.Strings(m)
			return "", fmt.Errorf("%w: %q matches %d nodes (%s); give more of the node ID", api.ErrInvalid, q, len(m), strings.Join(m, ", "))
		}
	}
	return "", fmt.Errorf("%w: no node %q (give a node ID, a unique prefix, a hostname or a ticket)", api.ErrNotFound, q)
}
