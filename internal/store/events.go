package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Event types of the node's life; each layer declares its own.
const (
	EventNodeStart = "node.start"
	EventNodeStop  = "node.stop"
)

// Limits on what goes into the audit log.
const (
	maxEventMessage = 1024
	maxEventData    = 16 << 10
	MaxEventsPage   = 1000
)

// Event is one audit log entry. It never carries plaintext or key material.
type Event struct {
	ID      int64           `json:"id"`
	Time    time.Time       `json:"time"`
	Type    string          `json:"type"`
	Node    string          `json:"node,omitempty"`
	Secret  string          `json:"secret,omitempty"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// EventFilter selects audit events, newest first. Zero fields match all.
type EventFilter struct {
	Type   string
	Node   string
	Secret string
	Before int64 // only events with a smaller ID (paging cursor)
	Limit  int   // default 100, at most MaxEventsPage
}

// AddEvent appends e to the audit log. A zero Time means now; an
// over-long message or data is cut rather than refused, so that auditing
// never fails the operation it records.
func (s *Store) AddEvent(ctx context.Context, e Event) error {
	return s.write(ctx, func(tx *txw) error { return addEvent(ctx, tx, e) })
}

func addEvent(ctx context.Context, tx *txw, e Event) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if len(e.Message) > maxEventMessage {
		e.Message = strings.ToValidUTF8(e.Message[:maxEventMessage], "") + "..."
	}
	var data any
	if len(e.Data) > 0 {
		if len(e.Data) > maxEventData || !json.Valid(e.Data) {
			e.Data, _ = json.Marshal(map[string]any{"truncated": true, "bytes": len(e.Data)})
		}
		data = string(e.Data)
	}
	_, err := tx.ExecContext(ctx, qInsertEvent,
		e.Time.UnixMilli(), e.Type, e.Node, e.Secret, e.Message, data)
	if err != nil {
		return fmt.Errorf("add event: %w", err)
	}
	return nil
}

// Events returns the events matching f, newest first.
func (s *Store) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Limit > MaxEventsPage {
		f.Limit = MaxEventsPage
	}
	var where []string
	var args []any
	for _, c := range []struct {
		col, val string
	}{{"type", f.Type}, {"node", f.Node}, {"secret", f.Secret}} {
		if c.val != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	if f.Before > 0 {
		where = append(where, "id < ?")
		args = append(args, f.Before)
	}
	q := "SELECT id, time_ms, type, node, secret, message, data FROM events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit)
	var out []Event
	err := s.read(ctx, func(tx *txw) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e Event
			var ms int64
			var data sql.NullString
			if err := rows.Scan(&e.ID, &ms, &e.Type, &e.Node, &e.Secret, &e.Message, &data); err != nil {
				return err
			}
			e.Time = time.UnixMilli(ms)
			if data.Valid {
				e.Data = json.RawMessage(data.String)
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return out, nil
}

// CountEvents returns the number of audit events.
func (s *Store) CountEvents(ctx context.Context) (int64, error) {
	var n int64
	err := s.read(ctx, func(tx *txw) error {
		return tx.QueryRowContext(ctx, "SELECT count(*) FROM events").Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}
