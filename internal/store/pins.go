package store

import (
	"context"
	"fmt"

	"github.com/credmesh/credmesh/internal/record"
)

// PinCandidates returns what a revoke or demotion of subject may pin:
// the subject's admits and revokes, and its current secret versions for
// other nodes. Which of its admits and revokes still count is the
// caller's to decide.
func (s *Store) PinCandidates(ctx context.Context, subject record.NodeID) (trust, secrets []record.ID, err error) {
	err = s.read(ctx, func(tx *txw) error {
		recs, err := queryRecords(ctx, tx, "WHERE author = ? AND kind IN (?, ?)", string(subject), int(record.KindAdmit), int(record.KindRevoke))
		if err != nil {
			return err
		}
		for _, r := range recs {
			trust = append(trust, r.ID)
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
			secrets = append(secrets, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, nil, fmt.Errorf("pin %s: %w", subject.Short(), err)
	}
	return trust, secrets, nil
}
