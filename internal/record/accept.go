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

// Check applies every rule that needs no stored state to a verified
// envelope received from the network: the clock-skew bound, that the
// author is a member and not revoked, and that the body decodes and is
// well-formed for its kind. It returns the decoded body.
func Check(e *Envelope, m *Members, now time.Time) (any, error) {
	if err := CheckTime(e, now); err != nil {
		return nil, err
	}
	if m.IsRevoked(e.AuthorID()) {
		return nil, reject(ReasonRevoked, "%s from %s, which is revoked", e.Kind, e.AuthorID().Short())
	}
	if !m.IsMember(e.AuthorID()) {
		return nil, reject(ReasonNotMember, "%s from %s, which is not a member", e.Kind, e.AuthorID().Short())
	}
	body, err := DecodeBody(e)
	if err != nil {
		return nil, err
	}
	if s, ok := body.(Secret); ok && !m.IsMember(s.TargetID()) {
		return nil, reject(ReasonWrongTarget, "secret %q for %s, which is not a member", s.Name, s.TargetID().Short())
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
		return DecodeRevoke(e.Body)
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
