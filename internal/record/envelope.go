package record

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Kind says what an envelope carries. Kinds below 64 are records
// (replicated, stored, reconciled); kinds from 64 up are ephemeral.
type Kind uint8

const (
	KindNode    Kind = 1
	KindSysinfo Kind = 2
	KindAdmit   Kind = 3
	KindRevoke  Kind = 4
	KindSecret  Kind = 5
	KindReceipt Kind = 6

	KindHeartbeat Kind = 64
	KindLeaving   Kind = 65
	KindSyncReq   Kind = 66
)

var kindNames = map[Kind]string{
	KindNode: "node", KindSysinfo: "sysinfo", KindAdmit: "admit", KindRevoke: "revoke",
	KindSecret: "secret", KindReceipt: "receipt",
	KindHeartbeat: "heartbeat", KindLeaving: "leaving", KindSyncReq: "syncreq",
}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// IsRecord reports whether k is a replicated record kind.
func (k Kind) IsRecord() bool { return k < 64 }

// known reports whether this build understands k.
func (k Kind) known() bool { _, ok := kindNames[k]; return ok }

// Envelope format and limits.
const (
	// FormatV1 is the only envelope format this build reads and writes.
	FormatV1 = 1
	// MaxEnvelope caps a whole envelope: a 1 MiB secret, padded and
	// age-encrypted, plus headers. It is checked before anything else.
	MaxEnvelope = 1<<20 + 64<<10
	// MaxSkew bounds how far in the future an envelope's time may be, and
	// how old an ephemeral message may be.
	MaxSkew = 5 * time.Minute

	sigDomain    = "credmesh/envelope/v1\x00"
	headerMinLen = 2 + ed25519.PublicKeySize + 1 + 1 + 1
)

// maxBody caps each kind's body.
var maxBody = map[Kind]int{
	KindNode:      8 << 10,
	KindSysinfo:   64 << 10,
	KindAdmit:     4<<10 + MaxPin*32,
	KindRevoke:    4<<10 + MaxPin*32,
	KindSecret:    MaxEnvelope - 1024,
	KindReceipt:   4 << 10,
	KindHeartbeat: 256,
	KindLeaving:   64,
	KindSyncReq:   256,
}

// ID identifies a record: the SHA-256 of its exact signed bytes.
type ID [32]byte

func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short is a prefix for tables and logs.
func (id ID) Short() string { return hex.EncodeToString(id[:6]) }

// ParseID parses the hex form of an ID.
func ParseID(s string) (ID, error) {
	var id ID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, errors.New("not a record ID (64 hex digits)")
	}
	copy(id[:], b)
	return id, nil
}

// Envelope is a verified, signed message. The only ways to get one are
// Seal (sign) and Open (verify); its fields are read-only.
type Envelope struct {
	Kind   Kind
	Author ed25519.PublicKey
	// Seq is the author's sequence: it rises with every envelope the author
	// signs (derived from the clock, so it keeps rising after a wipe).
	Seq  uint64
	Time time.Time // when the author signed it (millisecond precision)
	Body []byte    // the kind's encoding; points into Raw

	raw    []byte
	id     ID
	author NodeID
}

// Raw returns the exact signed bytes (do not modify them).
func (e *Envelope) Raw() []byte { return e.raw }

// ID returns the record ID, the SHA-256 of Raw.
func (e *Envelope) ID() ID { return e.id }

// AuthorID returns the author's node ID.
func (e *Envelope) AuthorID() NodeID { return e.author }

// Seal signs an envelope of kind with body as the holder of key.
func Seal(key ed25519.PrivateKey, kind Kind, seq uint64, at time.Time, body []byte) (*Envelope, error) {
	if !kind.known() {
		return nil, fmt.Errorf("seal: unknown kind %d", kind)
	}
	if len(body) > maxBody[kind] {
		return nil, fmt.Errorf("seal %s: body is %d bytes, at most %d", kind, len(body), maxBody[kind])
	}
	ms := at.UnixMilli()
	if ms <= 0 {
		return nil, errors.New("seal: time before 1970")
	}
	w := writer{b: make([]byte, 0, headerMinLen+len(body)+24+ed25519.SignatureSize)}
	w.u8(FormatV1)
	w.u8(uint8(kind))
	w.fixed(key.Public().(ed25519.PublicKey))
	w.uvarint(seq)
	w.uvarint(uint64(ms))
	w.bytes(body)
	sig := ed25519.Sign(key, signedBytes(w.b))
	w.fixed(sig)
	if len(w.b) > MaxEnvelope {
		return nil, fmt.Errorf("seal %s: envelope is %d bytes, at most %d", kind, len(w.b), MaxEnvelope)
	}
	return Open(w.b)
}

func signedBytes(b []byte) []byte {
	msg := make([]byte, 0, len(sigDomain)+len(b))
	return append(append(msg, sigDomain...), b...)
}

// Reasons an envelope or record is refused. Every rejection carries one,
// for counting and auditing.
type Reason string

const (
	ReasonOversized   Reason = "oversized"
	ReasonMalformed   Reason = "malformed"
	ReasonBadVersion  Reason = "unsupported_version"
	ReasonUnknownKind Reason = "unknown_kind"
	ReasonBadSig      Reason = "bad_signature"
	ReasonSkew        Reason = "clock_skew"
	ReasonStale       Reason = "stale"
	ReasonNotMember   Reason = "not_member"
	ReasonRevoked     Reason = "revoked"
	ReasonNotAllowed  Reason = "not_allowed"
	ReasonBadName     Reason = "bad_name"
	ReasonWrongTarget Reason = "wrong_target"
	ReasonConflict    Reason = "conflict"
	ReasonDuplicate   Reason = "duplicate"
)

// RejectError is an envelope or record refused for Reason.
type RejectError struct {
	Reason Reason
	Detail string
}

func (e *RejectError) Error() string { return string(e.Reason) + ": " + e.Detail }

func reject(r Reason, format string, args ...any) error {
	return &RejectError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the reason of a RejectError, or "malformed".
func ReasonOf(err error) Reason {
	var re *RejectError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ReasonMalformed
}

// Open parses raw and verifies the author's signature over the exact bytes.
// The size cap is checked before anything else; the returned envelope
// keeps raw (the caller must not modify it afterwards).
func Open(raw []byte) (*Envelope, error) { return open(raw, true) }

// OpenStored parses bytes this node verified when it stored them, without
// checking the signature again (a verification costs more than the rest
// of reading a record). Never use it on bytes from anywhere else.
func OpenStored(raw []byte) (*Envelope, error) { return open(raw, false) }

func open(raw []byte, verify bool) (*Envelope, error) {
	if len(raw) > MaxEnvelope {
		return nil, reject(ReasonOversized, "envelope is %d bytes, at most %d", len(raw), MaxEnvelope)
	}
	if len(raw) < headerMinLen+ed25519.SignatureSize {
		return nil, reject(ReasonMalformed, "envelope is %d bytes, too short", len(raw))
	}
	if raw[0] != FormatV1 {
		return nil, reject(ReasonBadVersion, "envelope format %d, this build reads %d", raw[0], FormatV1)
	}
	kind := Kind(raw[1])
	if !kind.known() {
		return nil, reject(ReasonUnknownKind, "kind %d", raw[1])
	}
	signed, sig := raw[:len(raw)-ed25519.SignatureSize], raw[len(raw)-ed25519.SignatureSize:]
	r := reader{b: signed[2:]}
	author := r.fixed("author", ed25519.PublicKeySize)
	seq := r.uvarint("seq")
	ms := r.uvarint("time")
	body := r.bytes("body", maxBody[kind])
	if err := r.done(); err != nil {
		return nil, reject(ReasonMalformed, "%v", err)
	}
	if ms == 0 || ms > maxMillis {
		return nil, reject(ReasonMalformed, "time %d out of range", ms)
	}
	if verify && !ed25519.Verify(ed25519.PublicKey(author), signedBytes(signed), sig) {
		return nil, reject(ReasonBadSig, "signature does not verify for %s", NodeIDOf(author))
	}
	return &Envelope{
		Kind:   kind,
		Author: ed25519.PublicKey(author),
		Seq:    seq,
		Time:   time.UnixMilli(int64(ms)),
		Body:   body,
		raw:    raw,
		id:     sha256.Sum256(raw),
		author: NodeIDOf(author),
	}, nil
}

// CheckTime applies the clock-skew bound: no envelope may be from further
// than MaxSkew in the future; an ephemeral message may not be older than
// MaxSkew either (records may be old: anti-entropy delivers history).
func CheckTime(e *Envelope, now time.Time) error {
	if e.Time.After(now.Add(MaxSkew)) {
		return reject(ReasonSkew, "%s from %s is dated %s, more than %s ahead", e.Kind, e.author.Short(), e.Time.UTC().Format(time.RFC3339), MaxSkew)
	}
	if !e.Kind.IsRecord() && e.Time.Before(now.Add(-MaxSkew)) {
		return reject(ReasonSkew, "%s from %s is dated %s, more than %s old", e.Kind, e.author.Short(), e.Time.UTC().Format(time.RFC3339), MaxSkew)
	}
	return nil
}

// NextSeq returns the sequence for the next envelope an author signs:
// above last, and at least the clock in milliseconds, so sequences keep
// rising even when last was lost with a wiped database.
func NextSeq(last uint64, now time.Time) uint64 {
	ms := uint64(max(now.UnixMilli(), 0))
	return max(last+1, ms)
}
