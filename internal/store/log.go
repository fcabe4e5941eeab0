package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/credmesh/credmesh/internal/record"
)

// LogPage is a page of this node's record log.
type LogPage struct {
	IDs    []record.ID
	Last   uint64 // log sequence of the last ID in the page (or since)
	MaxSeq uint64 // highest log sequence in the store
	More   bool   // more entries follow Last
}

// LogSince returns the IDs of records stored after log sequence since, in
// log order, at most limit of them.
func (s *Store) LogSince(ctx context.Context, since uint64, limit int) (LogPage, error) {
	page := LogPage{Last: since}
	err := s.read(ctx, func(tx *txw) error {
		var max sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT max(log_seq) FROM records").Scan(&max); err != nil {
			return err
		}
		page.MaxSeq = uint64(max.Int64)
		rows, err := tx.QueryContext(ctx, "SELECT id, log_seq FROM records WHERE log_seq > ? ORDER BY log_seq LIMIT ?", int64(since), limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id []byte
			var seq int64
			if err := rows.Scan(&id, &seq); err != nil {
				return err
			}
			if len(page.IDs) == limit {
				page.More = true
				break
			}
			var rid record.ID
			copy(rid[:], id)
			page.IDs = append(page.IDs, rid)
			page.Last = uint64(seq)
		}
		return rows.Err()
	})
	if err != nil {
		return LogPage{}, fmt.Errorf("log since %d: %w", since, err)
	}
	if !page.More {
		page.Last = max(page.Last, page.MaxSeq)
	}
	return page, nil
}

// Missing returns the IDs in ids that are not stored, in order.
func (s *Store) Missing(ctx context.Context, ids []record.ID) ([]record.ID, error) {
	var out []record.ID
	err := s.read(ctx, func(tx *txw) error {
		have, err := haveIDs(ctx, tx, ids)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if !have[id] {
				out = append(out, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("missing records: %w", err)
	}
	return out, nil
}

// RawByIDs returns the raw bytes of the stored records among ids, in the
// order of ids (unknown IDs are skipped).
func (s *Store) RawByIDs(ctx context.Context, ids []record.ID) ([][]byte, error) {
	var out [][]byte
	err := s.read(ctx, func(tx *txw) error {
		var err error
		out, err = rawByIDs(ctx, tx, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	return out, nil
}

func rawByIDs(ctx context.Context, tx *txw, ids []record.ID) ([][]byte, error) {
	var out [][]byte
	err := func() error {
		byID := map[record.ID][]byte{}
		for chunk := range chunks(ids, 500) {
			q, args := inClause("SELECT id, raw FROM records WHERE id IN ", chunk)
			rows, err := tx.QueryContext(ctx, q, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id, raw []byte
				if err := rows.Scan(&id, &raw); err != nil {
					rows.Close()
					return err
				}
				var rid record.ID
				copy(rid[:], id)
				byID[rid] = raw
			}
			rows.Close()
		}
		for _, id := range ids {
			if raw, ok := byID[id]; ok {
				out = append(out, raw)
			}
		}
		return nil
	}()
	return out, err
}

func haveIDs(ctx context.Context, tx *txw, ids []record.ID) (map[record.ID]bool, error) {
	have := map[record.ID]bool{}
	for chunk := range chunks(ids, 500) {
		q, args := inClause("SELECT id FROM records WHERE id IN ", chunk)
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id []byte
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			var rid record.ID
			copy(rid[:], id)
			have[rid] = true
		}
		rows.Close()
	}
	return have, nil
}

func chunks(ids []record.ID, n int) func(func([]record.ID) bool) {
	return func(yield func([]record.ID) bool) {
		for len(ids) > 0 {
			k := min(n, len(ids))
			if !yield(ids[:k]) {
				return
			}
			ids = ids[k:]
		}
	}
}

func inClause(prefix string, ids []record.ID) (string, []any) {
	args := make([]any, len(ids))
	for i := range ids {
		args[i] = ids[i][:]
	}
	return prefix + "(" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")", args
}

// Cursor returns how far this node has pulled peer's log, for the given
// log identity; a different identity (the peer's database was replaced)
// starts from 0.
func (s *Store) Cursor(ctx context.Context, peer record.NodeID) (indexID []byte, seq uint64, err error) {
	err = s.read(ctx, func(tx *txw) error {
		var n int64
		err := tx.QueryRowContext(ctx, "SELECT index_id, seq FROM sync_cursors WHERE peer = ?", string(peer)).Scan(&indexID, &n)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		seq = uint64(n)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("cursor: %w", err)
	}
	return indexID, seq, nil
}

// SetCursor saves how far this node has pulled peer's log.
func (s *Store) SetCursor(ctx context.Context, now time.Time, peer record.NodeID, indexID []byte, seq uint64) error {
	err := s.write(ctx, func(tx *txw) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sync_cursors(peer, index_id, seq, synced_ms) VALUES (?, ?, ?, ?)
			ON CONFLICT(peer) DO UPDATE SET index_id = excluded.index_id, seq = excluded.seq, synced_ms = excluded.synced_ms`,
			string(peer), indexID, int64(seq), now.UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("set cursor: %w", err)
	}
	return nil
}
