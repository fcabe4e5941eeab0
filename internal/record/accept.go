package record

import (
	"bytes"
	"errors"
	"time"
)

// ErrDuplicate means the record is already stored: nothing to do, and
// nothing wrong.
var ErrDuplicate = errors.New("duplicate")

// Record is a verified record envelope with its decoded body (one of
// Node, Sysinfo, Admit, Revoke, Secret, Receipt).
type Record struct {
	*Envelope
	Body any
}

// Check applies every rule that needs no stored state but membership to
// a verified envelope received from the network: the clock-skew bound;
// that the author is a member (or a revoked former admin and the record is
// one its revocation pinned); that the body decodes and is well-formed for
// its kind; and that the author may sign it: admits and revokes only from
// admins, secret versions only from their target or an admin. It returns
// the decoded body.
func Check(e *Envelope, m *Members, now time.Time) (any, error) {
	if err := CheckTime(e, now); err != nil {
		return nil, err
	}
	author := e.AuthorID()
	if !m.Accepts(author, e.ID()) {
		if m.IsRevoked(author) {
			return nil, reject(ReasonRevoked, "%s from %s, which is revoked", e.Kind, author.Short())
		}
		return nil, reject(ReasonNotMember, "%s from %s, which is not a member", e.Kind, author.Short())
	}
	body, err := DecodeBody(e)
	if err != nil {
		return nil, err
	}
	switch b := body.(type) {
	case Admit, Revoke:
		if !m.Counts(author, e.ID()) {
			return nil, reject(ReasonNotAllowed, "%s by %s, which is not an admin", e.Kind, author.Short())
		}
	case Secret:
		target := b.TargetID()
		if !m.IsMember(target) {
			return nil, reject(ReasonWrongTarget, "secret %q for %s, which is not a member", b.Name, target.Short())
		}
		if !m.SecretCounts(target, SecretVersion{ID: e.ID(), Author: author}) {
			return nil, reject(ReasonNotAllowed, "secret %q for %s by %s, which is neither its target nor an admin", b.Name, target.Short(), author.Short())
		}
	}
	return body, nil
}

// DecodeBody decodes the body of e by its kind and checks the invariants
// that tie the body to the envelope.
func DecodeBody(e *Envelope) (any, error) {
	switch e.Kind {
	case KindNode:
		return DecodeNode(e.Body)
	case KindSysinfo:
		return DecodeSysinfo(e.Body)
	case KindAdmit:
		a, err := DecodeAdmit(e.Body)
		if err == nil && bytes.Equal(a.Subject, e.Author) {
			return nil, reject(ReasonNotAllowed, "admit of its own author")
		}
		return a, err
	case KindRevoke:
		r, err := DecodeRevoke(e.Body)
		if err == nil && bytes.Equal(r.Subject, e.Author) {
			return nil, reject(ReasonNotAllowed, "revoke of its own author")
		}
		return r, err
	case KindSecret:
		return DecodeSecret(e.Body)
	case KindReceipt:
		return DecodeReceipt(e.Body)
	case KindHeartbeat:
		return DecodeHeartbeat(e.Body)
	case KindLeaving:
		return DecodeLeaving(e.Body)
	case KindSyncReq:
		return DecodeSyncRequest(e.Body)
	}
	return nil, reject(ReasonUnknownKind, "no decoder for %s", e.Kind)
}

// IsLatestKind reports whether only the latest record (by sequence) of a
// key is kept: node and sysinfo records (one per author) and receipts (one
// per target and name).
func IsLatestKind(k Kind) bool { return k == KindNode || k == KindSysinfo || k == KindReceipt }

// Stored describes the record already kept for a latest-by-sequence key.
type Stored struct {
	Has bool
	Seq uint64
	ID  ID
}

// AcceptLatest decides a latest-by-sequence record against what is
// stored: the same record is a duplicate, a higher sequence replaces it,
// anything else is a stale replay that changes nothing.
func AcceptLatest(e *Envelope, cur Stored) error {
	switch {
	case !cur.Has:
		return nil
	case cur.ID == e.ID():
		return ErrDuplicate
	case e.Seq > cur.Seq:
		return nil
	default:
		return reject(ReasonStale, "%s from %s seq %d, already have seq %d", e.Kind, e.AuthorID().Short(), e.Seq, cur.Seq)
	}
}
