package record

import (
	"bytes"
	"crypto/ed25519"
	"slices"
)

// How an admit came about.
const (
	AdmitTicket  = "ticket"  // the author's operator added the subject's ticket
	AdmitInvite  = "invite"  // the subject presented the author's invite
	AdmitApprove = "approve" // the author's operator approved a pending node
	AdmitRole    = "role"    // the author promoted or demoted a member
)

// MaxPin bounds the record IDs a revoke or a demotion pins.
const MaxPin = 16384

// Admit is the body of an admit record: the author, an admin, vouches for
// the subject with a role. Every member that trusts the author then
// trusts the subject. Of the admits of one subject that count, the latest
// (by signed time, then record ID) gives its role, so promote and demote
// are admits too.
//
// Pin, on an admit that makes an admin a plain node (a demotion), lists
// the subject's records that still count: the admits, revokes and secret
// versions for other targets that counted at the author when it signed.
// Nothing else the subject signed as an admin counts while it is a node.
type Admit struct {
	Subject ed25519.PublicKey
	Source  string   // AdmitTicket, AdmitInvite, AdmitApprove or AdmitRole
	Addrs   []string // where the subject can be dialled, from its ticket
	Role    Role
	Pin     []ID // sorted, unique
	// Legacy is set on admits decoded from the format before roles: they
	// carry no role and count as admin admits (the flat model they were
	// written under).
	Legacy bool
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
	if !a.Legacy {
		w.u8(uint8(a.Role))
		writePin(&w, a.Pin)
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
	if r.err == nil && len(r.b) == 0 {
		a.Role, a.Legacy = RoleAdmin, true
	} else {
		a.Role = Role(r.u8("role"))
		a.Pin = readPin(&r)
	}
	if err := r.done(); err != nil {
		return Admit{}, reject(ReasonMalformed, "admit record: %v", err)
	}
	switch a.Source {
	case AdmitTicket, AdmitInvite, AdmitApprove, AdmitRole:
	default:
		return Admit{}, reject(ReasonMalformed, "admit record: unknown source %q", a.Source)
	}
	if !a.Role.valid() {
		return Admit{}, reject(ReasonMalformed, "admit record: unknown role %d", a.Role)
	}
	return a, nil
}

// Revoke is the body of a revoke record: the author, an admin, withdraws
// all trust in the subject, for good. It beats every admit, past or
// future, and voids every admit the subject signed.
//
// Pin lists the subject's records that still count: the revokes and the
// secret versions for other targets that counted at the author when it
// signed. Nothing else the subject signed counts anywhere, whenever it
// arrives, so what a revoked node signs after its revocation never counts.
type Revoke struct {
	Subject ed25519.PublicKey
	Reason  string
	Pin     []ID // sorted, unique
	// Legacy is set on revokes decoded from the format before pins: they
	// pin nothing.
	Legacy bool
}

// SubjectID returns the subject's node ID.
func (r Revoke) SubjectID() NodeID { return NodeIDOf(r.Subject) }

// MaxRevokeReason caps a revoke's reason, in bytes.
const MaxRevokeReason = 512

// Encode returns the body bytes.
func (r Revoke) Encode() []byte {
	var w writer
	w.fixed(r.Subject)
	w.str(r.Reason)
	if !r.Legacy {
		writePin(&w, r.Pin)
	}
	return w.b
}

// DecodeRevoke decodes and validates a revoke body. A revoke from before
// pins (no pin field) pins nothing.
func DecodeRevoke(b []byte) (Revoke, error) {
	r := reader{b: b}
	var v Revoke
	v.Subject = ed25519.PublicKey(r.fixed("subject", ed25519.PublicKeySize))
	v.Reason = r.str("reason", MaxRevokeReason)
	if r.err == nil && len(r.b) == 0 {
		v.Legacy = true
	} else {
		v.Pin = readPin(&r)
	}
	if err := r.done(); err != nil {
		return Revoke{}, reject(ReasonMalformed, "revoke record: %v", err)
	}
	return v, nil
}

func writePin(w *writer, pin []ID) {
	w.uvarint(uint64(len(pin)))
	for _, id := range pin {
		w.fixed(id[:])
	}
}

// readPin reads a pin: at most MaxPin IDs in strictly increasing order
// (one encoding per set).
func readPin(r *reader) []ID {
	n := r.count("pin", MaxPin)
	if r.err != nil || n == 0 {
		return nil
	}
	if len(r.b) < n*len(ID{}) {
		r.fail(errTruncated)
		return nil
	}
	pin := make([]ID, n)
	for i := range pin {
		copy(pin[i][:], r.fixed("pin", len(ID{})))
		if i > 0 && bytes.Compare(pin[i-1][:], pin[i][:]) >= 0 {
			r.fail(errPinOrder)
			return nil
		}
	}
	return pin
}

// SortPin sorts ids and drops duplicates, as a pin must be.
func SortPin(ids []ID) []ID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(out)
}
