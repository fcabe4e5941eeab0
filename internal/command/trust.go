package command

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/replica"
	"github.com/credmesh/credmesh/internal/store"
)

// Audit event types of trust changes made here.
const (
	EventPeerAdded     = "peer.added"
	EventPeerApproved  = "peer.approved"
	EventPeerRevoked   = "peer.revoked"
	EventPeerPromoted  = "peer.promoted"
	EventPeerDemoted   = "peer.demoted"
	EventPeerIgnored   = "peer.ignored"
	EventInviteCreated = "invite.created"
)

// trustError maps the refusals of trust operations to API errors.
func trustError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, replica.ErrSelf), errors.Is(err, replica.ErrNotMember), errors.Is(err, replica.ErrOwnTicket):
		return fmt.Errorf("%w: %w", api.ErrInvalid, err)
	case errors.Is(err, replica.ErrNotAdmin):
		return fmt.Errorf("%w: %w: only an admin admits, approves, invites, revokes, promotes and demotes", api.ErrForbidden, err)
	case errors.Is(err, replica.ErrSelfRevoked):
		return fmt.Errorf("%w: %w; it can change nothing", api.ErrForbidden, err)
	case errors.Is(err, replica.ErrRevoked):
		return fmt.Errorf("%w: %w", api.ErrConflict, err)
	}
	return err
}

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

// AddPeer trusts the node a ticket names. With join (a ticket or invite
// given to run, or any invite) this node joins the ticket's cluster: the
// node is trusted as an admin and nothing is published, and an invite's
// token is kept to present to the inviter. Otherwise it is trusted with
// role and, when this node is an admin, admitted for the mesh (an admit
// record, the first time). Then it is dialled.
func (c *Commands) Join(ctx context.Context, t identity.Ticket, role record.Role, join bool) (api.AddPeerResult, error) {
	res, err := c.trustTicket(ctx, t, role, join)
	if err != nil {
		return api.AddPeerResult{}, err
	}
	if err := c.mesh.Dial(t); err != nil {
		c.log.Warn("dial not queued; the next redial scan dials it", "node", res.NodeID, "err", err)
	}
	out := api.AddPeerResult{NodeID: string(res.NodeID), Added: res.Added, Admitted: res.Admitted, Role: role.String()}
	if join || t.IsInvite() {
		out.Role, out.Joined = record.RoleAdmin.String(), true
	}
	return out, nil
}

// AddPeer trusts the node a ticket names with a role (and admits it, on
// an admin), as Join does without joining.
func (c *Commands) AddPeer(ctx context.Context, ticket, roleName string) (api.AddPeerResult, error) {
	role, err := parseRole(roleName)
	if err != nil {
		return api.AddPeerResult{}, err
	}
	t, err := identity.ParseTicket(ticket)
	if err != nil {
		return api.AddPeerResult{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	return c.Join(ctx, t, role, false)
}

// addedPeer says what trustTicket did.
type addedPeer struct {
	NodeID   record.NodeID
	Added    bool // false when it was already trusted
	Admitted bool // an admit was published
}

func (c *Commands) trustTicket(ctx context.Context, t identity.Ticket, role record.Role, join bool) (addedPeer, error) {
	pub, err := t.NodeID()
	if err != nil {
		return addedPeer{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	id := record.NodeID(pub.String())
	if id == c.self {
		return addedPeer{NodeID: id}, trustError(replica.ErrOwnTicket)
	}
	m := c.r.Members()
	if m.IsRevoked(id) {
		return addedPeer{NodeID: id}, trustError(fmt.Errorf("%s is %w", id, replica.ErrRevoked))
	}
	if m.IsRevoked(c.self) {
		return addedPeer{NodeID: id}, trustError(replica.ErrSelfRevoked)
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
	added, err := c.r.AddTrust(ctx, trust)
	if err != nil {
		return addedPeer{NodeID: id}, err
	}
	if t.IsInvite() {
		if !t.Expires.IsZero() && c.now().After(t.Expires) {
			return addedPeer{NodeID: id}, fmt.Errorf("the invite expired at %s", t.Expires.UTC().Format(time.RFC3339))
		}
		if err := c.st.AddInviteClaim(ctx, store.InviteClaim{Inviter: id, Token: t.Token, Expires: t.Expires}); err != nil {
			return addedPeer{NodeID: id}, err
		}
	}
	res := addedPeer{NodeID: id, Added: added}
	if added && !join && m.IsAdmin(c.self) {
		admit := record.Admit{Subject: t.PublicKey, Source: record.AdmitTicket, Addrs: addrs, Role: trust.Role}
		if _, err := c.r.Publish(ctx, record.KindAdmit, admit.Encode()); err != nil {
			return addedPeer{NodeID: id}, fmt.Errorf("publish admit: %w", err)
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
		c.log.Info("peer added", "node", id, "role", trust.Role, "join", join, "addrs", strings.Join(addrs, " "))
		c.r.Audit(ctx, EventPeerAdded, id, how)
	}
	return res, nil
}

// Approve trusts a pending node with a role and admits it for the mesh.
func (c *Commands) Approve(ctx context.Context, node, roleName string) (record.NodeID, error) {
	role, err := parseRole(roleName)
	if err != nil {
		return "", err
	}
	id, err := c.r.Resolve(ctx, node)
	if err != nil {
		return "", err
	}
	return id, trustError(c.approve(ctx, id, role))
}

func (c *Commands) approve(ctx context.Context, id record.NodeID, role record.Role) error {
	if err := c.r.MayAdminister(id); err != nil {
		return err
	}
	pub, err := record.PublicKeyOf(id)
	if err != nil {
		return err
	}
	if c.r.Members().IsRevoked(id) {
		return fmt.Errorf("%s is %w", id, replica.ErrRevoked)
	}
	var addrs []string
	if p, ok, err := c.st.Peer(ctx, id); err == nil && ok {
		addrs = append(addrs, p.Addrs...)
	}
	if _, err := c.r.AddTrust(ctx, store.Trusted{NodeID: id, Source: store.TrustApprove, Role: role, Addrs: addrs}); err != nil {
		return err
	}
	admit := record.Admit{Subject: pub, Source: record.AdmitApprove, Addrs: addrs, Role: role}
	if _, err := c.r.Publish(ctx, record.KindAdmit, admit.Encode()); err != nil {
		return fmt.Errorf("publish admit: %w", err)
	}
	c.log.Info("pending node approved", "node", id, "role", role)
	c.r.Audit(ctx, EventPeerApproved, id, "approved as "+role.String()+"; admit published")
	return nil
}

// SetRole promotes a member to admin, or demotes it to a plain node: an
// admit with the new role. A demotion pins what the node signed as an
// admin that counts here, so that stands and nothing it signs as a node
// does.
func (c *Commands) SetRole(ctx context.Context, node, roleName string) (record.NodeID, error) {
	role, err := record.ParseRole(roleName)
	if err != nil {
		return "", fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	id, err := c.r.Resolve(ctx, node)
	if err != nil {
		return "", err
	}
	return id, trustError(c.setRole(ctx, id, role))
}

func (c *Commands) setRole(ctx context.Context, id record.NodeID, role record.Role) error {
	if err := c.r.MayAdminister(id); err != nil {
		return err
	}
	if !c.r.Members().IsMember(id) {
		return fmt.Errorf("%s is %w", id, replica.ErrNotMember)
	}
	pub, err := record.PublicKeyOf(id)
	if err != nil {
		return err
	}
	admit := record.Admit{Subject: pub, Source: record.AdmitRole, Role: role}
	if role == record.RoleNode {
		if admit.Pin, err = c.r.Pin(ctx, id); err != nil {
			return err
		}
	}
	if _, err := c.r.Publish(ctx, record.KindAdmit, admit.Encode()); err != nil {
		return fmt.Errorf("publish admit: %w", err)
	}
	typ, verb := EventPeerPromoted, "promoted to admin"
	if role == record.RoleNode {
		typ, verb = EventPeerDemoted, "demoted to node"
	}
	c.log.Info("member "+verb, "node", id)
	c.r.Audit(ctx, typ, id, verb+" by this node")
	return nil
}

// MaxRevokeReason caps the reason an operator gives a revoke, in bytes
// (cut at a character boundary).
const MaxRevokeReason = 256

// Revoke publishes a sticky revoke record for a node, pinning what of its
// records count here.
func (c *Commands) Revoke(ctx context.Context, node, reason string) (record.NodeID, error) {
	id, err := c.r.Resolve(ctx, node)
	if err != nil {
		return "", err
	}
	return id, trustError(c.revoke(ctx, id, reason))
}

func (c *Commands) revoke(ctx context.Context, id record.NodeID, reason string) error {
	if err := c.r.MayAdminister(id); err != nil {
		return err
	}
	pub, err := record.PublicKeyOf(id)
	if err != nil {
		return err
	}
	reason = record.TruncateText(reason, MaxRevokeReason)
	pin, err := c.r.Pin(ctx, id)
	if err != nil {
		return err
	}
	if _, err := c.r.Publish(ctx, record.KindRevoke, record.Revoke{Subject: pub, Reason: reason, Pin: pin}.Encode()); err != nil {
		return fmt.Errorf("publish revoke: %w", err)
	}
	c.log.Info("node revoked", "node", id, "reason", reason, "pinned", len(pin))
	c.r.Audit(ctx, EventPeerRevoked, id, "revoked by this node: "+reason)
	return nil
}

// Ignore stops listing a pending node.
func (c *Commands) Ignore(ctx context.Context, node string) (record.NodeID, error) {
	id, err := c.r.Resolve(ctx, node)
	if err != nil {
		return "", err
	}
	if c.r.Members().IsMember(id) {
		return id, fmt.Errorf("%w: %s is a member; revoke it instead", api.ErrInvalid, id)
	}
	if err := c.st.IgnorePeer(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return id, fmt.Errorf("%w: %v", api.ErrNotFound, err)
		}
		return id, err
	}
	c.r.AuditData(ctx, EventPeerIgnored, "pending node "+string(id)+" ignored", map[string]any{"node": id})
	return id, nil
}

// DefaultInviteTTL is how long an invite stays valid.
const DefaultInviteTTL = 24 * time.Hour

// Invite makes a one-time invite ticket that admits its user with a role
// (an admin's only): this node's ticket with a token.
func (c *Commands) Invite(ctx context.Context, ttl, roleName string) (api.InviteResult, error) {
	role, err := parseRole(roleName)
	if err != nil {
		return api.InviteResult{}, err
	}
	if err := c.mayWrite(); err != nil {
		return api.InviteResult{}, err
	}
	if !c.r.Members().IsAdmin(c.self) {
		return api.InviteResult{}, trustError(replica.ErrNotAdmin)
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
	now := c.now()
	expires := now.Add(d).Truncate(time.Second)
	if err := c.st.AddInvite(ctx, now, token, expires, role); err != nil {
		return api.InviteResult{}, err
	}
	t, err := c.mesh.Ticket(ctx)
	if err != nil {
		return api.InviteResult{}, err
	}
	t.Token, t.Expires = token, expires.UTC()
	c.r.AuditData(ctx, EventInviteCreated, "invite for a new "+role.String()+", valid until "+expires.UTC().Format(time.RFC3339), nil)
	return api.InviteResult{Ticket: t.String(), Expires: expires.UTC(), Role: role.String()}, nil
}
