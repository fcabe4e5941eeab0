package store

import (
	"context"
	"database/sql"
	"fmt"
)

// txw is a transaction that runs known statements through statements
// prepared once at open (parsing SQL costs more than running it here), and
// anything else directly.
type txw struct {
	*sql.Tx
	stmts map[string]*sql.Stmt
}

func (t *txw) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st, ok := t.stmts[q]; ok {
		return t.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, q, args...)
}

func (t *txw) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st, ok := t.stmts[q]; ok {
		return t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, q, args...)
}

func (t *txw) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st, ok := t.stmts[q]; ok {
		return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, q, args...)
}

// Hot statements, prepared at open on the writer connection.
const (
	qRecordExists = "SELECT 1 FROM records WHERE id = ?"
	qLatest       = "SELECT seq, id FROM records WHERE kind = ? AND key = ? ORDER BY seq DESC LIMIT 1"
	qDeleteKey    = "DELETE FROM records WHERE kind = ? AND key = ?"
	qInsertRecord = "INSERT INTO records(id, kind, author, seq, key, time_ms, raw, log_seq, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
	qInsertEvent  = "INSERT INTO events(time_ms, type, node, secret, message, data) VALUES (?, ?, ?, ?, ?, ?)"
	qSetMeta      = "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
	qGetMeta      = "SELECT value FROM meta WHERE key = ?"
	qInsertSecret = "INSERT INTO secrets(id, name, target, version, author, created_ms, tombstone, share_group, restart, ct_size, ct_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	qKeyVersions  = "SELECT id, author, version, tombstone FROM secrets WHERE name = ? AND target = ?"
	qUpsertHead   = "INSERT INTO secret_heads(name, target, creator, current_id, version, tombstone) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name, target) DO UPDATE SET creator = excluded.creator, current_id = excluded.current_id, version = excluded.version, tombstone = excluded.tombstone"
	qMaxLogSeq    = "SELECT max(log_seq) FROM records"
	qLatestBySelf = "SELECT max(seq) FROM records WHERE author = ?"
)

var hotStatements = []string{qRecordExists, qLatest, qDeleteKey, qInsertRecord, qInsertEvent, qSetMeta, qGetMeta,
	qInsertSecret, qKeyVersions, qUpsertHead}

// Hot reads, prepared on the read pool.
var readStatements = []string{qKeyVersions, qLatest, qLatestBySelf, qMaxLogSeq}

// prepare prepares the hot statements on db.
func prepare(ctx context.Context, db *sql.DB, qs []string) (map[string]*sql.Stmt, error) {
	m := make(map[string]*sql.Stmt, len(qs))
	for _, q := range qs {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		m[q] = st
	}
	return m, nil
}
