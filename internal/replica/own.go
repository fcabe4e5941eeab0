package replica

import (
	"context"
	"errors"
	"fmt"

	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// Local is what a local write stores: this node's records of Kind,
// sealed from Bodies, with the audit events made from them and a copy the
// author keeps, all in one transaction.
type Local struct {
	Kind   record.Kind
	Bodies [][]byte
	Events func(recs []*record.Record) []store.Event
	Copy   *store.OwnCopy
}

// Write runs plan in one write transaction and stores the records it
// asks for in the same transaction: plan reads what it decides from (the
// versions held, the copies of a group) through tx, so no other write
// comes between the plan and its records. An error from plan stores
// nothing; a plan that asks for no records stores none. The records go to
// the Notifier after the commit.
func (r *Replica) Write(ctx context.Context, plan func(tx *store.Tx) (Local, error)) ([]*record.Record, error) {
	var recs []*record.Record
	err := r.update(ctx, func(tx *store.Tx) (bool, error) {
		l, err := plan(tx)
		if err != nil || len(l.Bodies) == 0 {
			return false, err
		}
		recs, err = r.addOwn(tx, l)
		return err == nil && (l.Kind == record.KindAdmit || l.Kind == record.KindRevoke), err
	})
	if err != nil {
		return nil, err
	}
	r.told(recs, Source{Via: Mine})
	return recs, nil
}

// Publish signs body as one of this node's records of kind, decides and
// stores it in one transaction, and hands it to the Notifier (which
// publishes it).
func (r *Replica) Publish(ctx context.Context, kind record.Kind, body []byte) (*record.Record, error) {
	recs, err := r.publish(ctx, Local{Kind: kind, Bodies: [][]byte{body}})
	if err != nil {
		return nil, err
	}
	return recs[0], nil
}

// publish signs several records of kind and stores them in one
// transaction (all or none), then hands them to the Notifier.
func (r *Replica) publish(ctx context.Context, l Local) ([]*record.Record, error) {
	recs, err := r.Write(ctx, func(*store.Tx) (Local, error) { return l, nil })
	if err != nil {
		return nil, fmt.Errorf("add own records: %w", err)
	}
	return recs, nil
}

// addOwn seals, decides and stores this node's records inside tx: each
// gets the next author sequence, and the last one is saved, so a restart
// resumes above it.
func (r *Replica) addOwn(tx *store.Tx, l Local) ([]*record.Record, error) {
	kind, bodies := l.Kind, l.Bodies
	if r.id == nil {
		return nil, errors.New("replica: no identity to sign with")
	}
	now := r.now()
	recs := make([]*record.Record, 0, len(bodies))
	m := r.Members()
	for i := range bodies {
		seq := r.NextSeq()
		e, err := record.Seal(r.id.NodeKey(), kind, seq, now, bodies[i])
		if err != nil {
			return nil, err
		}
		if i > 0 && (kind == record.KindAdmit || kind == record.KindRevoke) {
			if m, err = loadMembers(tx, r.self); err != nil {
				return nil, err
			}
		}
		body, err := r.decide(tx, e, m)
		if err != nil {
			return nil, fmt.Errorf("own %s record refused: %w", e.Kind, err)
		}
		if err := r.insert(tx, e, body); err != nil {
			return nil, fmt.Errorf("own %s record refused: %w", e.Kind, err)
		}
		if sec, ok := body.(record.Secret); ok {
			if _, err := resolveKey(tx, sec.Key(), m); err != nil {
				return nil, err
			}
		}
		if err := tx.SetAuthorSeq(seq); err != nil {
			return nil, err
		}
		recs = append(recs, &record.Record{Envelope: e, Body: body})
	}
	if l.Events != nil {
		for _, ev := range l.Events(recs) {
			if err := tx.AddEvent(ev); err != nil {
				return nil, err
			}
		}
	}
	if l.Copy != nil {
		if err := tx.PutOwnCopy(now, *l.Copy); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// PublishReceipts implements credwriter.Publisher: signs and stores the
// credential writer's receipts in one transaction. A receipt that would
// not decode is dropped (and logged) rather than failing the batch.
func (r *Replica) PublishReceipts(ctx context.Context, bodies [][]byte) error {
	good := bodies[:0:0]
	for _, b := range bodies {
		if _, err := record.DecodeReceipt(b); err != nil {
			r.log.Error("a receipt this node made does not decode; dropped", "err", err)
			continue
		}
		good = append(good, b)
	}
	if len(good) == 0 {
		return nil
	}
	_, err := r.publish(ctx, Local{Kind: record.KindReceipt, Bodies: good})
	return err
}

// PublishSysinfo implements sysinfo.Publisher. A revoked node publishes
// nothing: its records count nowhere.
func (r *Replica) PublishSysinfo(ctx context.Context, body []byte) error {
	if r.Members().IsRevoked(r.self) {
		return nil
	}
	_, err := r.Publish(ctx, record.KindSysinfo, body)
	return err
}

// Announce stores a new node record for this node when what it says about
// itself changed (it always does at start: the start time; later its
// addresses may change) and returns it sealed, or nil when nothing
// changed.
func (r *Replica) Announce(ctx context.Context, want record.Node) ([]byte, error) {
	if r.Members().IsRevoked(r.self) {
		return nil, nil // a revoked node's records count nowhere, its own store included
	}
	cur, ok, err := r.st.Latest(ctx, record.KindNode, string(r.self))
	if err != nil {
		return nil, err
	}
	if ok {
		if e, err := record.Open(cur.Raw); err == nil {
			if have, err := record.DecodeNode(e.Body); err == nil && sameNode(have, want) {
				return nil, nil
			}
		}
	}
	// Stored here; the caller publishes it (peers connecting later get it
	// by hello and anti-entropy).
	var raw []byte
	err = r.update(ctx, func(tx *store.Tx) (bool, error) {
		recs, err := r.addOwn(tx, Local{Kind: record.KindNode, Bodies: [][]byte{want.Encode()}})
		if err == nil && len(recs) == 1 {
			raw = recs[0].Raw()
		}
		return false, err
	})
	if err != nil {
		return nil, fmt.Errorf("add own records: %w", err)
	}
	return raw, nil
}

func sameNode(a, b record.Node) bool {
	return a.Hostname == b.Hostname && a.AgeRecipient == b.AgeRecipient && a.AgentVersion == b.AgentVersion &&
		a.StartedAt.Equal(b.StartedAt) && slicesEqual(a.Addrs, b.Addrs)
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// NodeRecord returns this node's latest node record as stored (what a
// hello sends).
func (r *Replica) NodeRecord(ctx context.Context) ([]byte, error) {
	cur, ok, err := r.st.Latest(ctx, record.KindNode, string(r.self))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("no node record of our own yet")
	}
	return cur.Raw, nil
}
