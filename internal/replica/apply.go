package replica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/credmesh/credmesh/internal/membership"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// Outcome is what Apply did with one record.
type Outcome struct {
	Record *record.Record // set when stored
	Env    *record.Envelope
	// Err is nil when the record was accepted, record.ErrDuplicate when it
	// was already stored, and a *record.RejectError otherwise.
	Err error
	// Stored is true for accepted records and for secret versions that are
	// refused but kept, so that every node resolves the same set.
	Stored bool
}

// Accepted reports whether the record was stored and counts.
func (o Outcome) Accepted() bool { return o.Err == nil }

// Apply runs the acceptance rules on verified envelopes from another node,
// in order, in one transaction, and stores those accepted. Rejections are
// audited with their reason (rate-limited) and change nothing else;
// duplicates are counted. Membership changes made by admits and revokes in
// the batch apply to the records after them. The accepted records go to
// the Notifier after the commit.
func (r *Replica) Apply(ctx context.Context, envs []*record.Envelope, src Source) ([]Outcome, error) {
	now := r.now()
	out := make([]Outcome, 0, len(envs))
	err := r.updateSync(ctx, r.mustSync(envs), func(tx *store.Tx) (bool, error) {
		out = out[:0]
		changed, stale := false, false
		m := r.Members()
		touched := map[record.Key][]int{} // secret keys stored to, with the outcomes
		for _, e := range envs {
			o := Outcome{Env: e}
			body, err := r.decide(tx, e, m)
			if stale && needsFresh(err) {
				// An admit earlier in the batch may make this record
				// acceptable: recompute membership lazily, only when it
				// matters.
				if m, err = loadMembers(tx, r.self); err != nil {
					return false, err
				}
				stale = false
				body, err = r.decide(tx, e, m)
			}
			if err == nil {
				if err := r.insert(tx, e, body); err != nil {
					return false, err
				}
				o.Record, o.Stored = &record.Record{Envelope: e, Body: body}, true
				if sec, ok := body.(record.Secret); ok {
					touched[sec.Key()] = append(touched[sec.Key()], len(out))
					if aerr := auditReceived(tx, now, e, sec, src); aerr != nil {
						return false, aerr
					}
				}
				switch e.Kind {
				case record.KindAdmit:
					changed, stale = true, true
				case record.KindRevoke:
					// A revoke takes effect on the very next record.
					var lerr error
					if m, lerr = loadMembers(tx, r.self); lerr != nil {
						return false, lerr
					}
					changed, stale = true, false
				}
			}
			if errors.Is(err, record.ErrDuplicate) && src.Via != Hello {
				// A copy of a record already held changes nothing. It is
				// counted, not audited: gossip and anti-entropy race all
				// the time (a pull asks for a record that gossip brings
				// before the answer does), so most copies are the mesh
				// working, and an audit row would only alarm. A record
				// that anti-entropy never asked for is audited by the
				// puller (a peer breaking the protocol). A hello carries
				// the node record held already on every reconnection.
				r.countReject(record.ReasonDuplicate)
			}
			if err != nil && !errors.Is(err, record.ErrDuplicate) {
				var re *record.RejectError
				if !errors.As(err, &re) {
					return false, err // a storage failure, not a verdict
				}
				if err := r.auditReject(tx, now, e, re, src); err != nil {
					return false, err
				}
			}
			o.Err = err
			out = append(out, o)
		}
		// Each secret stored to is resolved once for the whole batch (a
		// catch-up brings many versions of few secrets). A version that
		// jumps too far is kept but does not count yet: audited so.
		if stale && len(touched) > 0 {
			var err error
			if m, err = loadMembers(tx, r.self); err != nil {
				return false, err
			}
		}
		for key, idx := range touched {
			res, err := resolveKey(tx, key, m)
			if err != nil {
				return false, err
			}
			for _, i := range idx {
				if o := &out[i]; !res.Valid[o.Env.ID()] {
					o.Err = stepRejection(o.Record.Body.(record.Secret), o.Env, res)
					if err := r.auditReject(tx, now, o.Env, o.Err.(*record.RejectError), src); err != nil {
						return false, err
					}
				}
			}
		}
		return changed, nil
	})
	if err != nil {
		return nil, fmt.Errorf("apply records: %w", err)
	}
	var accepted []*record.Record
	for _, o := range out {
		if o.Accepted() {
			accepted = append(accepted, o.Record)
		}
	}
	r.told(accepted, src)
	return out, nil
}

// insert stores a decided record at the next log sequence.
// mustSync reports whether a batch from peers must be on disk before its
// commit returns. Most of what a node stores it only keeps and forwards:
// a power loss that drops it is repaired by anti-entropy, so those
// commits do not wait for the disk. A batch that may change who is a
// member, or that holds a secret for this node (whose credential file is
// written next and must not be older than the store after a power loss),
// waits; so does one that does not decode (Apply decides what it is).
func (r *Replica) mustSync(envs []*record.Envelope) bool {
	for _, e := range envs {
		switch e.Kind {
		case record.KindAdmit, record.KindRevoke:
			return true
		case record.KindSecret:
			s, err := record.DecodeSecret(e.Body)
			if err != nil || s.TargetID() == r.self {
				return true
			}
		}
	}
	return false
}

func (r *Replica) insert(tx *store.Tx, e *record.Envelope, body any) error {
	r.logSeq++
	return tx.Insert(e, body, r.logSeq, r.now())
}

// stepRejection says why a stored version does not count: it jumps too
// far above the versions that do (it is kept, and counts once versions
// below it arrive; every node must resolve the same set).
func stepRejection(s record.Secret, e *record.Envelope, res record.Resolution) *record.RejectError {
	return &record.RejectError{Reason: record.ReasonNotAllowed, Detail: fmt.Sprintf(
		"secret %q for %s version %d by %s jumps more than %d above the versions that count (%d); kept until versions below it arrive",
		s.Name, s.TargetID().Short(), s.Version, e.AuthorID().Short(), record.MaxVersionStep, res.Latest)}
}

// needsFresh reports whether a rejection may be lifted by a membership
// change earlier in the same batch.
func needsFresh(err error) bool {
	r := record.ReasonOf(err)
	return isReject(err) && (r == record.ReasonNotMember || r == record.ReasonNotAllowed || r == record.ReasonWrongTarget)
}

func isReject(err error) bool {
	var re *record.RejectError
	return errors.As(err, &re)
}

// decide returns the decoded body when e is to be stored, ErrDuplicate,
// a rejection, or a storage error.
func (r *Replica) decide(tx *store.Tx, e *record.Envelope, m *record.Members) (any, error) {
	if !e.Kind.IsRecord() {
		return nil, &record.RejectError{Reason: record.ReasonUnknownKind, Detail: e.Kind.String() + " is not a record"}
	}
	if has, err := tx.Has(e.ID()); err != nil || has {
		if err == nil {
			err = record.ErrDuplicate
		}
		return nil, err
	}
	now := r.now()
	body, err := record.Check(e, m, now)
	if err != nil && e.Kind == record.KindRevoke && counterRevoke(err) {
		return r.decideCounterRevoke(tx, e, err)
	}
	if err != nil {
		return nil, err
	}
	if rc, ok := body.(record.Receipt); ok {
		// A receipt is its target's word on its own secret: one about a
		// version held here for another node is refused. (One about a
		// version not held yet is kept; it is keyed by its author and shown
		// only where its author is the target.)
		target, ok, err := tx.SecretTarget(rc.Secret)
		if err != nil {
			return nil, err
		}
		if ok && target != e.AuthorID() {
			return nil, &record.RejectError{Reason: record.ReasonNotAllowed,
				Detail: fmt.Sprintf("receipt by %s for %s's secret %q", e.AuthorID().Short(), target.Short(), rc.Name)}
		}
	}
	if record.IsLatestKind(e.Kind) {
		cur, err := tx.Latest(e.Kind, store.RecordKey(e, body))
		if err != nil {
			return nil, err
		}
		if err := record.AcceptLatest(e, cur); err != nil {
			return nil, err
		}
	}
	return body, nil
}

// counterRevoke reports whether a refusal of a revoke may be lifted by
// judging it in its own view: its author was revoked or demoted.
func counterRevoke(err error) bool {
	r := record.ReasonOf(err)
	return r == record.ReasonRevoked || r == record.ReasonNotAllowed
}

// decideCounterRevoke keeps a revoke whose author this node no longer
// takes as an admin when it counts all the same: judged without the
// records of its subject it did not pin (crossed revocations, where each
// admin revoked the other without seeing the other's revoke). It counts
// when membership computed with it makes its subject revoked by it.
func (r *Replica) decideCounterRevoke(tx *store.Tx, e *record.Envelope, refusal error) (any, error) {
	if err := record.CheckTime(e, r.now()); err != nil {
		return nil, err
	}
	v, err := record.DecodeRevoke(e.Body)
	if err != nil || v.SubjectID() == e.AuthorID() {
		return nil, refusal
	}
	// Only a node that was given the admin role somewhere can have signed
	// one that counts: anyone else's is refused without computing.
	if ok, err := everAdmin(tx, e.AuthorID()); err != nil || !ok {
		return nil, errors.Join(refusal, err)
	}
	in, err := loadMembershipInput(tx, r.self)
	if err != nil {
		return nil, err
	}
	in.Revokes = append(in.Revokes, membership.Revoke{ID: e.ID(), Author: e.AuthorID(), Subject: v.SubjectID(), Time: e.Time, Reason: v.Reason, Pin: v.Pin})
	rev, ok := membership.Compute(in).Revocation(v.SubjectID())
	if !ok || !slices.Contains(rev.Records, e.ID()) {
		return nil, refusal
	}
	return v, nil
}

// everAdmin reports whether id is an admin anchor here or the subject of
// a stored admit with the admin role.
func everAdmin(tx *store.Tx, id record.NodeID) (bool, error) {
	trust, err := tx.Trust()
	if err != nil {
		return false, err
	}
	for _, t := range trust {
		if t.NodeID == id && t.Role == record.RoleAdmin {
			return true, nil
		}
	}
	recs, err := tx.Records(string(id), record.KindAdmit)
	if err != nil {
		return false, err
	}
	for _, r := range recs {
		if e, err := record.OpenStored(r.Raw); err == nil {
			if a, err := record.DecodeAdmit(e.Body); err == nil && a.Role == record.RoleAdmin {
				return true, nil
			}
		}
	}
	return false, nil
}

// Check runs the acceptance rules on an envelope before it is forwarded
// (the gossip validator), without storing it: a revoke refused because
// its author is revoked or no longer an admin here is checked in its own
// view, as Apply would (crossed revocations). A refusal is audited as
// coming from src.
func (r *Replica) Check(ctx context.Context, env *record.Envelope, src Source) (*record.Record, error) {
	now := r.now()
	body, err := record.Check(env, r.Members(), now)
	if err != nil && env.Kind == record.KindRevoke && counterRevoke(err) {
		counts := false
		_ = r.st.View(ctx, func(tx *store.Tx) error {
			_, cerr := r.decideCounterRevoke(tx, env, err)
			counts = cerr == nil
			return nil
		})
		if counts {
			body, err = record.DecodeBody(env)
		}
	}
	if err != nil {
		r.Refuse(ctx, Rejection{Kind: env.Kind, Author: env.AuthorID(), ID: env.ID().String(),
			Reason: record.ReasonOf(err), Detail: err.Error(), From: src})
		return nil, err
	}
	return &record.Record{Envelope: env, Body: body}, nil
}

// EventSecretReceived is audited for every secret version stored from
// another node.
const EventSecretReceived = "secret.received"

func auditReceived(tx *store.Tx, now time.Time, e *record.Envelope, s record.Secret, src Source) error {
	what := "version"
	if s.Tombstone {
		what = "deletion"
	}
	data, _ := json.Marshal(map[string]any{"target": s.TargetID(), "version": s.Version, "record": e.ID().String(),
		"tombstone": s.Tombstone, "from": src.String()})
	return tx.AddEvent(store.Event{Time: now, Type: EventSecretReceived, Node: string(e.AuthorID()), Secret: s.Name,
		Message: fmt.Sprintf("received %s %d of %s for %s", what, s.Version, s.Name, s.TargetID().Short()), Data: data})
}
