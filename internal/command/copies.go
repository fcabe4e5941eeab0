package command

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// copies is what this node holds of one secret name: the current version
// of each target's copy (deleted ones included), and the hostnames to
// name the targets by in messages.
type copies struct {
	name  string
	all   []store.SecretVersion
	hosts map[record.NodeID]string
}

func (c *Commands) copiesOf(ctx context.Context, tx *store.Tx, name string) (copies, error) {
	all, err := tx.CurrentCopies(name, true)
	if err != nil {
		return copies{}, err
	}
	peers, err := c.r.Peers(ctx)
	if err != nil {
		return copies{}, err
	}
	hosts := map[record.NodeID]string{c.self: c.hostname}
	for _, p := range peers {
		hosts[p.NodeID] = p.Hostname
	}
	return copies{name: name, all: all, hosts: hosts}, nil
}

// of returns target's copy, when it has one (it may be a tombstone).
func (c copies) of(target record.NodeID) (store.SecretVersion, bool) {
	for _, v := range c.all {
		if v.Target == target {
			return v, true
		}
	}
	return store.SecretVersion{}, false
}

// live returns the copies that are not deleted.
func (c copies) live() []store.SecretVersion {
	var out []store.SecretVersion
	for _, v := range c.all {
		if !v.Tombstone {
			out = append(out, v)
		}
	}
	return out
}

// groups returns the live copies by share group, in target order of the
// first copy of each group.
func (c copies) groups() [][]store.SecretVersion {
	var out [][]store.SecretVersion
next:
	for _, v := range c.live() {
		for i, g := range out {
			if bytes.Equal(g[0].Group, v.Group) {
				out[i] = append(out[i], v)
				continue next
			}
		}
		out = append(out, []store.SecretVersion{v})
	}
	return out
}

// newest returns the live copy of group with the highest version.
func (c copies) newest(group []byte) (store.SecretVersion, bool) {
	var best store.SecretVersion
	found := false
	for _, v := range c.live() {
		if bytes.Equal(v.Group, group) && (!found || v.Version > best.Version) {
			best, found = v, true
		}
	}
	return best, found
}

// label names a node as its hostname and short ID.
func (c copies) label(id record.NodeID) string {
	if h := c.hosts[id]; h != "" {
		return h + " (" + id.Short() + ")"
	}
	return id.Short()
}

// describe lists copies as "bravo (…) v3, charlie (…) v4".
func (c copies) describe(vs []store.SecretVersion) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%s v%d", c.label(v.Target), v.Version)
	}
	return strings.Join(parts, ", ")
}

// missing explains why a node finds no live copy of the name at all:
// nothing was ever written, or every copy was deleted. It returns nil
// when a live copy exists.
func (c copies) missing() error {
	switch {
	case len(c.all) == 0:
		return fmt.Errorf("%w: secret %s does not exist (no member holds a version of it)", api.ErrNotFound, c.name)
	case len(c.live()) == 0:
		return fmt.Errorf("%w: secret %s was deleted for every target (%s)", api.ErrNotFound, c.name, c.describe(c.all))
	}
	return nil
}

// defaultTargets are the targets of a set without --target: every live
// copy in the name's share group, or this node when the name has none.
// Revoked targets are skipped and reported (a new value must not reach
// them). A plain node refuses when the group holds copies it may not
// write, rather than leave them on the old value.
func (c *Commands) defaultTargets(ctx context.Context, tx *store.Tx, name string) ([]string, []api.SkippedTarget, error) {
	cs, err := c.copiesOf(ctx, tx, name)
	if err != nil {
		return nil, nil, err
	}
	groups := cs.groups()
	switch len(groups) {
	case 0:
		return nil, nil, nil // a new name (or one deleted everywhere): this node
	case 1:
	default:
		parts := make([]string, len(groups))
		for i, g := range groups {
			parts[i] = cs.describe(g)
		}
		return nil, nil, fmt.Errorf("%w: %s has copies in %d share groups, set separately (%s): name the targets to write with --target",
			api.ErrConflict, name, len(groups), strings.Join(parts, "; "))
	}
	m := c.r.Members()
	var ids []string
	var skipped []api.SkippedTarget
	var denied []store.SecretVersion
	own := false
	for _, v := range groups[0] {
		switch {
		case m.IsRevoked(v.Target):
			skipped = append(skipped, api.SkippedTarget{Target: string(v.Target), Hostname: cs.hosts[v.Target],
				Reason: "revoked: a new value must not reach it"})
		case !m.MayWriteSecret(c.self, v.Target):
			denied = append(denied, v)
		default:
			own = own || v.Target == c.self
			ids = append(ids, string(v.Target))
		}
	}
	switch {
	case len(denied) > 0 && own:
		return nil, nil, fmt.Errorf("%w: %s is shared with %s, and this plain node writes only its own copy: nothing was written "+
			"(set it from an admin so every copy changes, or write only this node's copy with --target %s: the copies then diverge)",
			api.ErrForbidden, name, cs.describe(denied), c.hostname)
	case len(denied) > 0:
		return nil, nil, fmt.Errorf("%w: %s exists for %s, and this plain node writes only its own secrets: nothing was written "+
			"(set it from an admin, or give --target %s to write a copy for this node only)",
			api.ErrForbidden, name, cs.describe(denied), c.hostname)
	case len(ids) == 0:
		return nil, nil, fmt.Errorf("%w: every copy of %s is for a revoked node (%s): name the targets to write with --target",
			api.ErrConflict, name, cs.describe(groups[0]))
	}
	return ids, skipped, nil
}
