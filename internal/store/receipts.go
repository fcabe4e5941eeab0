package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/credmesh/credmesh/internal/record"
)

func upsertReceipt(ctx context.Context, tx *txw, e *record.Envelope, r record.Receipt) error {
	id := e.ID()
	_, err := tx.ExecContext(ctx, `INSERT INTO receipts(target, name, version, secret_id, state, error, at_ms, record_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(target, name) DO UPDATE SET version = excluded.version, secret_id = excluded.secret_id, state = excluded.state,
			error = excluded.error, at_ms = excluded.at_ms, record_id = excluded.record_id`,
		string(e.AuthorID()), r.Name, int64(r.Version), r.Secret[:], r.State.String(), r.Error, r.At.UnixMilli(), id[:])
	if err != nil {
		return fmt.Errorf("update receipt: %w", err)
	}
	return nil
}

// Receipt is a target's latest report on one of its secrets.
type Receipt struct {
	Target  record.NodeID
	Name    string
	Version uint64
	Secret  record.ID
	State   string // written, removed, failed
	Error   string
	At      time.Time
}

// Receipts returns the latest receipt of every target for name, by target.
func (s *Store) Receipts(ctx context.Context, name string) (map[record.NodeID]Receipt, error) {
	out := map[record.NodeID]Receipt{}
	err := s.read(ctx, func(tx *txw) error {
		q := "SELECT target, name, version, secret_id, state, error, at_ms FROM receipts"
		var args []any
		if name != "" {
			q += " WHERE name = ?"
			args = append(args, name)
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r Receipt
			var target string
			var version, at int64
			var sid []byte
			if err := rows.Scan(&target, &r.Name, &version, &sid, &r.State, &r.Error, &at); err != nil {
				return err
			}
			r.Target, r.Version, r.At = record.NodeID(target), uint64(version), time.UnixMilli(at)
			copy(r.Secret[:], sid)
			if name != "" {
				out[r.Target] = r
			} else {
				out[record.NodeID(target+"/"+r.Name)] = r
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("receipts: %w", err)
	}
	return out, nil
}

// CredState is what this node last wrote as the credential file of a
// secret.
type CredState struct {
	Name    string
	Secret  record.ID
	Version uint64
	Written time.Time
}

// CredState returns the last successful write of name's credential.
func (s *Store) CredState(ctx context.Context, name string) (CredState, bool, error) {
	var c CredState
	var ok bool
	err := s.read(ctx, func(tx *txw) error {
		var sid []byte
		var version, at int64
		err := tx.QueryRowContext(ctx, "SELECT secret_id, version, written_ms FROM cred_state WHERE name = ?", name).Scan(&sid, &version, &at)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		c = CredState{Name: name, Version: uint64(version), Written: time.UnixMilli(at)}
		copy(c.Secret[:], sid)
		return nil
	})
	return c, ok, err
}

// CredStates returns every credential this node has written.
func (s *Store) CredStates(ctx context.Context) ([]CredState, error) {
	var out []CredState
	err := s.read(ctx, func(tx *txw) error {
		rows, err := tx.QueryContext(ctx, "SELECT name, secret_id, version, written_ms FROM cred_state ORDER BY name")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c CredState
			var sid []byte
			var version, at int64
			if err := rows.Scan(&c.Name, &sid, &version, &at); err != nil {
				return err
			}
			copy(c.Secret[:], sid)
			c.Version, c.Written = uint64(version), time.UnixMilli(at)
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// SetCredState records a successful write of name's credential.
func (s *Store) SetCredState(ctx context.Context, c CredState) error {
	return s.write(ctx, func(tx *txw) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO cred_state(name, secret_id, version, written_ms) VALUES (?, ?, ?, ?)
			ON CONFLICT(name) DO UPDATE SET secret_id = excluded.secret_id, version = excluded.version, written_ms = excluded.written_ms`,
			c.Name, c.Secret[:], int64(c.Version), c.Written.UnixMilli())
		return err
	})
}

// DeleteCredState forgets name's credential (its file was removed).
func (s *Store) DeleteCredState(ctx context.Context, name string) error {
	return s.write(ctx, func(tx *txw) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM cred_state WHERE name = ?", name)
		return err
	})
}
