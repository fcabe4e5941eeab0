package command

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/replica"
	"github.com/credmesh/credmesh/internal/store"
)

// Audit event types of secret operations on the node that performs them
// (received and rejected versions are audited by Apply).
const (
	EventSecretCreated = "secret.created"
	EventSecretUpdated = "secret.updated"
	EventSecretShared  = "secret.shared"
	EventSecretDeleted = "secret.deleted"
)

// errSelfRevoked refuses every write of a revoked node.
var errSelfRevoked = fmt.Errorf("%w: this node was revoked; it can write nothing", api.ErrForbidden)

// mayWrite refuses writes of a node that was revoked, saying by whom.
func (c *Commands) mayWrite() error {
	if r, ok := c.r.Members().Revocation(c.self); ok {
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
func (c *Commands) resolveTargets(ctx context.Context, args []string) ([]target, error) {
	if len(args) == 0 {
		args = []string{string(c.self)}
	}
	peers, err := c.r.Peers(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[record.NodeID]bool{}
	var out []target
	for _, a := range args {
		id, err := replica.ResolveNode(peers, c.self, c.hostname, a)
		if err != nil {
			return nil, err
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		if id == c.self {
			out = append(out, target{id: id, hostname: c.hostname, recipient: c.id.Recipient()})
			continue
		}
		if !c.r.Members().IsMember(id) {
			return nil, fmt.Errorf("%w: %s is not a member of this mesh", api.ErrInvalid, id)
		}
		p, ok := peerByID(peers, id)
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
func (c *Commands) SetSecret(ctx context.Context, req api.SetSecret) (api.SecretWrites, error) {
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
	if err := c.mayWrite(); err != nil {
		return api.SecretWrites{}, err
	}
	return c.writeTx(ctx, func(tx *store.Tx) (planned, error) {
		args := req.Targets
		var skipped []api.SkippedTarget
		if len(args) == 0 {
			var err error
			if args, skipped, err = c.defaultTargets(ctx, tx, req.Name); err != nil {
				return planned{}, err
			}
		}
		targets, err := c.resolveTargets(ctx, args)
		if err != nil {
			return planned{}, err
		}
		p, err := c.write(ctx, tx, writeReq{name: req.Name, targets: targets, value: req.Value, restart: req.Restart, lockstep: true})
		p.skipped = skipped
		return p, err
	})
}

// planned is a write planned in a transaction: the records to store,
// the targets skipped, and the result once the records are stored.
type planned struct {
	local   replica.Local
	skipped []api.SkippedTarget
	result  func(recs []*record.Record) api.SecretWrites
}

// writeTx plans a write with fn and stores its records, in one
// transaction of the replica: fn reads what it decides from (the versions
// held, the copies of the group) through tx, so no other write comes
// between the plan and its records.
func (c *Commands) writeTx(ctx context.Context, fn func(tx *store.Tx) (planned, error)) (api.SecretWrites, error) {
	var p planned
	recs, err := c.r.Write(ctx, func(tx *store.Tx) (replica.Local, error) {
		var err error
		p, err = fn(tx)
		return p.local, err
	})
	if err != nil {
		return api.SecretWrites{}, err
	}
	var out api.SecretWrites
	if p.result != nil {
		out = p.result(recs)
	}
	out.Skipped = p.skipped
	return out, nil
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
// target (or a tombstone), in tx.
func (c *Commands) write(ctx context.Context, tx *store.Tx, w writeReq) (planned, error) {
	type plan struct {
		t       target
		res     record.Resolution
		version uint64
		created bool
	}
	var plans []plan
	if err := c.mayWrite(); err != nil {
		return planned{}, err
	}
	m := c.r.Members()
	group := w.group
	for _, t := range w.targets {
		if !m.MayWriteSecret(c.self, t.id) {
			return planned{}, fmt.Errorf("%w: this node is a plain node: it writes only its own secrets, not %s's (ask an admin, or have an admin promote this node)",
				api.ErrForbidden, t.id)
		}
		vs, err := tx.KeyVersions(record.Key{Name: w.name, Target: t.id})
		res := record.Resolve(t.id, vs, m)
		if err != nil {
			return planned{}, err
		}
		if w.tombstone && (res.Current == nil || res.Current.Tombstone) {
			continue // nothing to delete there
		}
		if group == nil && res.Current != nil {
			if cur, err := tx.SecretBody(res.Current.ID); err == nil {
				group = cur.Group
			}
		}
		plans = append(plans, plan{t: t, res: res, version: res.NextVersion(), created: res.Current == nil})
	}
	if len(plans) == 0 {
		return planned{}, fmt.Errorf("%w: %s has no current version for those targets", api.ErrNotFound, w.name)
	}
	if group == nil {
		group = make([]byte, record.GroupSize)
		_, _ = rand.Read(group)
	}
	if !w.tombstone {
		v, err := c.commonVersion(ctx, tx, w, group)
		if err != nil {
			return planned{}, err
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
	now := c.now()
	bodies := make([][]byte, len(plans))
	for i, p := range plans {
		s := record.Secret{Name: w.name, Target: mustKey(p.t.id), Version: p.version, CreatedAt: now,
			Restart: w.restart, Group: group, Tombstone: w.tombstone}
		if !w.tombstone {
			ct, err := record.Encrypt(p.t.recipient, w.value)
			if err != nil {
				return planned{}, fmt.Errorf("encrypt for %s: %w", p.t.id, err)
			}
			s.Ciphertext = ct
		}
		bodies[i] = s.Encode()
	}
	// The events and, on the author, a copy encrypted to itself (so it can
	// share what it wrote for others) go into the same transaction.
	local := replica.Local{Kind: record.KindSecret, Bodies: bodies, Events: func(recs []*record.Record) []store.Event {
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
			evs[i] = c.secretEvent(now, typ, w.name, p.t.id, p.version, rec.ID(),
				fmt.Sprintf("%s %s version %d for %s", verb, w.name, p.version, p.t.id.Short()))
		}
		return evs
	}}
	if !w.tombstone && !targetsInclude(w.targets, c.self) {
		ct, err := record.Encrypt(c.id.Recipient(), w.value)
		if err != nil {
			return planned{}, err
		}
		local.Copy = &store.OwnCopy{Group: group, Version: plans[0].version, Name: w.name, Ciphertext: ct}
	}
	result := func(recs []*record.Record) api.SecretWrites {
		var out api.SecretWrites
		for i, p := range plans {
			out.Writes = append(out.Writes, api.SecretWrite{Name: w.name, Target: string(p.t.id), Hostname: p.t.hostname,
				Version: p.version, Record: recs[i].ID().String(), Tombstone: w.tombstone})
		}
		return out
	}
	return planned{local: local, result: result}, nil
}

// commonVersion is the lowest version every target of a write gets, so
// that the copies of one write share a version: w.atLeast and, in
// lockstep, one above every live copy of the group. Copies whose versions
// differ then differ in value, and secret list flags them as diverged.
func (c *Commands) commonVersion(ctx context.Context, tx *store.Tx, w writeReq, group []byte) (uint64, error) {
	if !w.lockstep {
		return w.atLeast, nil
	}
	cs, err := c.copiesOf(ctx, tx, w.name)
	if err != nil {
		return 0, err
	}
	if newest, ok := cs.newest(group); ok {
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

func (c *Commands) secretEvent(now time.Time, typ, name string, target record.NodeID, version uint64, id record.ID, msg string) store.Event {
	data, _ := json.Marshal(map[string]any{"target": target, "version": version, "record": id.String()})
	return store.Event{Time: now, Type: typ, Node: string(c.self), Secret: name, Message: msg, Data: data}
}

// RevealSecret implements web.Backend: this node's own current copy.
func (c *Commands) RevealSecret(ctx context.Context, name string) (api.Revealed, error) {
	if err := record.ValidName(name); err != nil {
		return api.Revealed{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	var cs copies
	err := c.st.View(ctx, func(tx *store.Tx) error {
		var err error
		cs, err = c.copiesOf(ctx, tx, name)
		return err
	})
	if err != nil {
		return api.Revealed{}, err
	}
	own, ok := cs.of(c.self)
	if !ok || own.Tombstone {
		return api.Revealed{}, c.notOwnCopy(cs, own, ok)
	}
	value, err := c.decryptOwn(ctx, nil, own)
	if err != nil {
		return api.Revealed{}, err
	}
	return api.Revealed{Name: name, Version: own.Version, Value: value}, nil
}

// notOwnCopy says why this node cannot read a name: nothing exists, its
// own copy was deleted, or only other nodes are targets.
func (c *Commands) notOwnCopy(cs copies, own store.SecretVersion, ok bool) error {
	if err := cs.missing(); err != nil {
		return err
	}
	live := cs.describe(cs.live())
	if ok {
		return fmt.Errorf("%w: secret %s was deleted for this node at version %d; it exists for %s, and only a target reads its copy",
			api.ErrNotFound, cs.name, own.Version, live)
	}
	return fmt.Errorf("%w: this node is not a target of secret %s: it exists for %s, and only a target reads its copy "+
		"(secret get %s --ciphertext --target NODE prints the stored age file)", api.ErrForbidden, cs.name, live, cs.name)
}

// decryptOwn decrypts a version addressed to this node.
func (c *Commands) decryptOwn(ctx context.Context, tx *store.Tx, v store.SecretVersion) ([]byte, error) {
	var body record.Secret
	var err error
	if tx != nil {
		body, err = tx.SecretBody(v.ID)
	} else {
		body, err = c.st.SecretBody(ctx, v.ID)
	}
	if err != nil {
		return nil, err
	}
	plain, err := record.Decrypt(c.id.AgeIdentity(), body.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("secret %s version %d: %w", v.Name, v.Version, err)
	}
	return plain, nil
}

// DeleteSecret implements web.Backend: tombstones for the given targets, or
// for every target this node may delete name for.
func (c *Commands) DeleteSecret(ctx context.Context, name string, targetArgs []string) (api.SecretWrites, error) {
	if err := record.ValidName(name); err != nil {
		return api.SecretWrites{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	if err := c.mayWrite(); err != nil {
		return api.SecretWrites{}, err
	}
	return c.writeTx(ctx, func(tx *store.Tx) (planned, error) {
		cs, err := c.copiesOf(ctx, tx, name)
		if err != nil {
			return planned{}, err
		}
		if err := cs.missing(); err != nil {
			return planned{}, err
		}
		var targets []target
		if len(targetArgs) > 0 {
			if targets, err = c.resolveTargets(ctx, targetArgs); err != nil {
				return planned{}, err
			}
			var none []string
			for _, t := range targets {
				if v, ok := cs.of(t.id); !ok || v.Tombstone {
					none = append(none, cs.label(t.id))
				}
			}
			if len(none) > 0 {
				return planned{}, fmt.Errorf("%w: secret %s does not exist for %s (it exists for %s); nothing was deleted",
					api.ErrNotFound, name, strings.Join(none, ", "), cs.describe(cs.live()))
			}
		} else {
			m := c.r.Members()
			for _, v := range cs.live() {
				if m.MayWriteSecret(c.self, v.Target) {
					targets = append(targets, target{id: v.Target, hostname: cs.hosts[v.Target]})
				}
			}
			if len(targets) == 0 {
				return planned{}, fmt.Errorf("%w: secret %s exists for %s, and this plain node deletes only its own copy (an admin deletes any)",
					api.ErrForbidden, name, cs.describe(cs.live()))
			}
		}
		return c.write(ctx, tx, writeReq{name: name, targets: targets, tombstone: true, event: EventSecretDeleted})
	})
}

func peerByID(ps []store.Peer, id record.NodeID) (store.Peer, bool) {
	for _, p := range ps {
		if p.NodeID == id {
			return p, true
		}
	}
	return store.Peer{}, false
}
