package command

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// ShareSecret implements web.Backend: re-encrypt the newest value of a
// secret this node can read (its own copy, or on the node that wrote it,
// the copy it kept) for more targets, in the same share group and at the
// same version. A target that already holds that version is skipped.
func (c *Commands) ShareSecret(ctx context.Context, name string, to []string) (api.SecretWrites, error) {
	if len(to) == 0 {
		return api.SecretWrites{}, fmt.Errorf("%w: no node to share %s with", api.ErrInvalid, name)
	}
	if err := record.ValidName(name); err != nil {
		return api.SecretWrites{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	if err := c.mayWrite(); err != nil {
		return api.SecretWrites{}, err
	}
	targets, err := c.resolveTargets(ctx, to)
	if err != nil {
		return api.SecretWrites{}, err
	}
	return c.writeTx(ctx, func(tx *store.Tx) (planned, error) {
		src, err := c.shareSource(ctx, tx, name)
		if err != nil {
			return planned{}, err
		}
		var todo []target
		var skipped []api.SkippedTarget
		for _, t := range targets {
			if v, ok := src.copies.of(t.id); ok && !v.Tombstone && bytes.Equal(v.Group, src.group) && v.Version == src.version {
				skipped = append(skipped, api.SkippedTarget{Target: string(t.id), Hostname: t.hostname,
					Reason: fmt.Sprintf("already holds version %d", v.Version)})
				continue
			}
			todo = append(todo, t)
		}
		if len(todo) == 0 {
			return planned{skipped: skipped}, nil
		}
		p, err := c.write(ctx, tx, writeReq{name: name, targets: todo, value: src.value, restart: src.restart,
			group: src.group, event: EventSecretShared, atLeast: src.version})
		p.skipped = skipped
		return p, err
	})
}

// shareSrc is the value a share copies, with the group, version and
// restart units it comes from.
type shareSrc struct {
	value   []byte
	group   []byte
	version uint64
	restart []string
	copies  copies
}

// shareSource finds the value to share: the newest version of the name's
// share group, which this node can read only when it is a target of that
// version or wrote it (the copy it kept). Sharing an older value would
// hand the new target something the others no longer hold, so that is
// refused with what exists and how to proceed.
func (c *Commands) shareSource(ctx context.Context, tx *store.Tx, name string) (shareSrc, error) {
	cs, err := c.copiesOf(ctx, tx, name)
	if err != nil {
		return shareSrc{}, err
	}
	if err := cs.missing(); err != nil {
		return shareSrc{}, err
	}
	setAgain := fmt.Sprintf("set the value again from this node (credmesh secret set %s writes every copy), then share", name)
	if own, ok := cs.of(c.self); ok && !own.Tombstone {
		newest, _ := cs.newest(own.Group)
		if own.Version < newest.Version {
			return shareSrc{}, fmt.Errorf("%w: this node's copy of %s is version %d, but %s holds version %d: sharing would hand out an older value; %s",
				api.ErrConflict, name, own.Version, cs.label(newest.Target), newest.Version, setAgain)
		}
		value, err := c.decryptOwn(ctx, tx, own)
		if err != nil {
			return shareSrc{}, err
		}
		return shareSrc{value: value, group: own.Group, version: own.Version, restart: own.Restart, copies: cs}, nil
	}
	var found []shareSrc
	var behind []string
	for _, g := range cs.groups() {
		newest, _ := cs.newest(g[0].Group)
		ct, kept, err := c.st.OwnCopy(ctx, newest.Group)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return shareSrc{}, err
		}
		if kept < newest.Version {
			behind = append(behind, fmt.Sprintf("its newest version is %d (written by %s for %s), and this node, not a target, reads only the copy it kept of what it wrote, version %d",
				newest.Version, cs.label(newest.Author), cs.label(newest.Target), kept))
			continue
		}
		value, err := record.Decrypt(c.id.AgeIdentity(), ct)
		if err != nil {
			return shareSrc{}, fmt.Errorf("kept copy of %s version %d: %w", name, kept, err)
		}
		found = append(found, shareSrc{value: value, group: newest.Group, version: kept, restart: newest.Restart, copies: cs})
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return shareSrc{}, fmt.Errorf("%w: %s has copies in %d share groups that this node wrote (%s): share it from a target of the one you mean",
			api.ErrConflict, name, len(found), cs.describe(cs.live()))
	case len(behind) > 0:
		return shareSrc{}, fmt.Errorf("%w: cannot share %s: %s; sharing that would hand out an older value: %s",
			api.ErrConflict, name, strings.Join(behind, "; "), setAgain)
	}
	return shareSrc{}, fmt.Errorf("%w: this node cannot read %s: it exists for %s, and this node is neither a target nor the node that wrote it "+
		"(a node reads only its own copy, and an author the copy it kept): share it from an admin that can, or set the value again here with --target",
		api.ErrForbidden, name, cs.describe(cs.live()))
}
