package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
)

// Meta keys.
const (
	metaIndexID   = "index_id"   // random identity of this database's record log
	metaAuthorSeq = "author_seq" // last sequence this node signed
)

func getMeta(ctx context.Context, tx *txw, key string) (string, bool, error) {
	var v string
	err := tx.QueryRowContext(ctx, qGetMeta, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

func setMeta(ctx context.Context, tx *txw, key, value string) error {
	_, err := tx.ExecContext(ctx, qSetMeta, key, value)
	return err
}

func getMetaUint(ctx context.Context, tx *txw, key string) (uint64, error) {
	v, ok, err := getMeta(ctx, tx, key)
	if err != nil || !ok {
		return 0, err
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("meta %s: %w", key, err)
	}
	return n, nil
}

// IndexID returns the random identity of this database's record log,
// creating it once. Anti-entropy peers keep cursors per index ID, so a
// wiped database (a new index ID) is pulled from the start again.
func (s *Store) IndexID(ctx context.Context) ([]byte, error) {
	s.idMu.Lock()
	cached := s.indexID
	s.idMu.Unlock()
	if cached != nil {
		return cached, nil
	}
	var id []byte
	err := s.write(ctx, func(tx *txw) error {
		v, ok, err := getMeta(ctx, tx, metaIndexID)
		if err != nil {
			return err
		}
		if ok {
			id = []byte(v)
			return nil
		}
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		id = []byte(fmt.Sprintf("%x", b))
		return setMeta(ctx, tx, metaIndexID, string(id))
	})
	if err != nil {
		return nil, fmt.Errorf("index id: %w", err)
	}
	s.idMu.Lock()
	s.indexID = id
	s.idMu.Unlock()
	return id, nil
}
