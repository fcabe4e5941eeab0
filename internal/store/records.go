package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/credmesh/credmesh/internal/record"
)

// latest returns the stored latest-by-sequence record for (kind, key).
func latest(ctx context.Context, tx *txw, kind record.Kind, key string) (record.Stored, error) {
	var cur record.Stored
	var id []byte
	var seq int64
	err := tx.QueryRowContext(ctx, qLatest, int(kind), key).Scan(&seq, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return cur, nil
	}
	if err != nil {
		return cur, err
	}
	cur.Has, cur.Seq = true, uint64(seq)
	copy(cur.ID[:], id)
	return cur, nil
}

// RecordKey is the key column of a record: what it is about (the
// subject of an admit or revoke, a secret's or receipt's key, else the
// author).
func RecordKey(e *record.Envelope, body any) string {
	switch b := body.(type) {
	case record.Admit:
		return string(b.SubjectID())
	case record.Revoke:
		return string(b.SubjectID())
	case record.Secret:
		return b.Key().String()
	case record.Receipt:
		return b.Key(e.AuthorID()).String()
	}
	return string(e.AuthorID())
}

// insert stores a decided record (a secret's row too; its head is set by
// the caller, once per batch).
func insert(ctx context.Context, tx *txw, e *record.Envelope, body any, logSeq uint64, now time.Time) error {
	key := RecordKey(e, body)
	if record.IsLatestKind(e.Kind) {
		if _, err := tx.ExecContext(ctx, qDeleteKey, int(e.Kind), key); err != nil {
			return err
		}
	}
	id := e.ID()
	_, err := tx.ExecContext(ctx, qInsertRecord,
		id[:], int(e.Kind), string(e.AuthorID()), int64(e.Seq), key, e.Time.UnixMilli(), e.Raw(), int64(logSeq), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("insert record: %w", err)
	}
	switch b := body.(type) {
	case record.Node:
		return upsertPeerFromNode(ctx, tx, e.AuthorID(), b, now)
	case record.Secret:
		return insertSecret(ctx, tx, e, b)
	case record.Receipt:
		return upsertReceipt(ctx, tx, e, b)
	}
	return nil
}

func upsertPeerFromNode(ctx context.Context, tx *txw, id record.NodeID, n record.Node, now time.Time) error {
	addrs, _ := json.Marshal(nonNil(n.Addrs))
	_, err := tx.ExecContext(ctx, `INSERT INTO peers(node_id, hostname, age_recipient, agent_version, addrs, started_ms, first_seen_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(node_id) DO UPDATE SET hostname = excluded.hostname, age_recipient = excluded.age_recipient,
			agent_version = excluded.agent_version, addrs = excluded.addrs, started_ms = excluded.started_ms`,
		string(id), n.Hostname, n.AgeRecipient, n.AgentVersion, string(addrs), n.StartedAt.UnixMilli(), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("update peer: %w", err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// OwnCopy is a secret this node authored for others, encrypted to its
// own key, so that it can share what it wrote.
type OwnCopy struct {
	Group      []byte
	Version    uint64
	Name       string
	Ciphertext []byte
}

// Seqs returns the last sequence this node signed (as saved) and the
// highest log sequence stored, where the counters resume at open. Log
// sequences only rise: a superseded record is replaced in the same
// transaction by one with a higher sequence.
func (s *Store) Seqs(ctx context.Context) (author, log uint64, err error) {
	err = s.read(ctx, func(tx *txw) error {
		v, err := getMetaUint(ctx, tx, metaAuthorSeq)
		if err != nil {
			return err
		}
		var logSeq sql.NullInt64
		if err := tx.QueryRowContext(ctx, qMaxLogSeq).Scan(&logSeq); err != nil {
			return err
		}
		author, log = v, uint64(logSeq.Int64)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("read sequences: %w", err)
	}
	return author, log, nil
}

// LatestSeq returns the highest sequence among stored records authored by
// id (0 when there is none).
func (s *Store) LatestSeq(ctx context.Context, id record.NodeID) (uint64, error) {
	var seq sql.NullInt64
	err := s.read(ctx, func(tx *txw) error {
		return tx.QueryRowContext(ctx, qLatestBySelf, string(id)).Scan(&seq)
	})
	if err != nil {
		return 0, fmt.Errorf("latest seq: %w", err)
	}
	return uint64(seq.Int64), nil
}

// StoredRecord is one stored record.
type StoredRecord struct {
	ID       record.ID
	Kind     record.Kind
	Author   record.NodeID
	Seq      uint64
	Key      string
	Time     time.Time
	Received time.Time
	Raw      []byte
}

// Latest returns the latest stored record of kind with key (node and
// sysinfo records are keyed by their author), or ok=false.
func (s *Store) Latest(ctx context.Context, kind record.Kind, key string) (rec StoredRecord, ok bool, err error) {
	err = s.read(ctx, func(tx *txw) error {
		recs, err := queryRecords(ctx, tx, "WHERE kind = ? AND key = ? ORDER BY seq DESC LIMIT 1", int(kind), key)
		if len(recs) == 1 {
			rec, ok = recs[0], true
		}
		return err
	})
	return rec, ok, err
}

// CountRecords returns the number of stored records by kind.
func (s *Store) CountRecords(ctx context.Context) (map[record.Kind]int, error) {
	out := map[record.Kind]int{}
	err := s.read(ctx, func(tx *txw) error {
		rows, err := tx.QueryContext(ctx, "SELECT kind, count(*) FROM records GROUP BY kind")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k, n int
			if err := rows.Scan(&k, &n); err != nil {
				return err
			}
			out[record.Kind(k)] = n
		}
		return rows.Err()
	})
	return out, err
}

func queryRecords(ctx context.Context, tx *txw, where string, args ...any) ([]StoredRecord, error) {
	rows, err := tx.QueryContext(ctx, "SELECT id, kind, author, seq, key, time_ms, received_ms, raw FROM records "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StoredRecord
	for rows.Next() {
		var r StoredRecord
		var id []byte
		var kind int
		var seq, t, rcv int64
		var author string
		if err := rows.Scan(&id, &kind, &author, &seq, &r.Key, &t, &rcv, &r.Raw); err != nil {
			return nil, err
		}
		copy(r.ID[:], id)
		r.Kind, r.Author, r.Seq = record.Kind(kind), record.NodeID(author), uint64(seq)
		r.Time, r.Received = time.UnixMilli(t), time.UnixMilli(rcv)
		out = append(out, r)
	}
	return out, rows.Err()
}
