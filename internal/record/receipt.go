package record

import (
	"fmt"
	"time"
)

// Receipt states.
type ReceiptState uint8

const (
	ReceiptWritten ReceiptState = 1 // the credential file holds the version
	ReceiptRemoved ReceiptState = 2 // the version is a tombstone; the file is gone
	ReceiptFailed  ReceiptState = 3 // writing or removing failed; Error says why
)

func (s ReceiptState) String() string {
	switch s {
	case ReceiptWritten:
		return "written"
	case ReceiptRemoved:
		return "removed"
	case ReceiptFailed:
		return "failed"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// MaxReceiptError caps the error text a receipt carries.
const MaxReceiptError = 512

// Receipt is the body of a receipt record: a target saying what it did
// with a version of one of its secrets. Only the target signs receipts
// (the author is the target); the latest by sequence per (target, name)
// counts.
type Receipt struct {
	Name    string
	Version uint64
	Secret  ID // the secret version's record ID
	State   ReceiptState
	Error   string
	At      time.Time
}

// Key returns the receipt's key: its author (the target) and the name.
func (r Receipt) Key(author NodeID) Key { return Key{Name: r.Name, Target: author} }

// Encode returns the body bytes.
func (r Receipt) Encode() []byte {
	var w writer
	w.str(r.Name)
	w.uvarint(r.Version)
	w.fixed(r.Secret[:])
	w.u8(uint8(r.State))
	w.str(r.Error)
	w.uvarint(uint64(max(r.At.UnixMilli(), 0)))
	return w.b
}

// DecodeReceipt decodes and validates a receipt body.
func DecodeReceipt(b []byte) (Receipt, error) {
	rd := reader{b: b}
	var r Receipt
	r.Name = rd.str("name", maxNameLen+1)
	r.Version = rd.uvarint("version")
	copy(r.Secret[:], rd.fixed("secret", len(r.Secret)))
	r.State = ReceiptState(rd.u8("state"))
	r.Error = rd.str("error", MaxReceiptError)
	r.At = rd.millis("at")
	if err := rd.done(); err != nil {
		return Receipt{}, reject(ReasonMalformed, "receipt: %v", err)
	}
	if err := ValidName(r.Name); err != nil {
		return Receipt{}, reject(ReasonBadName, "receipt: %v", err)
	}
	if r.State < ReceiptWritten || r.State > ReceiptFailed {
		return Receipt{}, reject(ReasonMalformed, "receipt: unknown state %d", r.State)
	}
	if r.Version == 0 || r.Version > MaxVersion {
		return Receipt{}, reject(ReasonMalformed, "receipt: version %d out of range", r.Version)
	}
	return r, nil
}
