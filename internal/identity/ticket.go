package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// TicketPrefix starts every ticket and invite.
const TicketPrefix = "credmesh1"

// Limits checked before anything is allocated.
const (
	MaxTicketLen   = 4096 // characters of a whole ticket
	MaxTicketAddrs = 16
	maxAddrLen     = 255
	TokenSize      = 16
)

const (
	ticketFormat = 1 // layout version of the binary form

	kindTicket byte = 0
	kindInvite byte = 1
)

// ErrBadTicket is wrapped by every Parse error.
var ErrBadTicket = errors.New("bad ticket")

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Ticket carries what another node needs to dial and verify this one.
// An invite ticket also carries a one-time token and its expiry.
type Ticket struct {
	PublicKey ed25519.PublicKey
	Addrs     []ma.Multiaddr
	// Invite fields: a Token of TokenSize bytes makes the ticket an invite.
	Token   []byte
	Expires time.Time // whole seconds, UTC
}

// NewTicket returns the ticket of id with addrs: the first MaxTicketAddrs
// of them that fit a ticket.
func NewTicket(id *Identity, addrs []ma.Multiaddr) Ticket {
	t := Ticket{PublicKey: id.PublicKey()}
	for _, a := range addrs {
		if len(t.Addrs) < MaxTicketAddrs && len(a.Bytes()) <= maxAddrLen {
			t.Addrs = append(t.Addrs, a)
		}
	}
	return t
}

// IsInvite reports whether t carries an invite token.
func (t Ticket) IsInvite() bool { return len(t.Token) > 0 }

// NodeID returns the node ID the ticket names.
func (t Ticket) NodeID() (peer.ID, error) { return NodeIDFromPublicKey(t.PublicKey) }

// AddrInfo returns the node ID and addresses as libp2p dials them.
func (t Ticket) AddrInfo() (peer.AddrInfo, error) {
	id, err := t.NodeID()
	if err != nil {
		return peer.AddrInfo{}, err
	}
	return peer.AddrInfo{ID: id, Addrs: t.Addrs}, nil
}

// String returns the canonical ticket string. It panics on a ticket that
// breaks the limits Parse enforces (a programming error).
func (t Ticket) String() string {
	raw, err := t.marshal()
	if err != nil {
		panic("identity: " + err.Error())
	}
	return TicketPrefix + b32.EncodeToString(raw)
}

func (t Ticket) marshal() ([]byte, error) {
	if len(t.PublicKey) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("ticket public key is %d bytes", len(t.PublicKey))
	}
	if len(t.Addrs) > MaxTicketAddrs {
		return nil, fmt.Errorf("ticket has %d addresses, at most %d", len(t.Addrs), MaxTicketAddrs)
	}
	kind := kindTicket
	if t.IsInvite() {
		if len(t.Token) != TokenSize {
			return nil, fmt.Errorf("invite token is %d bytes, want %d", len(t.Token), TokenSize)
		}
		kind = kindInvite
	}
	var b bytes.Buffer
	b.WriteByte(ticketFormat)
	b.WriteByte(kind)
	b.Write(t.PublicKey)
	b.Write(binary.AppendUvarint(nil, uint64(len(t.Addrs))))
	for _, a := range t.Addrs {
		ab := a.Bytes()
		if len(ab) > maxAddrLen {
			return nil, fmt.Errorf("ticket address %s is %d bytes, at most %d", a, len(ab), maxAddrLen)
		}
		b.Write(binary.AppendUvarint(nil, uint64(len(ab))))
		b.Write(ab)
	}
	if kind == kindInvite {
		b.Write(t.Token)
		b.Write(binary.BigEndian.AppendUint64(nil, uint64(t.Expires.Unix())))
	}
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:4])
	if b32.EncodedLen(b.Len())+len(TicketPrefix) > MaxTicketLen {
		return nil, fmt.Errorf("ticket would be longer than %d characters", MaxTicketLen)
	}
	return b.Bytes(), nil
}

// ParseTicket parses a ticket or invite string. It accepts exactly the
// strings String produces (surrounding white space aside) and says what is
// wrong with anything else.
func ParseTicket(s string) (Ticket, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxTicketLen {
		return Ticket{}, fmt.Errorf("%w: %d characters, at most %d", ErrBadTicket, len(s), MaxTicketLen)
	}
	body, ok := strings.CutPrefix(s, TicketPrefix)
	if !ok {
		return Ticket{}, fmt.Errorf("%w: does not start with %q", ErrBadTicket, TicketPrefix)
	}
	raw, err := b32.DecodeString(body)
	if err != nil {
		return Ticket{}, fmt.Errorf("%w: not lowercase base32 after the prefix (%v)", ErrBadTicket, err)
	}
	t, err := unmarshalTicket(raw)
	if err != nil {
		return Ticket{}, fmt.Errorf("%w: %v", ErrBadTicket, err)
	}
	// Only the canonical form is a ticket, so that it round-trips exactly.
	if again, err := t.marshal(); err != nil || TicketPrefix+b32.EncodeToString(again) != s {
		return Ticket{}, fmt.Errorf("%w: not in canonical form", ErrBadTicket)
	}
	return t, nil
}

func unmarshalTicket(raw []byte) (Ticket, error) {
	const minLen = 2 + ed25519.PublicKeySize + 1 + 4
	if len(raw) < minLen {
		return Ticket{}, errors.New("too short (truncated?)")
	}
	body, sum := raw[:len(raw)-4], raw[len(raw)-4:]
	want := sha256.Sum256(body)
	if !bytes.Equal(sum, want[:4]) {
		return Ticket{}, errors.New("checksum mismatch (mistyped or truncated?)")
	}
	if body[0] != ticketFormat {
		return Ticket{}, fmt.Errorf("format %d is not supported (this build reads %d)", body[0], ticketFormat)
	}
	kind := body[1]
	if kind != kindTicket && kind != kindInvite {
		return Ticket{}, fmt.Errorf("unknown ticket kind %d", kind)
	}
	r := bytes.NewReader(body[2:])
	var t Ticket
	t.PublicKey = make(ed25519.PublicKey, ed25519.PublicKeySize)
	if _, err := r.Read(t.PublicKey); err != nil {
		return Ticket{}, errors.New("truncated public key")
	}
	if _, err := NodeIDFromPublicKey(t.PublicKey); err != nil {
		return Ticket{}, fmt.Errorf("public key: %v", err)
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return Ticket{}, errors.New("truncated address count")
	}
	if n > MaxTicketAddrs {
		return Ticket{}, fmt.Errorf("%d addresses, at most %d", n, MaxTicketAddrs)
	}
	for i := range n {
		l, err := binary.ReadUvarint(r)
		if err != nil {
			return Ticket{}, fmt.Errorf("address %d: truncated length", i)
		}
		if l > maxAddrLen || l > uint64(r.Len()) {
			return Ticket{}, fmt.Errorf("address %d: length %d is too long", i, l)
		}
		ab := make([]byte, l)
		_, _ = r.Read(ab)
		a, err := ma.NewMultiaddrBytes(ab)
		if err != nil {
			return Ticket{}, fmt.Errorf("address %d: %v", i, err)
		}
		t.Addrs = append(t.Addrs, a)
	}
	if kind == kindInvite {
		if r.Len() < TokenSize+8 {
			return Ticket{}, errors.New("truncated invite token")
		}
		t.Token = make([]byte, TokenSize)
		_, _ = r.Read(t.Token)
		var exp [8]byte
		_, _ = r.Read(exp[:])
		secs := int64(binary.BigEndian.Uint64(exp[:]))
		t.Expires = time.Unix(secs, 0).UTC()
	}
	if r.Len() != 0 {
		return Ticket{}, fmt.Errorf("%d unexpected trailing bytes", r.Len())
	}
	return t, nil
}
