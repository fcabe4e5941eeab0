package replica

import (
	"context"
	"errors"
	"fmt"

	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// Claim is the inviter's side of an invite: the token must be one this
// node issued, unused and unexpired; then the claimant is trusted and
// admitted. The error is the answer the claimant gets.
func (r *Replica) Claim(ctx context.Context, claimant record.NodeID, token []byte, addrs []string) error {
	if r.Members().IsRevoked(claimant) {
		r.auditRemote(ctx, EventInviteRefused, claimant, "invite presented by a revoked node")
		return errors.New("revoked")
	}
	if err := r.MayAdminister(claimant); err != nil {
		r.auditRemote(ctx, EventInviteRefused, claimant, "invite refused: "+err.Error())
		return errors.New("the inviter can no longer admit anyone: " + err.Error())
	}
	var role record.Role
	err := r.update(ctx, func(tx *store.Tx) (bool, error) {
		var err error
		role, err = tx.UseInvite(r.now(), token, claimant, addrs)
		return err == nil, err
	})
	if err != nil {
		why := err.Error()
		r.auditRemote(ctx, EventInviteRefused, claimant, "invite refused: "+why)
		return errors.New(why)
	}
	pub, _ := record.PublicKeyOf(claimant)
	admit := record.Admit{Subject: pub, Source: record.AdmitInvite, Addrs: addrs, Role: role}
	if _, err := r.Publish(ctx, record.KindAdmit, admit.Encode()); err != nil {
		return fmt.Errorf("publish admit: %w", err)
	}
	r.log.Info("node joined by invite", "node", claimant)
	r.Audit(ctx, EventInviteUsed, claimant, "joined with an invite; admit published")
	return nil
}

// PendingClaim returns the token of an invite this node is to present to
// inviter, if any.
func (r *Replica) PendingClaim(ctx context.Context, inviter record.NodeID) ([]byte, bool) {
	c, ok, err := r.st.PendingInviteClaim(ctx, inviter)
	if err != nil || !ok {
		return nil, false
	}
	return c.Token, true
}

// ClaimAnswered records the inviter's answer to this node's invite:
// accepted (refusal ""), or refused and why.
func (r *Replica) ClaimAnswered(ctx context.Context, inviter record.NodeID, refusal string) {
	if refusal == "" {
		_ = r.st.SetInviteClaimState(ctx, inviter, "accepted", "")
		r.log.Info("joined the mesh by invite", "inviter", inviter)
		r.Audit(ctx, EventJoined, inviter, "the inviter accepted this node's invite")
		return
	}
	_ = r.st.SetInviteClaimState(ctx, inviter, "refused", refusal)
	r.log.Warn("invite refused by the inviter", "inviter", inviter, "reason", refusal)
	r.Audit(ctx, EventInviteRefused, inviter, "the inviter refused this node's invite: "+refusal)
}

// auditRemote audits what a remote node triggered, through the remote
// limiter.
func (r *Replica) auditRemote(ctx context.Context, typ string, node record.NodeID, msg string) {
	e := store.Event{Time: r.now(), Type: typ, Node: string(node), Message: msg}
	if err := r.AuditRemote(ctx, string(node), e); err != nil && ctx.Err() == nil {
		r.log.Warn("audit failed", "type", typ, "err", err)
	}
}
