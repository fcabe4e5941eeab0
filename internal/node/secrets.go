package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/gossip"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
	"github.com/credmesh/credmesh/internal/web"
)

// Audit event types of secret operations on the node that performs them
// (received and rejected versions are audited by the store).
const (
	EventSecretCreated = "secret.created"
	EventSecretUpdated = "secret.updated"
	EventSecretShared  = "secret.shared"
	EventSecretDeleted = "secret.deleted"
)

// errSelfRevoked refuses every write of a revoked node.
var errSelfRevoked = fmt.Errorf("%w: this node was revoked; it can write nothing", api.ErrForbidden)

// mayWrite refuses writes of a node that was revoked, saying by whom.
func (n *Node) mayWrite() error {
	if r, ok := n.store.Members().Revocation(n.self); ok {
		return fmt.Errorf("%w (revoked by %s at %s: %s)", errSelfRevoked, joinIDs(r.By), r.At.UTC().Format(time.RFC3339), r.Reason)
	}
	return nil
}

func joinIDs(ids []record.NodeID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, ", ")
}

// target is a resolved target node with the recipient to encrypt to.
type target struct {
	id        record.NodeID
	hostname  string
	recipient string
}

// resolveTargets turns NODE arguments into members with a known age
// recipient; no argument means this node.
func (n *Node) resolveTargets(ctx context.Context, args []string) ([]target, error) {
	if len(args) == 0 {
		args = []string{string(n.self)}
	}
	peers, err := n.store.Peers(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[record.NodeID]bool{}
	var out []target
	for _, a := range args {
		id, err := web.Resolve(peers, web.Self{ID: n.self, Hostname: n.hostname}, a)
		if err != nil {
			return nil, err
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		if id == n.self {
			out = append(out, target{id: id, hostname: n.hostname, recipient: n.id.Recipient()})
			continue
		}
		if !n.store.Members().IsMember(id) {
			return nil, fmt.Errorf("%w: %s is not a member of this mesh", api.ErrInvalid, id)
		}
		p, ok, err := n.store.Peer(ctx, id)
		if err != nil {
			return nil, err
		}
		if !ok || p.AgeRecipient == "" {
			return nil, fmt.Errorf("%w: no age recipient known for %s yet (its node record has not arrived)", api.ErrInvalid, id)
		}
		out = append(out, target{id: id, hostname: p.Hostname, recipient: p.AgeRecipient})
	}
	return out, nil
}

// SetSecret implements web.Backend: a new version of the secret for each
// target, one share group, stored in one transaction, then gossiped.
// Without targets it writes every live copy of the name's share group (a
// shared secret is one secret), or, for a new name, this node's.
func (n *Node) SetSecret(ctx context.Context, req api.SetSecret) (api.SecretWrites, error) {
	if err := record.ValidName(req.Name); err != nil {
		return api.SecretWrites{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	if len(req.Value) > record.MaxPlaintext {
		return api.SecretWrites{}, fmt.Errorf("%w: %v", api.ErrInvalid, record.ErrTooLarge)
	}
	if len(req.Value) == 0 && !req.AllowEmpty {
		return api.SecretWrites{}, fmt.Errorf("%w: the value of %s is empty; nothing was stored (an empty secret needs --allow-empty)", api.ErrInvalid, req.Name)
	}
	if len(req.Restart) > record.MaxRestart {
		return api.SecretWrites{}, fmt.Errorf("%w: at most %d restart units", api.ErrInvalid, record.MaxRestart)
	}
	for _, u := range req.Restart {
		if err := record.ValidUnit(u); err != nil {
			return api.SecretWrites{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
		}
	}
	if err := n.mayWrite(); err != nil {
		return api.SecretWrites{}, err
	}
	n.secretsMu.Lock()
	defer n.secretsMu.Unlock()
	args := req.Targets
	var skipped []api.SkippedTarget
	if len(args) == 0 {
		var err error
		if args, skipped, err = n.defaultTargets(ctx, req.Name); err != nil {
			return api.SecretWrites{}, err
		}
	}
	targets, err := n.resolveTargets(ctx, args)
	if err != nil {
		return api.SecretWrites{}, err
	}
	res, err := n.write(ctx, writeReq{name: req.Name, targets: targets, value: req.Value, restart: req.Restart, lockstep: true})
	res.Skipped = skipped
	return res, err
}

// writeReq is one write of a secret for some targets.
type writeReq struct {
	name      string
	targets   []target
	value     []byte
	restart   []string
	group     []byte // default: the group the secret already has, or a new one
	tombstone bool
	event     string // default: created or updated
	// lockstep writes one version above every live copy of the group, so
	// that the copies of one write share a version and copies that differ
	// in version differ in value (secret list flags them as diverged).
	lockstep bool
	// atLeast is the lowest version to write (a share writes the version
	// it copies).
	atLeast uint64
}

// write writes the value as the next version of the name for every
// target (or a tombstone). secretsMu is held.
func (n *Node) write(ctx context.Context, w writeReq) (api.SecretWrites, error) {
	type plan struct {
		t       target
		res     record.Resolution
		version uint64
		created bool
	}
	var plans []plan
	if err := n.mayWrite(); err != nil {
		return api.SecretWrites{}, err
	}
	m := n.store.Members()
	group := w.group
	for _, t := range w.targets {
		if !m.MayWriteSecret(n.self, t.id) {
			return api.SecretWrites{}, fmt.Errorf("%w: this node is a plain node: it writes only its own secrets, not %s's (ask an admin, or have an admin promote this node)",
				api.ErrForbidden, t.id)
		}
		res, err := n.store.SecretState(ctx, record.Key{Name: w.name, Target: t.id})
		if err != nil {
			return api.SecretWrites{}, err
		}
		if w.tombstone && (res.Current == nil || res.Current.Tombstone) {
			continue // nothing to delete there
		}
		if group == nil && res.Current != nil {
			if cur, err := n.store.SecretBody(ctx, res.Current.ID); err == nil {
				group = cur.Group
			}
		}
		plans = append(plans, plan{t: t, res: res, version: res.NextVersion(), created: res.Current == nil})
	}
	if len(plans) == 0 {
		return api.SecretWrites{}, fmt.Errorf("%w: %s has no current version for those targets", api.ErrNotFound, w.name)
	}
	if group == nil {
		group = make([]byte, record.GroupSize)
		_, _ = rand.Read(group)
	}
	if !w.tombstone {
		v, err := n.commonVersion(ctx, w, group)
		if err != nil {
			return api.SecretWrites{}, err
		}
		for i := range plans {
			v = max(v, plans[i].version)
		}
		// A target whose versions are more than MaxVersionStep below gets
		// the highest version that still counts for it (its copy then
		// shows as diverged).
		for i := range plans {
			plans[i].version = min(v, plans[i].res.Latest+record.MaxVersionStep)
		}
	}
	now := n.cfg.Now()
	bodies := make([][]byte, len(plans))
	for i, p := range plans {
		s := record.Secret{Name: w.name, Target: mustKey(p.t.id), Version: p.version, CreatedAt: now,
			Restart: w.restart, Group: group, Tombstone: w.tombstone}
		if !w.tombstone {
			ct, err := record.Encrypt(p.t.recipient, w.value)
			if err != nil {
				return api.SecretWrites{}, fmt.Errorf("encrypt for %s: %w", p.t.id, err)
			}
			s.Ciphertext = ct
		}
		bodies[i] = s.Encode()
	}
	// The events and, on the author, a copy encrypted to itself (so it can
	// share what it wrote for others) go into the same transaction.
	with := store.With{Events: func(recs []*record.Record) []store.Event {
		evs := make([]store.Event, len(recs))
		for i, rec := range recs {
			p := plans[i]
			typ, verb := w.event, "updated"
			switch {
			case w.tombstone:
				verb = "deleted"
			case w.event == EventSecretShared:
				verb = "shared"
			case p.created:
				verb = "created"
			}
			if typ == "" {
				typ = EventSecretUpdated
				if p.created {
					typ = EventSecretCreated
				}
			}
			evs[i] = n.secretEvent(now, typ, w.name, p.t.id, p.version, rec.ID(),
				fmt.Sprintf("%s %s version %d for %s", verb, w.name, p.version, p.t.id.Short()))
		}
		return evs
	}}
	if !w.tombstone && !targetsInclude(w.targets, n.self) {
		ct, err := record.Encrypt(n.id.Recipient(), w.value)
		if err != nil {
			return api.SecretWrites{}, err
		}
		with.Copy = &store.OwnCopy{Group: group, Version: plans[0].version, Name: w.name, Ciphertext: ct}
	}
	res, err := actor.Call(ctx, n.gossipRef, func(reply chan<- gossip.PublishManyResult) gossip.Msg {
		return gossip.PublishRecords{Kind: record.KindSecret, Bodies: bodies, With: with, Reply: reply}
	})
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return api.SecretWrites{}, err
	}
	var out api.SecretWrites
	for i, p := range plans {
		out.Writes = append(out.Writes, api.SecretWrite{Name: w.name, Target: string(p.t.id), Hostname: p.t.hostname,
			Version: p.version, Record: res.Records[i].ID().String(), Tombstone: w.tombstone})
	}
	return out, nil
}

// commonVersion is the lowest version every target of a write gets, so
// that the copies of one write share a version: w.atLeast and, in
// lockstep, one above every live copy of the group. Copies whose versions
// differ then differ in value, and secret list flags them as diverged.
func (n *Node) commonVersion(ctx context.Context, w writeReq, group []byte) (uint64, error) {
	if !w.lockstep {
		return w.atLeast, nil
	}
	c, err := n.copiesOf(ctx, w.name)
	if err != nil {
		return 0, err
	}
	if newest, ok := c.newest(group); ok {
		return max(w.atLeast, newest.Version+1), nil
	}
	return w.atLeast, nil
}

func targetsInclude(ts []target, id record.NodeID) bool {
	for _, t := range ts {
		if t.id == id {
			return true
		}
	}
	return false
}

func mustKey(id record.NodeID) []byte {
	k, err := record.PublicKeyOf(id)
	if err != nil {
		panic("node: member ID without a key: " + string(id))
	}
	return k
}

func (n *Node) secretEvent(now time.Time, typ, name string, target record.NodeID, version uint64, id record.ID, msg string) store.Event {
	data, _ := json.Marshal(map[string]any{"target": target, "version": version, "record": id.String()})
	return store.Event{Time: now, Type: typ, Node: string(n.self), Secret: name, Message: msg, Data: data}
}

// RevealSecret implements web.Backend: this node's own current copy.
func (n *Node) RevealSecret(ctx context.Context, name string) (api.Revealed, error) {
	if err := record.ValidName(name); err != nil {
		return api.Revealed{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	c, err := n.copiesOf(ctx, name)
	if err != nil {
		return api.Revealed{}, err
	}
	own, ok := c.of(n.self)
	if !ok || own.Tombstone {
		return api.Revealed{}, n.notOwnCopy(c, own, ok)
	}
	value, err := n.decryptOwn(ctx, own)
	if err != nil {
		return api.Revealed{}, err
	}
	return api.Revealed{Name: name, Version: own.Version, Value: value}, nil
}

// notOwnCopy says why this node cannot read a name: nothing exists, its
// own copy was deleted, or only other nodes are targets.
func (n *Node) notOwnCopy(c copies, own store.SecretVersion, ok bool) error {
	if err := c.missing(); err != nil {
		return err
	}
	live := c.describe(c.live())
	if ok {
		return fmt.Errorf("%w: secret %s was deleted for this node at version %d; it exists for %s, and only a target reads its copy",
			api.ErrNotFound, c.name, own.Version, live)
	}
	return fmt.Errorf("%w: this node is not a target of secret %s: it exists for %s, and only a target reads its copy "+
		"(secret get %s --ciphertext --target NODE prints the stored age file)", api.ErrForbidden, c.name, live, c.name)
}

// decryptOwn decrypts a version addressed to this node.
func (n *Node) decryptOwn(ctx context.Context, v store.SecretVersion) ([]byte, error) {
	body, err := n.store.SecretBody(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	plain, err := record.Decrypt(n.id.AgeIdentity(), body.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("secret %s version %d: %w", v.Name, v.Version, err)
	}
	return plain, nil
}

// DeleteSecret implements web.Backend: tombstones for the given targets, or
// for every target this node may delete name for.
func (n *Node) DeleteSecret(ctx context.Context, name string, targetArgs []string) (api.SecretWrites, error) {
	if err := record.ValidName(name); err != nil {
		return api.SecretWrites{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	if err := n.mayWrite(); err != nil {
		return api.SecretWrites{}, err
	}
	n.secretsMu.Lock()
	defer n.secretsMu.Unlock()
	c, err := n.copiesOf(ctx, name)
	if err != nil {
		return api.SecretWrites{}, err
	}
	if err := c.missing(); err != nil {
		return api.SecretWrites{}, err
	}
	var targets []target
	if len(targetArgs) > 0 {
		if targets, err = n.resolveTargets(ctx, targetArgs); err != nil {
			return api.SecretWrites{}, err
		}
		var none []string
		for _, t := range targets {
			if v, ok := c.of(t.id); !ok || v.Tombstone {
				none = append(none, c.label(t.id))
			}
		}
		if len(none) > 0 {
			return api.SecretWrites{}, fmt.Errorf("%w: secret %s does not exist for %s (it exists for %s); nothing was deleted",
				api.ErrNotFound, name, strings.Join(none, ", "), c.describe(c.live()))
		}
	} else {
		m := n.store.Members()
		for _, v := range c.live() {
			if m.MayWriteSecret(n.self, v.Target) {
				targets = append(targets, target{id: v.Target, hostname: c.hosts[v.Target]})
			}
		}
		if len(targets) == 0 {
			return api.SecretWrites{}, fmt.Errorf("%w: secret %s exists for %s, and this plain node deletes only its own copy (an admin deletes any)",
				api.ErrForbidden, name, c.describe(c.live()))
		}
	}
	return n.write(ctx, writeReq{name: name, targets: targets, tombstone: true, event: EventSecretDeleted})
}
