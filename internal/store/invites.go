package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/credmesh/credmesh/internal/record"
)

// Invite errors, for the claimant.
var (
	ErrInviteUnknown = errors.New("unknown invite token")
	ErrInviteUsed    = errors.New("invite already used")
	ErrInviteExpired = errors.New("invite expired")
)

// AddInvite remembers a new invite token (only its hash is stored) and
// the role it gives.
func (s *Store) AddInvite(ctx context.Context, now time.Time, token []byte, expires time.Time, role record.Role) error {
	h := sha256.Sum256(token)
	return s.write(ctx, func(tx *txw) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO invites(token_hash, created_ms, expires_ms, role) VALUES (?, ?, ?, ?)",
			h[:], now.UnixMilli(), expires.UnixMilli(), role.String())
		return err
	})
}

// useInvite consumes a token for claimant: once only, before it expires.
// On success the claimant is trusted (source invite, with the invite's
// role) in the same transaction, and the role is returned.
func useInvite(ctx context.Context, tx *txw, now time.Time, token []byte, claimant record.NodeID, addrs []string) (record.Role, error) {
	h := sha256.Sum256(token)
	var expires int64
	var used sql.NullInt64
	var roleName string
	err := tx.QueryRowContext(ctx, "SELECT expires_ms, used_ms, role FROM invites WHERE token_hash = ?", h[:]).Scan(&expires, &used, &roleName)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, ErrInviteUnknown
	case err != nil:
		return 0, err
	case used.Valid:
		return 0, ErrInviteUsed
	case now.UnixMilli() > expires:
		return 0, ErrInviteExpired
	}
	if _, err := tx.ExecContext(ctx, "UPDATE invites SET used_ms = ?, used_by = ? WHERE token_hash = ?", now.UnixMilli(), string(claimant), h[:]); err != nil {
		return 0, err
	}
	role, _ := record.ParseRole(roleName)
	_, err = addTrustRow(ctx, tx, now, Trusted{NodeID: claimant, Source: TrustInvite, Role: role, Addrs: addrs})
	return role, err
}

// InviteClaim is an invite this node presents to its inviter.
type InviteClaim struct {
	Inviter record.NodeID
	Token   []byte
	Expires time.Time
	State   string
	Detail  string
}

// AddInviteClaim remembers an invite to present (replacing an older one
// for the same inviter).
func (s *Store) AddInviteClaim(ctx context.Context, c InviteClaim) error {
	return s.write(ctx, func(tx *txw) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO invite_claims(inviter, token, expires_ms, state) VALUES (?, ?, ?, 'pending')
			ON CONFLICT(inviter) DO UPDATE SET token = excluded.token, expires_ms = excluded.expires_ms, state = 'pending', detail = ''`,
			string(c.Inviter), c.Token, c.Expires.UnixMilli())
		return err
	})
}

// PendingInviteClaim returns the pending claim on inviter, if any.
func (s *Store) PendingInviteClaim(ctx context.Context, inviter record.NodeID) (InviteClaim, bool, error) {
	var c InviteClaim
	var ok bool
	err := s.read(ctx, func(tx *txw) error {
		var exp int64
		err := tx.QueryRowContext(ctx, "SELECT token, expires_ms, state, detail FROM invite_claims WHERE inviter = ? AND state = 'pending'",
			string(inviter)).Scan(&c.Token, &exp, &c.State, &c.Detail)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		ok, c.Inviter, c.Expires = true, inviter, time.UnixMilli(exp)
		return nil
	})
	return c, ok, err
}

// SetInviteClaimState records the inviter's answer.
func (s *Store) SetInviteClaimState(ctx context.Context, inviter record.NodeID, state, detail string) error {
	return s.write(ctx, func(tx *txw) error {
		_, err := tx.ExecContext(ctx, "UPDATE invite_claims SET state = ?, detail = ? WHERE inviter = ?", state, detail, string(inviter))
		return err
	})
}

// IgnorePeer stops listing a pending node (it stays untrusted).
func (s *Store) IgnorePeer(ctx context.Context, id record.NodeID) error {
	return s.write(ctx, func(tx *txw) error {
		res, err := tx.ExecContext(ctx, "UPDATE peers SET ignored = 1 WHERE node_id = ?", string(id))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("ignore %s: %w", id, ErrNotFound)
		}
		return nil
	})
}

// Revocations returns, for every revoked node, when the first revoke of it
// was signed.
func (s *Store) Revocations(ctx context.Context) (map[record.NodeID]time.Time, error) {
	out := map[record.NodeID]time.Time{}
	err := s.read(ctx, func(tx *txw) error {
		rows, err := tx.QueryContext(ctx, "SELECT key, min(time_ms) FROM records WHERE kind = ? GROUP BY key", int(record.KindRevoke))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var ms int64
			if err := rows.Scan(&k, &ms); err != nil {
				return err
			}
			out[record.NodeID(k)] = time.UnixMilli(ms)
		}
		return rows.Err()
	})
	return out, err
}

// GroupTargets returns every target that ever held a version in each
// share group, with when its newest version there was created.
func (s *Store) GroupTargets(ctx context.Context) (map[string]map[record.NodeID]time.Time, error) {
	out := map[string]map[record.NodeID]time.Time{}
	err := s.read(ctx, func(tx *txw) error {
		rows, err := tx.QueryContext(ctx, "SELECT share_group, target, max(created_ms) FROM secrets WHERE tombstone = 0 GROUP BY share_group, target")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var g []byte
			var t string
			var ms int64
			if err := rows.Scan(&g, &t, &ms); err != nil {
				return err
			}
			m := out[string(g)]
			if m == nil {
				m = map[record.NodeID]time.Time{}
				out[string(g)] = m
			}
			m[record.NodeID(t)] = time.UnixMilli(ms)
		}
		return rows.Err()
	})
	return out, err
}
