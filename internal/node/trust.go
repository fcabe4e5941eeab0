package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/gossip"
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
	"github.com/credmesh/credmesh/internal/web"
)

// DefaultInviteTTL is how long an invite stays valid.
const DefaultInviteTTL = 24 * time.Hour

// parseRole reads a role argument; empty means a plain node.
func parseRole(s string) (record.Role, error) {
	if s == "" {
		return record.RoleNode, nil
	}
	r, err := record.ParseRole(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	return r, nil
}

// Invite implements web.Backend: a one-time invite ticket that admits its
// user with role (an admin's only).
func (n *Node) Invite(ctx context.Context, ttl, roleName string) (api.InviteResult, error) {
	role, err := parseRole(roleName)
	if err != nil {
		return api.InviteResult{}, err
	}
	if err := n.mayWrite(); err != nil {
		return api.InviteResult{}, err
	}
	if !n.store.Members().IsAdmin(n.self) {
		return api.InviteResult{}, trustError(gossip.ErrNotAdmin)
	}
	d := DefaultInviteTTL
	if ttl != "" {
		var err error
		if d, err = time.ParseDuration(ttl); err != nil || d <= 0 || d > 30*24*time.Hour {
			return api.InviteResult{}, fmt.Errorf("%w: invite lifetime %q: give a duration up to 720h", api.ErrInvalid, ttl)
		}
	}
	token := make([]byte, identity.TokenSize)
	if _, err := rand.Read(token); err != nil {
		return api.InviteResult{}, err
	}
	now := n.cfg.Now()
	expires := now.Add(d).Truncate(time.Second)
	if err := n.store.AddInvite(ctx, now, token, expires, role); err != nil {
		return api.InviteResult{}, err
	}
	t := n.gossip.Ticket()
	t.Token, t.Expires = token, expires.UTC()
	n.audit(ctx, "invite.created", "invite for a new "+role.String()+", valid until "+expires.UTC().Format(time.RFC3339), nil)
	return api.InviteResult{Ticket: t.String(), Expires: expires.UTC(), Role: role.String()}, nil
}

func (n *Node) resolve(ctx context.Context, node string) (record.NodeID, error) {
	peers, err := n.store.Peers(ctx)
	if err != nil {
		return "", err
	}
	return web.Resolve(peers, web.Self{ID: n.self, Hostname: n.hostname}, node)
}

// trustError maps gossip's refusals to API errors.
func trustError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gossip.ErrSelf), errors.Is(err, gossip.ErrNotMember), errors.Is(err, gossip.ErrOwnTicket):
		return fmt.Errorf("%w: %w", api.ErrInvalid, err)
	case errors.Is(err, gossip.ErrNotAdmin):
		return fmt.Errorf("%w: %w: only an admin admits, approves, invites, revokes, promotes and demotes", api.ErrForbidden, err)
	case errors.Is(err, gossip.ErrSelfRevoked):
		return fmt.Errorf("%w: %w; it can change nothing", api.ErrForbidden, err)
	case errors.Is(err, gossip.ErrRevoked):
		return fmt.Errorf("%w: %w", api.ErrConflict, err)
	}
	return err
}

// Approve implements web.Backend: trust a pending node with a role and
// admit it.
func (n *Node) Approve(ctx context.Context, node, roleName string) (record.NodeID, error) {
	role, err := parseRole(roleName)
	if err != nil {
		return "", err
	}
	id, err := n.resolve(ctx, node)
	if err != nil {
		return "", err
	}
	return id, trustError(actor.Call2(ctx, n.gossipRef, func(r chan<- error) gossip.Msg { return gossip.Approve{Node: id, Role: role, Reply: r} }))
}

// SetRole implements web.Backend: promote a member to admin, or demote it
// to a plain node.
func (n *Node) SetRole(ctx context.Context, node, roleName string) (record.NodeID, error) {
	role, err := record.ParseRole(roleName)
	if err != nil {
		return "", fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	id, err := n.resolve(ctx, node)
	if err != nil {
		return "", err
	}
	return id, trustError(actor.Call2(ctx, n.gossipRef, func(r chan<- error) gossip.Msg { return gossip.SetRole{Node: id, Role: role, Reply: r} }))
}

// Ignore implements web.Backend: stop listing a pending node.
func (n *Node) Ignore(ctx context.Context, node string) (record.NodeID, error) {
	id, err := n.resolve(ctx, node)
	if err != nil {
		return "", err
	}
	if n.store.Members().IsMember(id) {
		return id, fmt.Errorf("%w: %s is a member; revoke it instead", api.ErrInvalid, id)
	}
	if err := n.store.IgnorePeer(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return id, fmt.Errorf("%w: %v", api.ErrNotFound, err)
		}
		return id, err
	}
	n.audit(ctx, "peer.ignored", "pending node "+string(id)+" ignored", map[string]any{"node": id})
	return id, nil
}

// Revoke implements web.Backend: publish a sticky revoke record.
func (n *Node) Revoke(ctx context.Context, node, reason string) (record.NodeID, error) {
	id, err := n.resolve(ctx, node)
	if err != nil {
		return "", err
	}
	return id, trustError(actor.Call2(ctx, n.gossipRef, func(r chan<- error) gossip.Msg {
		return gossip.Revoke{Node: id, Reason: reason, Reply: r}
	}))
}

// PeerScore implements web.Backend: the node's GossipSub score here.
func (n *Node) PeerScore(node string) (float64, bool) {
	return n.gossip.ScoreOf(record.NodeID(node))
}
