package store

import (
	"context"
	"fmt"

	"github.com/credmesh/credmesh/internal/record"
)

// ErrPinTooLarge is returned when a node authored more records that still
// count than one pin can hold.
var ErrPinTooLarge = fmt.Errorf("more than %d of its records still count", record.MaxPin)

// Pin returns what a revoke or demotion of subject signed now pins: the
// subject's admits and revokes that count here, and its secret versions
// for other nodes that are current here. Sorted, as a pin must be.
func (s *Store) Pin(ctx context.Context, subject record.NodeID) ([]record.ID, error) {
	m := s.Members()
	var ids []record.ID
	err := s.read(ctx, func(tx *txw) error {
		recs, err := queryRecords(ctx, tx, "WHERE author = ? AND kind IN (?, ?)", string(subject), int(record.KindAdmit), int(record.KindRevoke))
		if err != nil {
			return err
		}
		for _, r := range recs {
			if m.Counts(subject, r.ID) {
				ids = append(ids, r.ID)
			}
		}
		rows, err := tx.QueryContext(ctx, "SELECT id FROM current_secrets WHERE author = ? AND target != ?", string(subject), string(subject))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				return err
			}
			var id record.ID
			copy(id[:], b)
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("pin %s: %w", subject.Short(), err)
	}
	if len(ids) > record.MaxPin {
		return nil, fmt.Errorf("pin %s: %w", subject.Short(), ErrPinTooLarge)
	}
	return record.SortPin(ids), nil
}
