package gossip

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// inviteProtocol carries a joiner's invite token to the inviter.
const inviteProtocol protocol.ID = "/credmesh/invite/1"

// Audit event types of trust changes.
const (
	EventPeerApproved  = "peer.approved"
	EventPeerRevoked   = "peer.revoked"
	EventInviteUsed    = "invite.used"
	EventInviteRefused = "invite.refused"
	EventJoined        = "invite.accepted"
)

// Refusals of trust operations, for the caller to map to its errors.
var (
	// ErrSelf refuses operations on this node itself.
	ErrSelf = errors.New("that is this node itself")
	// ErrNotAdmin refuses what only an admin may do.
	ErrNotAdmin = errors.New("this node is not an admin")
	// ErrSelfRevoked refuses every write of a node that was revoked.
	ErrSelfRevoked = errors.New("this node was revoked")
	// ErrRevoked refuses trusting a revoked node: a revocation is final.
	ErrRevoked = errors.New("revoked; a revocation is final")
	// ErrNotMember refuses a role change of a node that is not a member.
	ErrNotMember = errors.New("not a member")
)

// Audit event types of role changes.
const (
	EventPeerPromoted = "peer.promoted"
	EventPeerDemoted  = "peer.demoted"
)

// auditRemote audits what a remote node triggered, through the store's
// remote limiter.
func (g *Gossip) auditRemote(ctx context.Context, typ string, node record.NodeID, msg string) {
	e := store.Event{Time: g.now(), Type: typ, Node: string(node), Message: msg}
	if err := g.cfg.Store.AuditRemote(ctx, string(node), e); err != nil && ctx.Err() == nil {
		g.log.Warn("audit failed", "type", typ, "err", err)
	}
}

func (g *Gossip) audit(ctx context.Context, typ string, node record.NodeID, msg string) {
	if err := g.cfg.Store.AddEvent(ctx, store.Event{Time: g.now(), Type: typ, Node: string(node), Message: msg}); err != nil && ctx.Err() == nil {
		g.log.Warn("audit failed", "type", typ, "err", err)
	}
}

// mayAdminister refuses trust operations of a node that is not an admin,
// or was revoked, and operations on the node itself.
func (g *Gossip) mayAdminister(id record.NodeID) error {
	m := g.cfg.Store.Members()
	switch {
	case m.IsRevoked(g.self):
		return ErrSelfRevoked
	case !m.IsAdmin(g.self):
		return ErrNotAdmin
	case id == g.self:
		return ErrSelf
	}
	return nil
}

// approve trusts a pending node with a role and admits it for the mesh.
func (g *Gossip) approve(ctx context.Context, id record.NodeID, role record.Role) error {
	if err := g.mayAdminister(id); err != nil {
		return err
	}
	if role == 0 {
		role = record.RoleNode
	}
	pub, err := record.PublicKeyOf(id)
	if err != nil {
		return err
	}
	if g.cfg.Store.Members().IsRevoked(id) {
		return fmt.Errorf("%s is %w", id, ErrRevoked)
	}
	var addrs []string
	if p, ok, err := g.cfg.Store.Peer(ctx, id); err == nil && ok {
		addrs = append(addrs, p.Addrs...)
	}
	if _, err := g.cfg.Store.AddTrust(ctx, g.now(), store.Trusted{NodeID: id, Source: store.TrustApprove, Role: role, Addrs: addrs}); err != nil {
		return err
	}
	admit := record.Admit{Subject: pub, Source: record.AdmitApprove, Addrs: addrs, Role: role}
	if _, err := g.publishRecord(ctx, record.KindAdmit, admit.Encode()); err != nil {
		return fmt.Errorf("publish admit: %w", err)
	}
	g.log.Info("pending node approved", "node", id, "role", role)
	g.audit(ctx, EventPeerApproved, id, "approved as "+role.String()+"; admit published")
	if p, err := peer.Decode(string(id)); err == nil {
		g.dialNow(p)
	}
	return nil
}

// setRole promotes or demotes a member: an admit with the new role. A
// demotion pins what the node signed as an admin that counts here, so
// that stands and nothing it signs as a node does.
func (g *Gossip) setRole(ctx context.Context, id record.NodeID, role record.Role) error {
	if err := g.mayAdminister(id); err != nil {
		return err
	}
	m := g.cfg.Store.Members()
	if !m.IsMember(id) {
		return fmt.Errorf("%s is %w", id, ErrNotMember)
	}
	pub, err := record.PublicKeyOf(id)
	if err != nil {
		return err
	}
	admit := record.Admit{Subject: pub, Source: record.AdmitRole, Role: role}
	if role == record.RoleNode {
		if admit.Pin, err = g.cfg.Store.Pin(ctx, id); err != nil {
			return err
		}
	}
	if _, err := g.publishRecord(ctx, record.KindAdmit, admit.Encode()); err != nil {
		return fmt.Errorf("publish admit: %w", err)
	}
	typ, verb := EventPeerPromoted, "promoted to admin"
	if role == record.RoleNode {
		typ, verb = EventPeerDemoted, "demoted to node"
	}
	g.log.Info("member "+verb, "node", id)
	g.audit(ctx, typ, id, verb+" by this node")
	return nil
}

// MaxRevokeReason caps the reason an operator gives a revoke, in bytes
// (cut at a character boundary).
const MaxRevokeReason = 256

// revoke publishes a revoke record for id, pinning what of its records
// count here.
func (g *Gossip) revoke(ctx context.Context, id record.NodeID, reason string) error {
	if err := g.mayAdminister(id); err != nil {
		return err
	}
	pub, err := record.PublicKeyOf(id)
	if err != nil {
		return err
	}
	reason = record.TruncateText(reason, MaxRevokeReason)
	pin, err := g.cfg.Store.Pin(ctx, id)
	if err != nil {
		return err
	}
	if _, err := g.publishRecord(ctx, record.KindRevoke, record.Revoke{Subject: pub, Reason: reason, Pin: pin}.Encode()); err != nil {
		return fmt.Errorf("publish revoke: %w", err)
	}
	g.log.Info("node revoked", "node", id, "reason", reason, "pinned", len(pin))
	g.audit(ctx, EventPeerRevoked, id, "revoked by this node: "+reason)
	g.dropRevoked()
	return nil
}

// dropRevoked closes every connection to a revoked node (the gater
// refuses new ones).
func (g *Gossip) dropRevoked() {
	m := g.cfg.Store.Members()
	for _, p := range g.h.Network().Peers() {
		if m.IsRevoked(record.NodeID(p.String())) {
			_ = g.h.Network().ClosePeer(p)
		}
	}
}

// addInvite is addPeer's part for an invite ticket: remember the token to
// present to the inviter once connected.
func (g *Gossip) addInvite(ctx context.Context, inviter record.NodeID, t identity.Ticket) error {
	if !t.Expires.IsZero() && g.now().After(t.Expires) {
		return fmt.Errorf("the invite expired at %s", t.Expires.UTC().Format(time.RFC3339))
	}
	return g.cfg.Store.AddInviteClaim(ctx, store.InviteClaim{Inviter: inviter, Token: t.Token, Expires: t.Expires})
}

// presentClaim sends a pending invite token to inviter (after a
// connection), in the background.
func (g *Gossip) presentClaim(ctx context.Context, p peer.ID) {
	inviter := record.NodeID(p.String())
	c, ok, err := g.cfg.Store.PendingInviteClaim(ctx, inviter)
	if err != nil || !ok {
		return
	}
	g.workers.Add(1)
	go func() {
		defer g.workers.Done()
		err := g.claim(ctx, p, c.Token)
		_ = g.ref.Cast(claimDone{inviter: inviter, err: err})
	}()
}

// claim presents a token: one frame out, one frame back ("ok" or why not).
func (g *Gossip) claim(ctx context.Context, p peer.ID, token []byte) error {
	ctx, cancel := context.WithTimeout(ctx, helloTimeout)
	defer cancel()
	s, err := g.h.NewStream(ctx, p, inviteProtocol)
	if err != nil {
		return err
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(helloTimeout))
	if err := writeFrame(s, token); err != nil {
		return err
	}
	ans, err := readFrame(bufio.NewReader(s), 512)
	if err != nil {
		return err
	}
	if string(ans) != "ok" {
		return &claimRefused{string(ans)}
	}
	return nil
}

type claimRefused struct{ why string }

func (e *claimRefused) Error() string { return "invite refused: " + e.why }

func (g *Gossip) onClaimDone(ctx context.Context, inviter record.NodeID, err error) {
	var refused *claimRefused
	switch {
	case err == nil:
		_ = g.cfg.Store.SetInviteClaimState(ctx, inviter, "accepted", "")
		g.log.Info("joined the mesh by invite", "inviter", inviter)
		g.audit(ctx, EventJoined, inviter, "the inviter accepted this node's invite")
	case errors.As(err, &refused):
		_ = g.cfg.Store.SetInviteClaimState(ctx, inviter, "refused", refused.why)
		g.log.Warn("invite refused by the inviter", "inviter", inviter, "reason", refused.why)
		g.audit(ctx, EventInviteRefused, inviter, "the inviter refused this node's invite: "+refused.why)
	default:
		g.log.Debug("presenting an invite failed; will retry on the next connection", "inviter", inviter, "err", err)
	}
}

// handleClaim is the inviter's side: the token must be one this node
// issued, unused and unexpired; then the claimant is trusted and admitted.
func (g *Gossip) handleClaim(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(helloTimeout))
	token, err := readFrame(bufio.NewReader(s), identity.TokenSize)
	if err != nil {
		return
	}
	claimant := record.NodeID(s.Conn().RemotePeer().String())
	ctx, cancel := context.WithTimeout(context.Background(), helloTimeout)
	defer cancel()
	reply := make(chan error, 1)
	ans := "ok"
	if err := g.ref.Cast(claimed{claimant: claimant, token: token, addrs: []string{s.Conn().RemoteMultiaddr().String()}, reply: reply}); err != nil {
		ans = "the inviter is busy; try again"
	} else {
		select {
		case err := <-reply:
			if err != nil {
				ans = err.Error()
			}
		case <-ctx.Done():
			ans = "the inviter timed out"
		}
	}
	_ = writeFrame(s, []byte(ans))
	_, _ = io.Copy(io.Discard, io.LimitReader(s, 1)) // let the answer go out
}

func (g *Gossip) onClaim(ctx context.Context, claimant record.NodeID, token []byte, addrs []string) error {
	if g.cfg.Store.Members().IsRevoked(claimant) {
		g.auditRemote(ctx, EventInviteRefused, claimant, "invite presented by a revoked node")
		return errors.New("revoked")
	}
	if err := g.mayAdminister(claimant); err != nil {
		g.auditRemote(ctx, EventInviteRefused, claimant, "invite refused: "+err.Error())
		return errors.New("the inviter can no longer admit anyone: " + err.Error())
	}
	role, err := g.cfg.Store.UseInvite(ctx, g.now(), token, claimant, addrs)
	if err != nil {
		why := strings.TrimPrefix(err.Error(), "use invite: ")
		g.auditRemote(ctx, EventInviteRefused, claimant, "invite refused: "+why)
		return errors.New(why)
	}
	pub, _ := record.PublicKeyOf(claimant)
	admit := record.Admit{Subject: pub, Source: record.AdmitInvite, Addrs: addrs, Role: role}
	if _, err := g.publishRecord(ctx, record.KindAdmit, admit.Encode()); err != nil {
		return fmt.Errorf("publish admit: %w", err)
	}
	g.log.Info("node joined by invite", "node", claimant)
	g.audit(ctx, EventInviteUsed, claimant, "joined with an invite; admit published")
	return nil
}
