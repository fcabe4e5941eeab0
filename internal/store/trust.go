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
	TrustTicket  = "ticket"
	TrustApprove = "approve"
	TrustInvite  = "invite"
)

// Trusted is one node the operator trusts directly, with the addresses
// its ticket carried.
type Trusted struct {
	NodeID record.NodeID
	Source string
	Addrs  []string
	Added  time.Time
}

// AddTrust makes id trusted by this node's operator (persisted) and
// recomputes membership. added is false when it already was; the
// addresses are refreshed either way.
func (s *Store) AddTrust(ctx context.Context, now time.Time, id record.NodeID, source string, addrs []string) (added bool, err error) {
	err = s.writeMembers(ctx, func(tx *txw) (bool, error) {
		var err error
		added, err = addTrustRow(ctx, tx, now, id, source, addrs)
		return added, err
	})
	if err != nil {
		return false, fmt.Errorf("add trust: %w", err)
	}
	return added, nil
}

func addTrust(ctx context.Context, tx *txw, now time.Time, id record.NodeID, source string, addrs []string) error {
	_, err := addTrustRow(ctx, tx, now, id, source, addrs)
	return err
}

// addTrustRow adds (or refreshes the addresses of) a trusted node; for a
// new one it also resets every anti-entropy cursor: records it (or nodes
// it admitted) sent before were refused here, so every peer's log is
// pulled from the start.
func addTrustRow(ctx context.Context, tx *txw, now time.Time, id record.NodeID, source string, addrs []string) (bool, error) {
	b, _ := json.Marshal(nonNil(addrs))
	res, err := tx.ExecContext(ctx, `INSERT INTO trust(node_id, source, addrs, added_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT(node_id) DO NOTHING`, string(id), source, string(b), now.UnixMilli())
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if len(addrs) > 0 {
			_, err = tx.ExecContext(ctx, "UPDATE trust SET addrs = ? WHERE node_id = ?", string(b), string(id))
		}
		return false, err
	}
	_, err = tx.ExecContext(ctx, "DELETE FROM sync_cursors")
	return true, err
}

// TrustList returns every directly trusted node.
func (s *Store) TrustList(ctx context.Context) ([]Trusted, error) {
	var out []Trusted
	err := s.read(ctx, func(tx *txw) error {
		rows, err := tx.QueryContext(ctx, "SELECT node_id, source, addrs, added_ms FROM trust ORDER BY added_ms")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t Trusted
			var id, addrs string
			var ms int64
			if err := rows.Scan(&id, &t.Source, &addrs, &ms); err != nil {
				return err
			}
			t.NodeID, t.Added = record.NodeID(id), time.UnixMilli(ms)
			_ = json.Unmarshal([]byte(addrs), &t.Addrs)
			out = append(out, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list trust: %w", err)
	}
	return out, nil
}

func (s *Store) trustMap(ctx context.Context) (map[record.NodeID]string, error) {
	list, err := s.TrustList(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[record.NodeID]string, len(list))
	for _, t := range list {
		out[t.NodeID] = t.Source
	}
	return out, nil
}

// AdmitAddrs returns the dial addresses carried by admit records for id.
func (s *Store) AdmitAddrs(ctx context.Context, id record.NodeID) ([]string, error) {
	var out []string
	err := s.read(ctx, func(tx *txw) error {
		recs, err := queryRecords(ctx, tx, "WHERE kind = ? AND key = ?", int(record.KindAdmit), string(id))
		if err != nil {
			return err
		}
		for _, r := range recs {
			e, err := record.Open(r.Raw)
			if err != nil {
				continue
			}
			if a, err := record.DecodeAdmit(e.Body); err == nil {
				out = append(out, a.Addrs...)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("admit addrs: %w", err)
	}
	return out, nil
}
