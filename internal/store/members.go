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
	return record.ComputeMembers(s.self, nil, nil, nil)
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
// membership lock; when fn reports a membership change, membership is
// recomputed inside the transaction and published after the commit, so no
// other write ever sees a stale snapshot.
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
		next, err = loadMembers(ctx, tx, s.self)
		return err
	})
	if err == nil && next != nil {
		s.members.Store(next)
	}
	return err
}

func loadMembers(ctx context.Context, tx *txw, self record.NodeID) (*record.Members, error) {
	var operator []record.NodeID
	rows, err := tx.QueryContext(ctx, "SELECT node_id FROM trust")
	if err != nil {
		return nil, fmt.Errorf("load trust: %w", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		operator = append(operator, record.NodeID(id))
	}
	rows.Close()
	edges := func(kind record.Kind) ([]record.Edge, error) {
		rows, err := tx.QueryContext(ctx, "SELECT author, key FROM records WHERE kind = ?", int(kind))
		if err != nil {
			return nil, fmt.Errorf("load %s edges: %w", kind, err)
		}
		defer rows.Close()
		var out []record.Edge
		for rows.Next() {
			var a, k string
			if err := rows.Scan(&a, &k); err != nil {
				return nil, err
			}
			out = append(out, record.Edge{Author: record.NodeID(a), Subject: record.NodeID(k)})
		}
		return out, rows.Err()
	}
	admits, err := edges(record.KindAdmit)
	if err != nil {
		return nil, err
	}
	revokes, err := edges(record.KindRevoke)
	if err != nil {
		return nil, err
	}
	return record.ComputeMembers(self, operator, admits, revokes), nil
}
