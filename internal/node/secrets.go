package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
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
func (n *Node) SetSecret(ctx context.Context, req api.SetSecret) (api.SecretWrites, error) {
	if err := record.ValidName(req.Name); err != nil {
		return api.SecretWrites{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	if len(req.Value) > record.MaxPlaintext {
		return api.SecretWrites{}, fmt.Errorf("%w: %v", api.ErrInvalid, record.ErrTooLarge)
	}
	if len(req.Restart) > record.MaxRestart {
		return api.SecretWrites{}, fmt.Errorf("%w: at most %d restart units", api.ErrInvalid, record.MaxRestart)
	}
	for _, u := range req.Restart {
		if err := record.ValidUnit(u); err != nil {
			return api.SecretWrites{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
		}
	}
	targets, err := n.resolveTargets(ctx, req.Targets)
	if err != nil {
		return api.SecretWrites{}, err
	}
	n.secretsMu.Lock()
	defer n.secretsMu.Unlock()
	return n.write(ctx, req.Name, targets, req.Value, req.Restart, nil, false, "")
}

// write writes value as the next version of name for every target (or a
// tombstone), in group (default: the group the secret already has, or a
// new one), audited as event (default: created or updated). secretsMu is
// held.
func (n *Node) write(ctx context.Context, name string, targets []target, value []byte, restart []string, group []byte, tombstone bool, event string) (api.SecretWrites, error) {
	type plan struct {
		t       target
		version uint64
		created bool
	}
	var plans []plan
	if err := n.mayWrite(); err != nil {
		return api.SecretWrites{}, err
	}
	m := n.store.Members()
	for _, t := range targets {
		if !m.MayWriteSecret(n.self, t.id) {
			return api.SecretWrites{}, fmt.Errorf("%w: this node is a plain node: it writes only its own secrets, not %s's (ask an admin, or have an admin promote this node)",
				api.ErrForbidden, t.id)
		}
		res, err := n.store.SecretState(ctx, record.Key{Name: name, Target: t.id})
		if err != nil {
			return api.SecretWrites{}, err
		}
		if tombstone && (res.Current == nil || res.Current.Tombstone) {
			continue // nothing to delete there
		}
		if group == nil && res.Current != nil {
			if cur, err := n.store.SecretBody(ctx, res.Current.ID); err == nil {
				group = cur.Group
			}
		}
		plans = append(plans, plan{t: t, version: res.NextVersion(), created: res.Current == nil})
	}
	if len(plans) == 0 {
		return api.SecretWrites{}, fmt.Errorf("%w: %s has no current version for those targets", api.ErrNotFound, name)
	}
	if group == nil {
		group = make([]byte, record.GroupSize)
		_, _ = rand.Read(group)
	}
	now := n.cfg.Now()
	bodies := make([][]byte, len(plans))
	for i, p := range plans {
		s := record.Secret{Name: name, Target: mustKey(p.t.id), Version: p.version, CreatedAt: now,
			Restart: restart, Group: group, Tombstone: tombstone}
		if !tombstone {
			ct, err := record.Encrypt(p.t.recipient, value)
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
			typ, verb := event, "updated"
			switch {
			case tombstone:
				verb = "deleted"
			case event == EventSecretShared:
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
			evs[i] = n.secretEvent(now, typ, name, p.t.id, p.version, rec.ID(),
				fmt.Sprintf("%s %s version %d for %s", verb, name, p.version, p.t.id.Short()))
		}
		return evs
	}}
	if !tombstone && !targetsInclude(targets, n.self) {
		ct, err := record.Encrypt(n.id.Recipient(), value)
		if err != nil {
			return api.SecretWrites{}, err
		}
		with.Copy = &store.OwnCopy{Group: group, Version: plans[0].version, Name: name, Ciphertext: ct}
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
		out.Writes = append(out.Writes, api.SecretWrite{Name: name, Target: string(p.t.id), Hostname: p.t.hostname,
			Version: p.version, Record: res.Records[i].ID().String(), Tombstone: tombstone})
	}
	return out, nil
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
	value, version, err := n.ownPlaintext(ctx, name)
	if err != nil {
		return api.Revealed{}, err
	}
	return api.Revealed{Name: name, Version: version, Value: value}, nil
}

// ownPlaintext decrypts the current version of name addressed to this node.
func (n *Node) ownPlaintext(ctx context.Context, name string) ([]byte, uint64, error) {
	if err := record.ValidName(name); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	res, err := n.store.SecretState(ctx, record.Key{Name: name, Target: n.self})
	if err != nil {
		return nil, 0, err
	}
	if res.Current == nil || res.Current.Tombstone {
		return nil, 0, fmt.Errorf("%w: this node has no secret %s", api.ErrNotFound, name)
	}
	body, err := n.store.SecretBody(ctx, res.Current.ID)
	if err != nil {
		return nil, 0, err
	}
	plain, err := record.Decrypt(n.id.AgeIdentity(), body.Ciphertext)
	if err != nil {
		return nil, 0, fmt.Errorf("secret %s version %d: %w", name, body.Version, err)
	}
	return plain, body.Version, nil
}

// ShareSecret implements web.Backend: re-encrypt this node's own copy (or,
// on the node that wrote it, the copy it kept) for more targets, in the
// same share group.
func (n *Node) ShareSecret(ctx context.Context, name string, to []string) (api.SecretWrites, error) {
	if len(to) == 0 {
		return api.SecretWrites{}, fmt.Errorf("%w: no node to share %s with", api.ErrInvalid, name)
	}
	targets, err := n.resolveTargets(ctx, to)
	if err != nil {
		return api.SecretWrites{}, err
	}
	n.secretsMu.Lock()
	defer n.secretsMu.Unlock()
	value, group, restart, err := n.shareSource(ctx, name)
	if err != nil {
		return api.SecretWrites{}, err
	}
	return n.write(ctx, name, targets, value, restart, group, false, EventSecretShared)
}

// shareSource finds the plaintext, share group and restart units to share.
func (n *Node) shareSource(ctx context.Context, name string) ([]byte, []byte, []string, error) {
	if value, _, err := n.ownPlaintext(ctx, name); err == nil {
		res, _ := n.store.SecretState(ctx, record.Key{Name: name, Target: n.self})
		body, err := n.store.SecretBody(ctx, res.Current.ID)
		if err != nil {
			return nil, nil, nil, err
		}
		return value, body.Group, body.Restart, nil
	} else if !errors.Is(err, api.ErrNotFound) {
		return nil, nil, nil, err
	}
	// The latest current version this node authored, and the copy it kept.
	cur, err := n.store.CurrentSecrets(ctx, "", false)
	if err != nil {
		return nil, nil, nil, err
	}
	var best *store.SecretVersion
	for i := range cur {
		v := &cur[i]
		if v.Name == name && v.Author == n.self && (best == nil || v.Created.After(best.Created)) {
			best = v
		}
	}
	if best == nil {
		return nil, nil, nil, fmt.Errorf("%w: this node can read no copy of %s (share it from a target or from the node that wrote it)", api.ErrNotFound, name)
	}
	ct, _, err := n.store.OwnCopy(ctx, best.Group)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: this node kept no copy of %s", api.ErrNotFound, name)
	}
	value, err := record.Decrypt(n.id.AgeIdentity(), ct)
	if err != nil {
		return nil, nil, nil, err
	}
	return value, best.Group, best.Restart, nil
}

// DeleteSecret implements web.Backend: tombstones for the given targets, or
// for every target this node may delete name for.
func (n *Node) DeleteSecret(ctx context.Context, name string, targetArgs []string) (api.SecretWrites, error) {
	if err := record.ValidName(name); err != nil {
		return api.SecretWrites{}, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	n.secretsMu.Lock()
	defer n.secretsMu.Unlock()
	var targets []target
	if len(targetArgs) > 0 {
		var err error
		if targets, err = n.resolveTargets(ctx, targetArgs); err != nil {
			return api.SecretWrites{}, err
		}
	} else {
		cur, err := n.store.CurrentSecrets(ctx, "", false)
		if err != nil {
			return api.SecretWrites{}, err
		}
		m := n.store.Members()
		for _, v := range cur {
			if v.Name == name && m.MayWriteSecret(n.self, v.Target) {
				targets = append(targets, target{id: v.Target})
			}
		}
		if len(targets) == 0 {
			return api.SecretWrites{}, fmt.Errorf("%w: this node may delete no copy of %s (an admin may delete any, a plain node only its own)", api.ErrNotFound, name)
		}
	}
	return n.write(ctx, name, targets, nil, nil, nil, true, EventSecretDeleted)
}
