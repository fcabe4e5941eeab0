package dbfile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// busyTimeoutMS is how long a connection waits for a lock.
const busyTimeoutMS = 10000

// ErrCorrupt is returned by QuickCheck when the integrity check fails.
var ErrCorrupt = errors.New("database failed its integrity check")

// Mode is what a connection pool is opened for.
type Mode int

const (
	Writer   Mode = iota // the one connection that writes
	Reader               // the daemon's read pool
	ReadOnly             // a read-only open (CLI beside the daemon)
)

// DSN is the connection string for the database at path opened in mode:
// the writer takes IMMEDIATE transactions in WAL mode with full sync,
// readers are query-only.
func DSN(path string, mode Mode) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "foreign_keys(1)")
	switch mode {
	case Writer:
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_txlock", "immediate")
	case Reader:
		q.Add("_pragma", "query_only(1)")
	case ReadOnly:
		q.Add("mode", "ro")
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// QuickCheck runs PRAGMA quick_check on the database at path and fails
// with ErrCorrupt on any finding.
func QuickCheck(ctx context.Context, db *sql.DB, path string) error {
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		if strings.Contains(err.Error(), "not a database") || strings.Contains(err.Error(), "malformed") {
			return fmt.Errorf("open store %s: %w: %v", path, ErrCorrupt, err)
		}
		return fmt.Errorf("open store %s: %w", path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("open store %s: %w", path, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("open store %s: %w: %v", path, ErrCorrupt, err)
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], "...")
		}
		return fmt.Errorf("open store %s: %w: %s (restore a backup, or move the file away to start empty and let peers refill it)",
			path, ErrCorrupt, strings.Join(problems, "; "))
	}
	return nil
}
