package store

import (
	"context"
	"fmt"

	"github.com/credmesh/credmesh/internal/record"
)

// Members returns the current membership snapshot (immutable). Before
// LoadMembers it holds no one.
func (s *Store) Members() *record.Members {
	if m := s.members.Load(); m != nil {
		return m
	}
	return record.ComputeMembers(record.MembershipInput{Self: s.self})
}

// LoadMembers sets this node's ID and computes membership from the store:
// the operator's trust list, and every stored admit and revoke.
func (s *Store) LoadMembers(ctx context.Context, self record.NodeID) error {
	s.self = self
	return s.read(ctx, func(tx *txw) error {
		m, err := loadMembers(ctx, tx, self)
		if err != nil {
			return err
		}
		s.members.Store(m)
		return nil
	})
}

// writeMembers runs fn in a write transaction while holding the
// membership lock; when fn reports a possible membership change,
// membership is recomputed inside the transaction. When it did change,
// every secret head is resolved again under it (who counts may have
// changed), and when it grew (a new member, role or pin, a revocation
// undone) every anti-entropy cursor is reset, so that records refused
// before are pulled again. The new snapshot is published after the
// commit, so no other write ever sees a stale one.
func (s *Store) writeMembers(ctx context.Context, fn func(tx *txw) (changed bool, err error)) error {
	s.membersMu.Lock()
	defer s.membersMu.Unlock()
	var next *record.Members
	err := s.write(ctx, func(tx *txw) error {
		next = nil
		changed, err := fn(tx)
		if err != nil || !changed {
			return err
		}
		prev := s.Members()
		if next, err = loadMembers(ctx, tx, s.self); err != nil {
			return err
		}
		if next.Same(prev) {
			next = nil
			return nil
		}
		if err := resolveAll(ctx, tx, next); err != nil {
			return err
		}
		if prev.Grew(next) {
			if _, err := tx.ExecContext(ctx, "DELETE FROM sync_cursors"); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && next != nil {
		s.members.Store(next)
	}
	return err
}

func loadMembers(ctx context.Context, tx *txw, self record.NodeID) (*record.Members, error) {
	in, err := loadMembershipInput(ctx, tx, self)
	if err != nil {
		return nil, err
	}
	return record.ComputeMembers(in), nil
}

// loadMembershipInput reads what membership is computed from.
func loadMembershipInput(ctx context.Context, tx *txw, self record.NodeID) (record.MembershipInput, error) {
	in := record.MembershipInput{Self: self, Founder: true}
	rows, err := tx.QueryContext(ctx, "SELECT node_id, source, role FROM trust")
	if err != nil {
		return in, fmt.Errorf("load trust: %w", err)
	}
	for rows.Next() {
		var id, source, role string
		if err := rows.Scan(&id, &source, &role); err != nil {
			rows.Close()
			return in, err
		}
		r, _ := record.ParseRole(role)
		in.Anchors = append(in.Anchors, record.Anchor{ID: record.NodeID(id), Role: r})
		if source == TrustJoin {
			in.Founder = false // it joined someone else's cluster
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return in, err
	}
	recs, err := queryRecords(ctx, tx, "WHERE kind IN (?, ?)", int(record.KindAdmit), int(record.KindRevoke))
	if err != nil {
		return in, fmt.Errorf("load admits and revokes: %w", err)
	}
	for _, r := range recs {
		e, err := record.OpenStored(r.Raw)
		if err != nil {
			return in, fmt.Errorf("stored %s %s: %w", r.Kind, r.ID.Short(), err)
		}
		switch r.Kind {
		case record.KindAdmit:
			a, err := record.DecodeAdmit(e.Body)
			if err != nil {
				return in, fmt.Errorf("stored admit %s: %w", r.ID.Short(), err)
			}
			in.Admits = append(in.Admits, record.AdmitRec{ID: r.ID, Author: r.Author, Subject: a.SubjectID(), Role: a.Role, Time: e.Time, Pin: a.Pin})
		case record.KindRevoke:
			v, err := record.DecodeRevoke(e.Body)
			if err != nil {
				return in, fmt.Errorf("stored revoke %s: %w", r.ID.Short(), err)
			}
			in.Revokes = append(in.Revokes, record.RevokeRec{ID: r.ID, Author: r.Author, Subject: v.SubjectID(), Time: e.Time, Reason: v.Reason, Pin: v.Pin})
		}
	}
	return in, nil
}

// resolveAll resolves every secret head again under m.
func resolveAll(ctx context.Context, tx *txw, m *record.Members) error {
	rows, err := tx.QueryContext(ctx, "SELECT DISTINCT name, target FROM secrets")
	if err != nil {
		return err
	}
	var keys []record.Key
	for rows.Next() {
		var k record.Key
		var target string
		if err := rows.Scan(&k.Name, &target); err != nil {
			rows.Close()
			return err
		}
		k.Target = record.NodeID(target)
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, k := range keys {
		if _, err := resolveKey(ctx, tx, k, m); err != nil {
			return fmt.Errorf("resolve %s: %w", k, err)
		}
	}
	return nil
}
