package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/credmesh/credmesh/internal/record"
)

// Trust sources: how an operator came to trust a node directly.
const (
	TrustJoin    = "join" // the node this one joined through (a ticket or invite given to run)
	TrustTicket  = "ticket"
	TrustApprove = "approve"
	TrustInvite  = "invite"
)

// Trusted is one node the operator trusts directly, with the role given
// and the addresses its ticket carried.
type Trusted struct {
	NodeID record.NodeID
	Source string
	Role   record.Role
	Addrs  []string
	Added  time.Time
}

// addTrustRow adds (or refreshes) a trusted node.
func addTrustRow(ctx context.Context, tx *txw, now time.Time, t Trusted) (bool, error) {
	b, _ := json.Marshal(nonNil(t.Addrs))
	if t.Role == 0 {
		t.Role = record.RoleNode
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO trust(node_id, source, addrs, added_ms, role) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(node_id) DO NOTHING`, string(t.NodeID), t.Source, string(b), now.UnixMilli(), t.Role.String())
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE trust SET
			addrs = CASE WHEN ? THEN ? ELSE addrs END,
			role = CASE WHEN ? = 'admin' THEN 'admin' ELSE role END,
			source = CASE WHEN ? = 'join' THEN 'join' ELSE source END
		WHERE node_id = ?`, len(t.Addrs) > 0, string(b), t.Role.String(), t.Source, string(t.NodeID))
	return false, err
}

// TrustList returns every directly trusted node.
func (s *Store) TrustList(ctx context.Context) ([]Trusted, error) {
	var out []Trusted
	err := s.read(ctx, func(tx *txw) error {
		var err error
		out, err = trustList(ctx, tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list trust: %w", err)
	}
	return out, nil
}

func trustList(ctx context.Context, tx *txw) ([]Trusted, error) {
	rows, err := tx.QueryContext(ctx, "SELECT node_id, source, role, addrs, added_ms FROM trust ORDER BY added_ms")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Trusted
	for rows.Next() {
		var t Trusted
		var id, role, addrs string
		var ms int64
		if err := rows.Scan(&id, &t.Source, &role, &addrs, &ms); err != nil {
			return nil, err
		}
		t.Role, _ = record.ParseRole(role)
		t.NodeID, t.Added = record.NodeID(id), time.UnixMilli(ms)
		_ = json.Unmarshal([]byte(addrs), &t.Addrs)
		out = append(out, t)
	}
	return out, rows.Err()
}

func (s *Store) trustMap(ctx context.Context) (map[record.NodeID]Trusted, error) {
	list, err := s.TrustList(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[record.NodeID]Trusted, len(list))
	for _, t := range list {
		out[t.NodeID] = t
	}
	return out, nil
}
