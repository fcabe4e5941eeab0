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

// stepRejection says why a stored version does not count: it jumps too
// far above the versions that do (it is kept, and counts once versions
// below it arrive; every node must resolve the same set).
func stepRejection(s record.Secret, e *record.Envelope, res record.Resolution) *record.RejectError {
	return &record.RejectError{Reason: record.ReasonNotAllowed, Detail: fmt.Sprintf(
		"secret %q for %s version %d by %s jumps more than %d above the versions that count (%d); kept until versions below it arrive",
		s.Name, s.TargetID().Short(), s.Version, e.AuthorID().Short(), record.MaxVersionStep, res.Latest)}
}

// resolveKey runs record.Resolve over every version of key under m and
// saves the result in secret_heads.
func resolveKey(ctx context.Context, tx *txw, key record.Key, m *record.Members) (record.Resolution, error) {
	vs, err := keyVersions(ctx, tx, key)
	if err != nil {
		return record.Resolution{}, err
	}
	res := record.Resolve(key.Target, vs, m)
	var cur any
	var version int64
	var tomb bool
	if res.Current != nil {
		cur, version, tomb = res.Current.ID[:], int64(res.Current.Version), res.Current.Tombstone
	}
	_, err = tx.ExecContext(ctx, qUpsertHead,
		key.Name, string(key.Target), string(res.First), cur, version, tomb)
	if err != nil {
		return res, fmt.Errorf("update secret head: %w", err)
	}
	return res, nil
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

// SecretState returns the resolved state of one secret (name, target).
func (s *Store) SecretState(ctx context.Context, key record.Key) (record.Resolution, error) {
	var res record.Resolution
	m := s.Members()
	err := s.read(ctx, func(tx *txw) error {
		vs, err := keyVersions(ctx, tx, key)
		res = record.Resolve(key.Target, vs, m)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("secret state: %w", err)
	}
	return res, nil
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
	return s.current(ctx, "", target, withDeleted)
}

// CurrentCopies returns the current version of name for each of its
// targets, deleted ones included when withDeleted, by target.
func (s *Store) CurrentCopies(ctx context.Context, name string, withDeleted bool) ([]SecretVersion, error) {
	return s.current(ctx, name, "", withDeleted)
}

func (s *Store) current(ctx context.Context, name string, target record.NodeID, withDeleted bool) ([]SecretVersion, error) {
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
	var out []SecretVersion
	err := s.read(ctx, func(tx *txw) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		out, err = scanCurrent(rows)
		return err
	})
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
// target is set), newest first, each marked current and counting or not.
func (s *Store) SecretHistory(ctx context.Context, name string, target record.NodeID) ([]SecretVersion, error) {
	q := "SELECT " + secretCols + " FROM secrets s WHERE s.name = ?"
	args := []any{name}
	if target != "" {
		q += " AND s.target = ?"
		args = append(args, string(target))
	}
	q += " ORDER BY s.target, s.version DESC, s.id DESC"
	var out []SecretVersion
	m := s.Members()
	err := s.read(ctx, func(tx *txw) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if out, err = scanSecrets(rows); err != nil {
			return err
		}
		resolved := map[record.NodeID]record.Resolution{}
		for i := range out {
			v := &out[i]
			res, ok := resolved[v.Target]
			if !ok {
				vs, err := keyVersions(ctx, tx, record.Key{Name: name, Target: v.Target})
				if err != nil {
					return err
				}
				res = record.Resolve(v.Target, vs, m)
				resolved[v.Target] = res
			}
			v.Creator, v.Counts = res.First, res.Valid[v.ID]
			v.Current = res.Current != nil && res.Current.ID == v.ID
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("secret history: %w", err)
	}
	return out, nil
}

// ErrNotFound is returned when a record or secret does not exist.
var ErrNotFound = errors.New("not found")

// SecretBody returns the decoded body of a stored secret version.
func (s *Store) SecretBody(ctx context.Context, id record.ID) (record.Secret, error) {
	raws, err := s.RawByIDs(ctx, []record.ID{id})
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
