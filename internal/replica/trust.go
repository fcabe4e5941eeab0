package replica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// Audit event types of invites presented.
const (
	EventInviteUsed    = "invite.used"
	EventInviteRefused = "invite.refused"
	EventJoined        = "invite.accepted"
)

// Refusals of trust operations.
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
	// ErrOwnTicket is returned when a node is given its own ticket.
	ErrOwnTicket = errors.New("that is this node's own ticket")
)

// Audit records an event about node; a failure to audit is logged.
func (r *Replica) Audit(ctx context.Context, typ string, node record.NodeID, msg string) {
	if err := r.st.AddEvent(ctx, store.Event{Time: r.now(), Type: typ, Node: string(node), Message: msg}); err != nil && ctx.Err() == nil {
		r.log.Warn("audit failed", "type", typ, "err", err)
	}
}

// MayAdminister refuses trust operations of a node that is not an admin,
// or was revoked, and operations on the node itself.
func (r *Replica) MayAdminister(id record.NodeID) error {
	m := r.Members()
	switch {
	case m.IsRevoked(r.self):
		return ErrSelfRevoked
	case !m.IsAdmin(r.self):
		return ErrNotAdmin
	case id == r.self:
		return ErrSelf
	}
	return nil
}

// AddTrust makes a node trusted by this node's operator (persisted) and
// recomputes membership. added is false when it already was; the
// addresses are refreshed either way, and the role raised to admin when
// asked (never lowered: demote a node with a demotion record).
func (r *Replica) AddTrust(ctx context.Context, t store.Trusted) (added bool, err error) {
	err = r.update(ctx, func(tx *store.Tx) (bool, error) {
		var err error
		added, err = tx.AddTrust(r.now(), t)
		return true, err
	})
	if err != nil {
		return false, fmt.Errorf("add trust: %w", err)
	}
	return added, nil
}

// ErrPinTooLarge is returned when a node authored more records that still
// count than one pin can hold.
var ErrPinTooLarge = fmt.Errorf("more than %d of its records still count", record.MaxPin)

// Pin returns what a revoke or demotion of subject signed now pins: the
// subject's admits and revokes that count here, and its secret versions
// for other nodes that are current here. Sorted, as a pin must be.
func (r *Replica) Pin(ctx context.Context, subject record.NodeID) ([]record.ID, error) {
	m := r.Members()
	trust, secrets, err := r.st.PinCandidates(ctx, subject)
	if err != nil {
		return nil, err
	}
	var ids []record.ID
	for _, id := range trust {
		if m.Counts(subject, id) {
			ids = append(ids, id)
		}
	}
	ids = append(ids, secrets...)
	if len(ids) > record.MaxPin {
		return nil, fmt.Errorf("pin %s: %w", subject.Short(), ErrPinTooLarge)
	}
	return record.SortPin(ids), nil
}

// AuditData records an event about this node with data; a failure to
// audit is logged, never fatal.
func (r *Replica) AuditData(ctx context.Context, typ, msg string, data map[string]any) {
	e := store.Event{Type: typ, Node: string(r.self), Message: msg, Time: r.now()}
	if data != nil {
		e.Data, _ = json.Marshal(data)
	}
	if err := r.st.AddEvent(ctx, e); err != nil && !errors.Is(err, context.Canceled) {
		r.log.Warn("audit failed", "type", typ, "err", err)
	}
}
