package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/credmesh/credmesh/internal/crashpoint"
)

// FileName is the database file inside the data dir.
const FileName = "credmesh.db"

// busyTimeoutMS is how long a connection waits for a lock.
const busyTimeoutMS = 10000

// ErrCorrupt is returned by Open when the integrity check fails.
var ErrCorrupt = errors.New("database failed its integrity check")

// Store is the node's database. It is safe for concurrent use.
type Store struct {
	path string
	w    *sql.DB // one connection, IMMEDIATE transactions; nil when read-only
	r    *sql.DB // readers

	idMu    sync.Mutex
	indexID []byte // cached IndexID

	wstmts map[string]*sql.Stmt // prepared on w
	rstmts map[string]*sql.Stmt // prepared on r
}

type connMode int

const (
	writer   connMode = iota // the one connection that writes
	reader                   // the daemon's read pool
	readOnly                 // a read-only open (CLI beside the daemon)
)

func dsn(path string, mode connMode) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "foreign_keys(1)")
	switch mode {
	case writer:
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_txlock", "immediate")
	case reader:
		q.Add("_pragma", "query_only(1)")
	case readOnly:
		q.Add("mode", "ro")
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Open opens (creating if needed) the database at path, checks its
// integrity and applies pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	w, err := sql.Open("sqlite", dsn(path, writer))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	w.SetMaxOpenConns(1)
	s := &Store{path: path, w: w}
	if err := s.check(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	if _, _, err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, reader))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	r.SetMaxOpenConns(4)
	s.r = r
	if s.wstmts, err = prepare(ctx, w, hotStatements); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if s.rstmts, err = prepare(ctx, r, readStatements); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// OpenReadOnly opens an existing database for reading only, beside a
// running daemon or without one. It does not migrate; a database from a
// newer build is refused.
func OpenReadOnly(ctx context.Context, path string) (*Store, error) {
	r, err := sql.Open("sqlite", dsn(path, readOnly))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	r.SetMaxOpenConns(2)
	s := &Store{path: path, r: r}
	var v int
	if err := r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		r.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if v > SchemaVersion() {
		r.Close()
		return nil, fmt.Errorf("open store %s: schema version %d is newer than this build supports (%d)", path, v, SchemaVersion())
	}
	if v == 0 {
		r.Close()
		return nil, fmt.Errorf("open store %s: no credmesh database there", path)
	}
	return s, nil
}

// check runs PRAGMA quick_check and fails with ErrCorrupt on any finding.
func (s *Store) check(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		if strings.Contains(err.Error(), "not a database") || strings.Contains(err.Error(), "malformed") {
			return fmt.Errorf("open store %s: %w: %v", s.path, ErrCorrupt, err)
		}
		return fmt.Errorf("open store %s: %w", s.path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("open store %s: %w", s.path, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("open store %s: %w: %v", s.path, ErrCorrupt, err)
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], "...")
		}
		return fmt.Errorf("open store %s: %w: %s (restore a backup, or move the file away to start empty and let peers refill it)",
			s.path, ErrCorrupt, strings.Join(problems, "; "))
	}
	return nil
}

// Path returns the database file path.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error {
	var errs []error
	for _, m := range []map[string]*sql.Stmt{s.wstmts, s.rstmts} {
		for _, st := range m {
			errs = append(errs, st.Close())
		}
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// ErrReadOnly is returned by writes on a store opened with OpenReadOnly.
var ErrReadOnly = errors.New("store is read-only")

// write runs fn in one IMMEDIATE transaction and commits it.
func (s *Store) write(ctx context.Context, fn func(tx *txw) error) error {
	if s.w == nil {
		return ErrReadOnly
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(&txw{Tx: tx, stmts: s.wstmts}); err != nil {
		return err
	}
	crashpoint.Here(crashpoint.StoreBeforeCommit)
	if err := tx.Commit(); err != nil {
		return err
	}
	crashpoint.Here(crashpoint.StoreAfterCommit)
	return nil
}

// read runs fn in one read transaction, so it sees one snapshot.
func (s *Store) read(ctx context.Context, fn func(tx *txw) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(&txw{Tx: tx, stmts: s.rstmts})
}
