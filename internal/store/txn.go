package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/credmesh/credmesh/internal/record"
)

// Tx is one transaction of the store, for a caller that decides what to
// store from what it reads in the same transaction (the replica: it plans,
// decides and stores a batch of records atomically). Every method is SQL:
// the decisions are the caller's.
type Tx struct {
	ctx context.Context
	tx  *txw
}

// Update runs fn in one write transaction and commits it when fn returns
// nil.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	return s.write(ctx, func(tx *txw) error { return fn(&Tx{ctx: ctx, tx: tx}) })
}

// UpdateRelaxed is Update without waiting for the disk at commit: for
// what peers can send again (anti-entropy refills it), never for what
// only this node holds. A crash of the process loses nothing; a power
// loss may lose the transaction, never the file.
func (s *Store) UpdateRelaxed(ctx context.Context, fn func(tx *Tx) error) error {
	return s.writeSync(ctx, false, func(tx *txw) error { return fn(&Tx{ctx: ctx, tx: tx}) })
}

// View runs fn in one read transaction (one snapshot).
func (s *Store) View(ctx context.Context, fn func(tx *Tx) error) error {
	return s.read(ctx, func(tx *txw) error { return fn(&Tx{ctx: ctx, tx: tx}) })
}

// Has reports whether the record id is stored.
func (t *Tx) Has(id record.ID) (bool, error) {
	var one int
	err := t.tx.QueryRowContext(t.ctx, qRecordExists, id[:]).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// Latest returns the stored latest-by-sequence record for (kind, key).
func (t *Tx) Latest(kind record.Kind, key string) (record.Stored, error) {
	return latest(t.ctx, t.tx, kind, key)
}

// Insert stores a decided record at log sequence logSeq, with the row of
// its kind's table (a secret version, a receipt, a peer's node record).
// A latest-by-sequence kind replaces what was stored under its key. A
// secret's head is not touched: see SetHead.
func (t *Tx) Insert(e *record.Envelope, body any, logSeq uint64, now time.Time) error {
	return insert(t.ctx, t.tx, e, body, logSeq, now)
}

// KeyVersions returns every stored version of one secret (name, target).
func (t *Tx) KeyVersions(key record.Key) ([]record.SecretVersion, error) {
	return keyVersions(t.ctx, t.tx, key)
}

// SetHead saves the resolution of one secret: its current version and
// original author.
func (t *Tx) SetHead(key record.Key, res record.Resolution) error {
	var cur any
	var version int64
	var tomb bool
	if res.Current != nil {
		cur, version, tomb = res.Current.ID[:], int64(res.Current.Version), res.Current.Tombstone
	}
	_, err := t.tx.ExecContext(t.ctx, qUpsertHead, key.Name, string(key.Target), string(res.First), cur, version, tomb)
	if err != nil {
		return fmt.Errorf("update secret head: %w", err)
	}
	return nil
}

// SecretKeys returns every (name, target) that holds a version.
func (t *Tx) SecretKeys() ([]record.Key, error) {
	rows, err := t.tx.QueryContext(t.ctx, "SELECT DISTINCT name, target FROM secrets")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []record.Key
	for rows.Next() {
		var k record.Key
		var target string
		if err := rows.Scan(&k.Name, &target); err != nil {
			return nil, err
		}
		k.Target = record.NodeID(target)
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// SecretTarget returns the target of a stored secret version.
func (t *Tx) SecretTarget(id record.ID) (target record.NodeID, ok bool, err error) {
	var s string
	err = t.tx.QueryRowContext(t.ctx, "SELECT target FROM secrets WHERE id = ?", id[:]).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return record.NodeID(s), err == nil, err
}

// Records returns the stored records of the given kinds (all of them when
// none is given) by key when key is set, in log order.
func (t *Tx) Records(key string, kinds ...record.Kind) ([]StoredRecord, error) {
	where, args := "WHERE 1=1", []any{}
	if len(kinds) > 0 {
		where += " AND kind IN (?" + strings.Repeat(",?", len(kinds)-1) + ")"
		for _, k := range kinds {
			args = append(args, int(k))
		}
	}
	if key != "" {
		where += " AND key = ?"
		args = append(args, key)
	}
	return queryRecords(t.ctx, t.tx, where+" ORDER BY log_seq", args...)
}

// Trust returns every directly trusted node.
func (t *Tx) Trust() ([]Trusted, error) { return trustList(t.ctx, t.tx) }

// AddTrust makes a node trusted by this node's operator; see Store.AddTrust.
func (t *Tx) AddTrust(now time.Time, tr Trusted) (added bool, err error) {
	return addTrustRow(t.ctx, t.tx, now, tr)
}

// UseInvite consumes an invite token; see Store.UseInvite.
func (t *Tx) UseInvite(now time.Time, token []byte, claimant record.NodeID, addrs []string) (record.Role, error) {
	return useInvite(t.ctx, t.tx, now, token, claimant, addrs)
}

// ResetCursors forgets how far every peer's log was pulled, so that
// everything is pulled again (records refused before may count now).
func (t *Tx) ResetCursors() error {
	_, err := t.tx.ExecContext(t.ctx, "DELETE FROM sync_cursors")
	return err
}

// SetAuthorSeq saves the last sequence this node signed.
func (t *Tx) SetAuthorSeq(seq uint64) error {
	return setMeta(t.ctx, t.tx, metaAuthorSeq, strconv.FormatUint(seq, 10))
}

// AddEvent appends an audit event.
func (t *Tx) AddEvent(e Event) error { return addEvent(t.ctx, t.tx, e) }

// PutOwnCopy keeps a copy of a secret this node authored for others.
func (t *Tx) PutOwnCopy(now time.Time, c OwnCopy) error { return putOwnCopy(t.ctx, t.tx, now, &c) }

// CurrentCopies returns the current version of name for each of its
// targets, deleted ones included when withDeleted, by target.
func (t *Tx) CurrentCopies(name string, withDeleted bool) ([]SecretVersion, error) {
	return current(t.ctx, t.tx, name, "", withDeleted)
}

// SecretBody is Store.SecretBody inside the transaction.
func (t *Tx) SecretBody(id record.ID) (record.Secret, error) { return secretBody(t.ctx, t.tx, id) }

// Raw returns the raw bytes of the stored records among ids, in order.
func (t *Tx) Raw(ids []record.ID) ([][]byte, error) { return rawByIDs(t.ctx, t.tx, ids) }

// PeerKnown reports whether anything is stored about a node.
func (t *Tx) PeerKnown(id record.NodeID) (bool, error) {
	var one int
	err := t.tx.QueryRowContext(t.ctx, "SELECT 1 FROM peers WHERE node_id = ?", string(id)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// NotePeer saves what a node said about itself in a hello, and where it
// connected from (the last 8 addresses).
func (t *Tx) NotePeer(now time.Time, id record.NodeID, n record.Node, remoteAddr string) error {
	return notePeer(t.ctx, t.tx, now, id, n, remoteAddr)
}

// TrimPending drops the untrusted nodes first seen longest ago among those
// keep refuses, down to max-1 of them, to make room for one more.
func (t *Tx) TrimPending(max int, keep func(record.NodeID) bool) error {
	return trimPending(t.ctx, t.tx, max, keep)
}
