package record

import (
	"crypto/ed25519"
)

// How an admit came about.
const (
	AdmitTicket  = "ticket"  // the author's operator added the subject's ticket
	AdmitInvite  = "invite"  // the subject presented the author's invite
	AdmitApprove = "approve" // the author's operator approved a pending node
)

// Admit is the body of an admit record: the author, a member, vouches for
// the subject. Every member that trusts the author then trusts the
// subject. All admits are kept; a revoke of the subject beats them all.
type Admit struct {
	Subject ed25519.PublicKey
	Source  string   // AdmitTicket, AdmitInvite or AdmitApprove
	Addrs   []string // where the subject can be dialled, from its ticket
}

// SubjectID returns the subject's node ID.
func (a Admit) SubjectID() NodeID { return NodeIDOf(a.Subject) }

// Encode returns the body bytes.
func (a Admit) Encode() []byte {
	var w writer
	w.fixed(a.Subject)
	w.str(a.Source)
	w.uvarint(uint64(len(a.Addrs)))
	for _, s := range a.Addrs {
		w.str(s)
	}
	return w.b
}

// DecodeAdmit decodes and validates an admit body.
func DecodeAdmit(b []byte) (Admit, error) {
	r := reader{b: b}
	var a Admit
	a.Subject = ed25519.PublicKey(r.fixed("subject", ed25519.PublicKeySize))
	a.Source = r.str("source", maxSourceName)
	for range r.count("addrs", MaxAddrs) {
		a.Addrs = append(a.Addrs, r.str("addr", maxAddr))
	}
	if err := r.done(); err != nil {
		return Admit{}, reject(ReasonMalformed, "admit record: %v", err)
	}
	switch a.Source {
	case AdmitTicket, AdmitInvite, AdmitApprove:
	default:
		return Admit{}, reject(ReasonMalformed, "admit record: unknown source %q", a.Source)
	}
	return a, nil
}

// Revoke is the body of a revoke record: the author, a member, withdraws
// all trust in the subject, for good. It beats every admit, past or future.
type Revoke struct {
	Subject ed25519.PublicKey
	Reason  string
}

// SubjectID returns the subject's node ID.
func (r Revoke) SubjectID() NodeID { return NodeIDOf(r.Subject) }

const maxRevokeReason = 512

// Encode returns the body bytes.
func (r Revoke) Encode() []byte {
	var w writer
	w.fixed(r.Subject)
	w.str(r.Reason)
	return w.b
}

// DecodeRevoke decodes and validates a revoke body.
func DecodeRevoke(b []byte) (Revoke, error) {
	r := reader{b: b}
	var v Revoke
	v.Subject = ed25519.PublicKey(r.fixed("subject", ed25519.PublicKeySize))
	v.Reason = r.str("reason", maxRevokeReason)
	if err := r.done(); err != nil {
		return Revoke{}, reject(ReasonMalformed, "revoke record: %v", err)
	}
	return v, nil
}
