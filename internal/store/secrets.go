package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/credmesh/credmesh/internal/record"
)

// insertSecret adds the secret version's row; the caller resolves its key.
func insertSecret(ctx context.Context, tx *txw, e *record.Envelope, s record.Secret) error {
	units, _ := json.Marshal(nonNil(s.Restart))
	var hash any
	if len(s.Ciphertext) > 0 {
		sum := sha256.Sum256(s.Ciphertext)
		hash = sum[:]
	}
	id := e.ID()
	_, err := tx.ExecContext(ctx, qInsertSecret,
		id[:], s.Name, string(s.TargetID()), int64(s.Version), string(e.AuthorID()), s.CreatedAt.UnixMilli(), s.Tombstone,
		s.Group, string(units), len(s.Ciphertext), hash)
	if err != nil {
		return fmt.Errorf("insert secret: %w", err)
	}
	return nil
}

func keyVersions(ctx context.Context, tx *txw, key record.Key) ([]record.SecretVersion, error) {
	rows, err := tx.QueryContext(ctx, qKeyVersions, key.Name, string(key.Target))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vs []record.SecretVersion
	for rows.Next() {
		var v record.SecretVersion
		var id []byte
		var author string
		var version int64
		if err := rows.Scan(&id, &author, &version, &v.Tombstone); err != nil {
			return nil, err
		}
		copy(v.ID[:], id)
		v.Author, v.Version = record.NodeID(author), uint64(version)
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

// SecretVersion is one stored version of a secret, without its ciphertext.
type SecretVersion struct {
	ID         record.ID
	Name       string
	Target     record.NodeID
	Version    uint64
	Author     record.NodeID
	Creator    record.NodeID // the original author of (name, target): the author of its lowest version that counts
	Created    time.Time
	Tombstone  bool
	Group      []byte
	Restart    []string
	Size       int    // ciphertext bytes
	CipherHash []byte // SHA-256 of the ciphertext
	Current    bool   // the version in force
	Counts     bool   // false for versions refused by the rules
}

const secretCols = "s.id, s.name, s.target, s.version, s.author, s.created_ms, s.tombstone, s.share_group, s.restart, s.ct_size, s.ct_hash"

func scanSecrets(rows *sql.Rows) ([]SecretVersion, error) {
	defer rows.Close()
	var out []SecretVersion
	for rows.Next() {
		v, err := scanOne(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CurrentSecrets returns the current version of every secret (of one
// target when target is set), deleted ones included when withDeleted, by
// name then target.
func (s *Store) CurrentSecrets(ctx context.Context, target record.NodeID, withDeleted bool) ([]SecretVersion, error) {
	var out []SecretVersion
	err := s.read(ctx, func(tx *txw) error {
		var err error
		out, err = current(ctx, tx, "", target, withDeleted)
		return err
	})
	return out, err
}

func current(ctx context.Context, tx *txw, name string, target record.NodeID, withDeleted bool) ([]SecretVersion, error) {
	q := "SELECT " + secretCols + ", s.creator FROM current_secrets s WHERE 1=1"
	var args []any
	if name != "" {
		q += " AND s.name = ?"
		args = append(args, name)
	}
	if target != "" {
		q += " AND s.target = ?"
		args = append(args, string(target))
	}
	if !withDeleted {
		q += " AND s.tombstone = 0"
	}
	q += " ORDER BY s.name, s.target"
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("current secrets: %w", err)
	}
	out, err := scanCurrent(rows)
	if err != nil {
		return nil, fmt.Errorf("current secrets: %w", err)
	}
	return out, nil
}

func scanCurrent(rows *sql.Rows) ([]SecretVersion, error) {
	defer rows.Close()
	var out []SecretVersion
	for rows.Next() {
		var creator string
		vs, err := scanOne(rows, &creator)
		if err != nil {
			return nil, err
		}
		vs.Creator, vs.Current, vs.Counts = record.NodeID(creator), true, true
		out = append(out, vs)
	}
	return out, rows.Err()
}

func scanOne(rows *sql.Rows, extra ...any) (SecretVersion, error) {
	var v SecretVersion
	var id []byte
	var target, author, units string
	var version, created int64
	dest := append([]any{&id, &v.Name, &target, &version, &author, &created, &v.Tombstone, &v.Group, &units, &v.Size, &v.CipherHash}, extra...)
	if err := rows.Scan(dest...); err != nil {
		return v, err
	}
	copy(v.ID[:], id)
	v.Target, v.Author, v.Version = record.NodeID(target), record.NodeID(author), uint64(version)
	v.Created = time.UnixMilli(created)
	_ = json.Unmarshal([]byte(units), &v.Restart)
	return v, nil
}

// SecretHistory returns every stored version of name (for one target when
// target is set), newest first, and every version of each target's copy
// as record.Resolve takes them, from one snapshot. Creator, Current and
// Counts are left for the caller to fill from the resolution.
func (s *Store) SecretHistory(ctx context.Context, name string, target record.NodeID) ([]SecretVersion, map[record.NodeID][]record.SecretVersion, error) {
	q := "SELECT " + secretCols + " FROM secrets s WHERE s.name = ?"
	args := []any{name}
	if target != "" {
		q += " AND s.target = ?"
		args = append(args, string(target))
	}
	q += " ORDER BY s.target, s.version DESC, s.id DESC"
	var out []SecretVersion
	byTarget := map[record.NodeID][]record.SecretVersion{}
	err := s.read(ctx, func(tx *txw) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if out, err = scanSecrets(rows); err != nil {
			return err
		}
		for _, v := range out {
			if _, ok := byTarget[v.Target]; ok {
				continue
			}
			vs, err := keyVersions(ctx, tx, record.Key{Name: name, Target: v.Target})
			if err != nil {
				return err
			}
			byTarget[v.Target] = vs
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("secret history: %w", err)
	}
	return out, byTarget, nil
}

// KeyVersions returns every stored version of one secret (name, target).
func (s *Store) KeyVersions(ctx context.Context, key record.Key) ([]record.SecretVersion, error) {
	var vs []record.SecretVersion
	err := s.read(ctx, func(tx *txw) error {
		var err error
		vs, err = keyVersions(ctx, tx, key)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("secret versions: %w", err)
	}
	return vs, nil
}

// ErrNotFound is returned when a record or secret does not exist.
var ErrNotFound = errors.New("not found")

// SecretBody returns the decoded body of a stored secret version.
func (s *Store) SecretBody(ctx context.Context, id record.ID) (record.Secret, error) {
	var sec record.Secret
	err := s.read(ctx, func(tx *txw) error {
		var err error
		sec, err = secretBody(ctx, tx, id)
		return err
	})
	return sec, err
}

func secretBody(ctx context.Context, tx *txw, id record.ID) (record.Secret, error) {
	raws, err := rawByIDs(ctx, tx, []record.ID{id})
	if err != nil {
		return record.Secret{}, err
	}
	if len(raws) == 0 {
		return record.Secret{}, fmt.Errorf("secret version %s: %w", id.Short(), ErrNotFound)
	}
	e, err := record.Open(raws[0])
	if err != nil {
		return record.Secret{}, fmt.Errorf("stored secret %s: %w", id.Short(), err)
	}
	return record.DecodeSecret(e.Body)
}

func putOwnCopy(ctx context.Context, tx *txw, now time.Time, c *OwnCopy) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO own_copies(share_group, version, name, ciphertext, created_ms) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(share_group, version) DO UPDATE SET ciphertext = excluded.ciphertext, name = excluded.name`,
		c.Group, int64(c.Version), c.Name, c.Ciphertext, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("keep own copy: %w", err)
	}
	return nil
}

// OwnCopy returns the newest copy this node kept of a secret in group.
func (s *Store) OwnCopy(ctx context.Context, group []byte) (ciphertext []byte, version uint64, err error) {
	err = s.read(ctx, func(tx *txw) error {
		var v int64
		err := tx.QueryRowContext(ctx, "SELECT ciphertext, version FROM own_copies WHERE share_group = ? ORDER BY version DESC LIMIT 1", group).Scan(&ciphertext, &v)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("own copy: %w", ErrNotFound)
		}
		version = uint64(v)
		return err
	})
	return ciphertext, version, err
}

// CountSecrets returns how many secret names have a current version that
// is not a deletion on some target: the secrets a user sees listed.
func (s *Store) CountSecrets(ctx context.Context) (int, error) {
	var n int
	err := s.read(ctx, func(tx *txw) error {
		return tx.QueryRowContext(ctx, "SELECT count(DISTINCT name) FROM secret_heads WHERE current_id IS NOT NULL AND tombstone = 0").Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("count secrets: %w", err)
	}
	return n, nil
}
