package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/credmesh/credmesh/internal/record"
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

// Apply runs the acceptance rules on verified envelopes, in order, in one
// transaction, and stores those accepted. Rejections are audited with
// their reason (rate-limited) and change nothing else; duplicates are
// silently skipped. from names where the records came from, for the audit
// log. Membership changes made by admits and revokes in the batch apply
// to the records after them.
func (s *Store) Apply(ctx context.Context, now time.Time, envs []*record.Envelope, from string) ([]Outcome, error) {
	out := make([]Outcome, 0, len(envs))
	err := s.writeMembers(ctx, func(tx *txw) (bool, error) {
		out = out[:0]
		changed, stale := false, false
		m := s.Members()
		touched := map[record.Key][]int{} // secret keys stored to, with the outcomes
		for _, e := range envs {
			o := Outcome{Env: e}
			body, err := s.decide(ctx, tx, e, m, now)
			if stale && needsFresh(err) {
				// An admit earlier in the batch may make this record
				// acceptable: recompute membership lazily, only when it
				// matters.
				if m, err = loadMembers(ctx, tx, s.self); err != nil {
					return false, err
				}
				stale = false
				body, err = s.decide(ctx, tx, e, m, now)
			}
			if err == nil {
				if err := s.insert(ctx, tx, e, body, now); err != nil {
					return false, err
				}
				o.Record, o.Stored = &record.Record{Envelope: e, Body: body}, true
				if sec, ok := body.(record.Secret); ok {
					touched[sec.Key()] = append(touched[sec.Key()], len(out))
					if aerr := auditReceived(ctx, tx, now, e, sec, from); aerr != nil {
						return false, aerr
					}
				}
				switch e.Kind {
				case record.KindAdmit:
					changed, stale = true, true
				case record.KindRevoke:
					// A revoke takes effect on the very next record.
					var lerr error
					if m, lerr = loadMembers(ctx, tx, s.self); lerr != nil {
						return false, lerr
					}
					changed, stale = true, false
				}
			}
			if errors.Is(err, record.ErrDuplicate) && !strings.HasPrefix(from, "hello") {
				// A copy of a record already held changes nothing. It is
				// counted, not audited: gossip and anti-entropy race all
				// the time (a pull asks for a record that gossip brings
				// before the answer does), so most copies are the mesh
				// working, and an audit row would only alarm. A record
				// that anti-entropy never asked for is audited by the
				// puller (a peer breaking the protocol).
				s.countReject(record.ReasonDuplicate)
			}
			if err != nil && !errors.Is(err, record.ErrDuplicate) {
				var re *record.RejectError
				if !errors.As(err, &re) {
					return false, err // a storage failure, not a verdict
				}
				if err := s.auditReject(ctx, tx, now, e, re, from); err != nil {
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
			if m, err = loadMembers(ctx, tx, s.self); err != nil {
				return false, err
			}
		}
		for key, idx := range touched {
			res, err := resolveKey(ctx, tx, key, m)
			if err != nil {
				return false, err
			}
			for _, i := range idx {
				if o := &out[i]; !res.Valid[o.Env.ID()] {
					o.Err = stepRejection(o.Record.Body.(record.Secret), o.Env, res)
					if err := s.auditReject(ctx, tx, now, o.Env, o.Err.(*record.RejectError), from); err != nil {
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
	return out, nil
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
func (s *Store) decideCounterRevoke(ctx context.Context, tx *txw, e *record.Envelope, now time.Time, refusal error) (any, error) {
	if err := record.CheckTime(e, now); err != nil {
		return nil, err
	}
	v, err := record.DecodeRevoke(e.Body)
	if err != nil || v.SubjectID() == e.AuthorID() {
		return nil, refusal
	}
	// Only a node that was given the admin role somewhere can have signed
	// one that counts: anyone else's is refused without computing.
	if ok, err := everAdmin(ctx, tx, e.AuthorID()); err != nil || !ok {
		return nil, errors.Join(refusal, err)
	}
	in, err := loadMembershipInput(ctx, tx, s.self)
	if err != nil {
		return nil, err
	}
	in.Revokes = append(in.Revokes, record.RevokeRec{ID: e.ID(), Author: e.AuthorID(), Subject: v.SubjectID(), Time: e.Time, Reason: v.Reason, Pin: v.Pin})
	rev, ok := record.ComputeMembers(in).Revocation(v.SubjectID())
	if !ok || !slices.Contains(rev.Records, e.ID()) {
		return nil, refusal
	}
	return v, nil
}

// everAdmin reports whether id is an admin anchor here or the subject of
// a stored admit with the admin role.
func everAdmin(ctx context.Context, tx *txw, id record.NodeID) (bool, error) {
	var role string
	err := tx.QueryRowContext(ctx, "SELECT role FROM trust WHERE node_id = ?", string(id)).Scan(&role)
	if err == nil && role == record.RoleAdmin.String() {
		return true, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	recs, err := queryRecords(ctx, tx, "WHERE kind = ? AND key = ?", int(record.KindAdmit), string(id))
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

// CounterRevokeCounts reports whether a revoke that Check refused (its
// author revoked or no longer an admin here) counts all the same in its
// own view, as decideCounterRevoke decides when it is applied. The gossip
// validator asks it so that such a revoke is not dropped before the store
// sees it.
func (s *Store) CounterRevokeCounts(ctx context.Context, e *record.Envelope, now time.Time, refusal error) bool {
	if e.Kind != record.KindRevoke || !counterRevoke(refusal) {
		return false
	}
	ok := false
	_ = s.read(ctx, func(tx *txw) error {
		_, err := s.decideCounterRevoke(ctx, tx, e, now, refusal)
		ok = err == nil
		return nil
	})
	return ok
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
func (s *Store) decide(ctx context.Context, tx *txw, e *record.Envelope, m *record.Members, now time.Time) (any, error) {
	if !e.Kind.IsRecord() {
		return nil, &record.RejectError{Reason: record.ReasonUnknownKind, Detail: e.Kind.String() + " is not a record"}
	}
	var one int
	id := e.ID()
	err := tx.QueryRowContext(ctx, qRecordExists, id[:]).Scan(&one)
	if err == nil {
		return nil, record.ErrDuplicate
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	body, err := record.Check(e, m, now)
	if err != nil && e.Kind == record.KindRevoke && counterRevoke(err) {
		return s.decideCounterRevoke(ctx, tx, e, now, err)
	}
	if err != nil {
		return nil, err
	}
	if r, ok := body.(record.Receipt); ok {
		// A receipt is its target's word on its own secret: one about a
		// version held here for another node is refused. (One about a
		// version not held yet is kept; it is keyed by its author and shown
		// only where its author is the target.)
		var target string
		err := tx.QueryRowContext(ctx, "SELECT target FROM secrets WHERE id = ?", r.Secret[:]).Scan(&target)
		if err == nil && record.NodeID(target) != e.AuthorID() {
			return nil, &record.RejectError{Reason: record.ReasonNotAllowed,
				Detail: fmt.Sprintf("receipt by %s for %s's secret %q", e.AuthorID().Short(), record.NodeID(target).Short(), r.Name)}
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	if record.IsLatestKind(e.Kind) {
		cur, err := latest(ctx, tx, e.Kind, recordKey(e, body))
		if err != nil {
			return nil, err
		}
		if err := record.AcceptLatest(e, cur); err != nil {
			return nil, err
		}
	}
	return body, nil
}

// latest returns the stored latest-by-sequence record for (kind, key).
func latest(ctx context.Context, tx *txw, kind record.Kind, key string) (record.Stored, error) {
	var cur record.Stored
	var id []byte
	var seq int64
	err := tx.QueryRowContext(ctx, qLatest, int(kind), key).Scan(&seq, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return cur, nil
	}
	if err != nil {
		return cur, err
	}
	cur.Has, cur.Seq = true, uint64(seq)
	copy(cur.ID[:], id)
	return cur, nil
}

// recordKey is the key column of a record: what it is about.
func recordKey(e *record.Envelope, body any) string {
	switch b := body.(type) {
	case record.Admit:
		return string(b.SubjectID())
	case record.Revoke:
		return string(b.SubjectID())
	case record.Secret:
		return b.Key().String()
	case record.Receipt:
		return b.Key(e.AuthorID()).String()
	}
	return string(e.AuthorID())
}

// insert stores a decided record (a secret's row too; its key is
// resolved by the caller, once per batch).
func (s *Store) insert(ctx context.Context, tx *txw, e *record.Envelope, body any, now time.Time) error {
	key := recordKey(e, body)
	if record.IsLatestKind(e.Kind) {
		if _, err := tx.ExecContext(ctx, qDeleteKey, int(e.Kind), key); err != nil {
			return err
		}
	}
	// Log sequences only rise: a superseded record is replaced in the same
	// transaction by one with a higher sequence, so the highest stored
	// sequence never goes down and is where the counter resumes at open.
	s.logSeq++
	logSeq := s.logSeq
	id := e.ID()
	_, err := tx.ExecContext(ctx, qInsertRecord,
		id[:], int(e.Kind), string(e.AuthorID()), int64(e.Seq), key, e.Time.UnixMilli(), e.Raw(), int64(logSeq), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("insert record: %w", err)
	}
	switch b := body.(type) {
	case record.Node:
		return upsertPeerFromNode(ctx, tx, e.AuthorID(), b, now)
	case record.Secret:
		return insertSecret(ctx, tx, e, b)
	case record.Receipt:
		return upsertReceipt(ctx, tx, e, b)
	}
	return nil
}

func upsertPeerFromNode(ctx context.Context, tx *txw, id record.NodeID, n record.Node, now time.Time) error {
	addrs, _ := json.Marshal(nonNil(n.Addrs))
	_, err := tx.ExecContext(ctx, `INSERT INTO peers(node_id, hostname, age_recipient, agent_version, addrs, started_ms, first_seen_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(node_id) DO UPDATE SET hostname = excluded.hostname, age_recipient = excluded.age_recipient,
			agent_version = excluded.agent_version, addrs = excluded.addrs, started_ms = excluded.started_ms`,
		string(id), n.Hostname, n.AgeRecipient, n.AgentVersion, string(addrs), n.StartedAt.UnixMilli(), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("update peer: %w", err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// AddOwn stores a record this node signs: it reserves the next author
// sequence, calls seal with it, and applies the result, all in one
// transaction. The record is returned for publishing.
func (s *Store) AddOwn(ctx context.Context, now time.Time, seal func(seq uint64) (*record.Envelope, error)) (*record.Record, error) {
	recs, err := s.AddOwnMany(ctx, now, 1, func(_ int, seq uint64) (*record.Envelope, error) { return seal(seq) }, With{})
	if err != nil {
		return nil, err
	}
	return recs[0], nil
}

// With says what else goes into the transaction of AddOwnMany: audit
// events made from the records, and a copy the author keeps.
type With struct {
	Events func(recs []*record.Record) []Event
	Copy   *OwnCopy
}

// OwnCopy is a secret this node authored, encrypted to its own key.
type OwnCopy struct {
	Group      []byte
	Version    uint64
	Name       string
	Ciphertext []byte
}

// AddOwnMany stores n records this node signs in one transaction: all of
// them or none, with the events and own copy of with. seal(i, seq) makes
// the i-th.
func (s *Store) AddOwnMany(ctx context.Context, now time.Time, n int, seal func(i int, seq uint64) (*record.Envelope, error), with With) ([]*record.Record, error) {
	var recs []*record.Record
	err := s.writeMembers(ctx, func(tx *txw) (bool, error) {
		recs = recs[:0]
		changed := false
		for i := range n {
			seq := s.nextSeq(now)
			e, err := seal(i, seq)
			if err != nil {
				return false, err
			}
			m := s.Members()
			if changed {
				if m, err = loadMembers(ctx, tx, s.self); err != nil {
					return false, err
				}
			}
			body, err := s.decide(ctx, tx, e, m, now)
			if err != nil {
				return false, fmt.Errorf("own %s record refused: %w", e.Kind, err)
			}
			if err := s.insert(ctx, tx, e, body, now); err != nil {
				return false, fmt.Errorf("own %s record refused: %w", e.Kind, err)
			}
			if sec, ok := body.(record.Secret); ok {
				if _, err := resolveKey(ctx, tx, sec.Key(), m); err != nil {
					return false, err
				}
			}
			if err := setMeta(ctx, tx, metaAuthorSeq, strconv.FormatUint(seq, 10)); err != nil {
				return false, err
			}
			recs = append(recs, &record.Record{Envelope: e, Body: body})
			changed = changed || e.Kind == record.KindAdmit || e.Kind == record.KindRevoke
		}
		if with.Events != nil {
			for _, ev := range with.Events(recs) {
				if err := addEvent(ctx, tx, ev); err != nil {
					return false, err
				}
			}
		}
		if c := with.Copy; c != nil {
			if err := putOwnCopy(ctx, tx, now, c); err != nil {
				return false, err
			}
		}
		return changed, nil
	})
	if err != nil {
		return nil, fmt.Errorf("add own records: %w", err)
	}
	return recs, nil
}

// NextSeq reserves a sequence for an ephemeral message this node signs
// (records get theirs from AddOwn).
func (s *Store) NextSeq(now time.Time) uint64 { return s.nextSeq(now) }

func (s *Store) nextSeq(now time.Time) uint64 {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	s.authorSeq = record.NextSeq(s.authorSeq, now)
	return s.authorSeq
}

// loadSeqs primes the author sequence and the log sequence from the store.
func (s *Store) loadSeqs(ctx context.Context) error {
	return s.read(ctx, func(tx *txw) error {
		v, err := getMetaUint(ctx, tx, metaAuthorSeq)
		if err != nil {
			return err
		}
		var logSeq sql.NullInt64
		if err := tx.QueryRowContext(ctx, qMaxLogSeq).Scan(&logSeq); err != nil {
			return err
		}
		s.seqMu.Lock()
		s.authorSeq = max(s.authorSeq, v)
		s.seqMu.Unlock()
		s.logSeq = uint64(logSeq.Int64)
		return nil
	})
}

// LatestSeq returns the highest sequence among stored records authored by
// id (0 when there is none).
func (s *Store) LatestSeq(ctx context.Context, id record.NodeID) (uint64, error) {
	var seq sql.NullInt64
	err := s.read(ctx, func(tx *txw) error {
		return tx.QueryRowContext(ctx, qLatestBySelf, string(id)).Scan(&seq)
	})
	if err != nil {
		return 0, fmt.Errorf("latest seq: %w", err)
	}
	return uint64(seq.Int64), nil
}

// StoredRecord is one stored record.
type StoredRecord struct {
	ID       record.ID
	Kind     record.Kind
	Author   record.NodeID
	Seq      uint64
	Key      string
	Time     time.Time
	Received time.Time
	Raw      []byte
}

// Latest returns the latest stored record of kind with key (node and
// sysinfo records are keyed by their author), or ok=false.
func (s *Store) Latest(ctx context.Context, kind record.Kind, key string) (rec StoredRecord, ok bool, err error) {
	err = s.read(ctx, func(tx *txw) error {
		recs, err := queryRecords(ctx, tx, "WHERE kind = ? AND key = ? ORDER BY seq DESC LIMIT 1", int(kind), key)
		if len(recs) == 1 {
			rec, ok = recs[0], true
		}
		return err
	})
	return rec, ok, err
}

// RecordsByKind returns every stored record of kind, oldest first.
func (s *Store) RecordsByKind(ctx context.Context, kind record.Kind) ([]StoredRecord, error) {
	var out []StoredRecord
	err := s.read(ctx, func(tx *txw) error {
		var err error
		out, err = queryRecords(ctx, tx, "WHERE kind = ? ORDER BY log_seq", int(kind))
		return err
	})
	return out, err
}

// CountRecords returns the number of stored records by kind.
func (s *Store) CountRecords(ctx context.Context) (map[record.Kind]int, error) {
	out := map[record.Kind]int{}
	err := s.read(ctx, func(tx *txw) error {
		rows, err := tx.QueryContext(ctx, "SELECT kind, count(*) FROM records GROUP BY kind")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k, n int
			if err := rows.Scan(&k, &n); err != nil {
				return err
			}
			out[record.Kind(k)] = n
		}
		return rows.Err()
	})
	return out, err
}

func queryRecords(ctx context.Context, tx *txw, where string, args ...any) ([]StoredRecord, error) {
	rows, err := tx.QueryContext(ctx, "SELECT id, kind, author, seq, key, time_ms, received_ms, raw FROM records "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StoredRecord
	for rows.Next() {
		var r StoredRecord
		var id []byte
		var kind int
		var seq, t, rcv int64
		var author string
		if err := rows.Scan(&id, &kind, &author, &seq, &r.Key, &t, &rcv, &r.Raw); err != nil {
			return nil, err
		}
		copy(r.ID[:], id)
		r.Kind, r.Author, r.Seq = record.Kind(kind), record.NodeID(author), uint64(seq)
		r.Time, r.Received = time.UnixMilli(t), time.UnixMilli(rcv)
		out = append(out, r)
	}
	return out, rows.Err()
}

// EventSecretReceived is audited for every secret version stored from
// another node.
const EventSecretReceived = "secret.received"

func auditReceived(ctx context.Context, tx *txw, now time.Time, e *record.Envelope, s record.Secret, from string) error {
	what := "version"
	if s.Tombstone {
		what = "deletion"
	}
	data, _ := json.Marshal(map[string]any{"target": s.TargetID(), "version": s.Version, "record": e.ID().String(),
		"tombstone": s.Tombstone, "from": from})
	return addEvent(ctx, tx, Event{Time: now, Type: EventSecretReceived, Node: string(e.AuthorID()), Secret: s.Name,
		Message: fmt.Sprintf("received %s %d of %s for %s", what, s.Version, s.Name, s.TargetID().Short()), Data: data})
}
