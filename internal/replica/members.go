package replica

import (
	"context"
	"fmt"

	"github.com/credmesh/credmesh/internal/membership"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// update runs fn in one write transaction while holding the write lock;
// when fn reports a possible membership change, membership is recomputed
// inside the transaction. When it did change, every secret head is
// resolved again under it (who counts may have changed), and when it grew
// (a new member, role or pin, a revocation undone) every anti-entropy
// cursor is reset, so that records refused before are pulled again. The
// new snapshot is published after the commit, so no other write ever sees
// a stale one.
func (r *Replica) update(ctx context.Context, fn func(tx *store.Tx) (changed bool, err error)) error {
	return r.updateSync(ctx, true, fn)
}

// updateSync is update, committed without waiting for the disk unless
// durable (see store.UpdateRelaxed).
func (r *Replica) updateSync(ctx context.Context, durable bool, fn func(tx *store.Tx) (changed bool, err error)) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	var next *record.Members
	logSeq := r.logSeq
	storeUpdate := r.st.Update
	if !durable {
		storeUpdate = r.st.UpdateRelaxed
	}
	err := storeUpdate(ctx, func(tx *store.Tx) error {
		next = nil
		r.logSeq = logSeq // a retried or failed transaction hands its sequences out again
		changed, err := fn(tx)
		if err != nil || !changed {
			return err
		}
		prev := r.Members()
		if next, err = loadMembers(tx, r.self); err != nil {
			return err
		}
		if next.Same(prev) {
			next = nil
			return nil
		}
		if err := resolveAll(tx, next); err != nil {
			return err
		}
		if prev.Grew(next) {
			return tx.ResetCursors()
		}
		return nil
	})
	if err != nil {
		r.logSeq = logSeq
		return err
	}
	if next != nil {
		r.members.Store(next)
	}
	return nil
}

func loadMembers(tx *store.Tx, self record.NodeID) (*record.Members, error) {
	in, err := loadMembershipInput(tx, self)
	if err != nil {
		return nil, err
	}
	return membership.Compute(in), nil
}

// loadMembershipInput reads what membership is computed from: the
// operator's trust list and every stored admit and revoke.
func loadMembershipInput(tx *store.Tx, self record.NodeID) (membership.Input, error) {
	in := membership.Input{Self: self, Founder: true}
	trust, err := tx.Trust()
	if err != nil {
		return in, fmt.Errorf("load trust: %w", err)
	}
	for _, t := range trust {
		in.Anchors = append(in.Anchors, membership.Anchor{ID: t.NodeID, Role: t.Role})
		if t.Source == store.TrustJoin {
			in.Founder = false // it joined someone else's cluster
		}
	}
	recs, err := tx.Records("", record.KindAdmit, record.KindRevoke)
	if err != nil {
		return in, fmt.Errorf("load admits and revokes: %w", err)
	}
	for _, r := range recs {
		e, err := record.OpenStored(r.Raw)
		if err != nil {
			return in, fmt.Errorf("stored %s %s: %w", r.Kind, r.ID.Short(), err)
		}
		switch r.Kind {
		case record.KindAdmit:
			a, err := record.DecodeAdmit(e.Body)
			if err != nil {
				return in, fmt.Errorf("stored admit %s: %w", r.ID.Short(), err)
			}
			in.Admits = append(in.Admits, membership.Admit{ID: r.ID, Author: r.Author, Subject: a.SubjectID(), Role: a.Role, Time: e.Time, Pin: a.Pin})
		case record.KindRevoke:
			v, err := record.DecodeRevoke(e.Body)
			if err != nil {
				return in, fmt.Errorf("stored revoke %s: %w", r.ID.Short(), err)
			}
			in.Revokes = append(in.Revokes, membership.Revoke{ID: r.ID, Author: r.Author, Subject: v.SubjectID(), Time: e.Time, Reason: v.Reason, Pin: v.Pin})
		}
	}
	return in, nil
}

// resolveAll resolves every secret head again under m.
func resolveAll(tx *store.Tx, m *record.Members) error {
	keys, err := tx.SecretKeys()
	if err != nil {
		return err
	}
	for _, k := range keys {
		if _, err := resolveKey(tx, k, m); err != nil {
			return fmt.Errorf("resolve %s: %w", k, err)
		}
	}
	return nil
}

// resolveKey runs record.Resolve over every version of key under m and
// saves the result as the secret's head.
func resolveKey(tx *store.Tx, key record.Key, m *record.Members) (record.Resolution, error) {
	vs, err := tx.KeyVersions(key)
	if err != nil {
		return record.Resolution{}, err
	}
	res := record.Resolve(key.Target, vs, m)
	return res, tx.SetHead(key, res)
}
