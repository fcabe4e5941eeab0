package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/credmesh/credmesh/internal/crashpoint"
	"github.com/credmesh/credmesh/internal/store/dbfile"
)

// FileName is the database file inside the data dir.
const FileName = "credmesh.db"

// ErrCorrupt is returned by Open when the integrity check fails.
var ErrCorrupt = dbfile.ErrCorrupt

// Store is the node's database. It is safe for concurrent use.
type Store struct {
	path string
	w    *sql.DB // one connection, IMMEDIATE transactions; nil when read-only
	r    *sql.DB // readers

	idMu    sync.Mutex
	indexID []byte // cached IndexID

	wstmts map[string]*sql.Stmt // prepared on w
	rstmts map[string]*sql.Stmt // prepared on r

	// relaxed is the writer connection's safety level (true: NORMAL);
	// read and set only while holding that connection.
	relaxed bool
}

// Open opens (creating if needed) the database at path, checks its
// integrity and applies pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	w, err := sql.Open("sqlite", dbfile.DSN(path, dbfile.Writer))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	w.SetMaxOpenConns(1)
	s := &Store{path: path, w: w}
	if err := dbfile.QuickCheck(ctx, w, path); err != nil {
		w.Close()
		return nil, err
	}
	if _, _, err := dbfile.Migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dbfile.DSN(path, dbfile.Reader))
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
	r, err := sql.Open("sqlite", dbfile.DSN(path, dbfile.ReadOnly))
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
	if v > dbfile.Version() {
		r.Close()
		return nil, fmt.Errorf("open store %s: schema version %d is newer than this build supports (%d)", path, v, dbfile.Version())
	}
	if v == 0 {
		r.Close()
		return nil, fmt.Errorf("open store %s: no credmesh database there", path)
	}
	return s, nil
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

// write runs fn in one IMMEDIATE transaction and commits it, waiting
// for the disk (synchronous=FULL).
func (s *Store) write(ctx context.Context, fn func(tx *txw) error) error {
	return s.writeSync(ctx, true, fn)
}

// writeSync runs fn in one IMMEDIATE transaction on the writer
// connection, held for the whole call, and commits it. A durable commit
// returns once the write-ahead log is on disk; a relaxed one
// (synchronous=NORMAL) returns before: a crashed process loses nothing,
// a power loss may lose the transaction but never corrupts the file, and
// the next durable commit makes it durable with its own.
func (s *Store) writeSync(ctx context.Context, durable bool, fn func(tx *txw) error) error {
	if s.w == nil {
		return ErrReadOnly
	}
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if s.relaxed == durable {
		// SQLite takes the safety level only outside a transaction. A
		// connection the pool reopened starts at FULL (the DSN), so
		// relaxed may only ever be wrong on the safe side.
		mode := "FULL"
		if !durable {
			mode = "NORMAL"
		}
		if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = "+mode); err != nil {
			return fmt.Errorf("set synchronous %s: %w", mode, err)
		}
		s.relaxed = !durable
	}
	tx, err := conn.BeginTx(ctx, nil)
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
