package hostkey

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// otherKeyTypes names the key types systemd writes that are not the host
// key alone, for a clear refusal (creds-util.h, 252 to today).
var otherKeyTypes = map[string]string{
	"0c7cc07b117645919c4b0bea08bc20fe": "TPM2",
	"faf7eb9341e3412ca1a436f95a29362f": "TPM2 with a signed PCR policy",
	"93a894094874449090caf2fc93cab553": "host and TPM2",
	"af4950a849134eb1a73846304ff30c05": "host and TPM2 with a signed PCR policy",
	"058469daf6f54324800549da0f8ea2fb": "null key (TPM2 absent)",
	"55b9ed1d38594d43a8319d2ebb332ac6": "user-scoped host",
	"ef4ac13679a9480ea7db68897f9f165d": "user-scoped host and TPM2",
	"adbc4ca3efb64201ba881b6f2e4095ea": "user-scoped host and TPM2 with a signed PCR policy",
}

// credential is a decrypted credential's content.
type credential struct {
	iv        [ivSize]byte
	timestamp time.Time // zero: none
	notAfter  time.Time // zero: none
	name      string    // empty: none embedded
	payload   []byte
}

// Decrypt opens a host-key credential (Base64 text, as Encrypt or
// systemd-creds wrote it) and returns its payload, with the checks
// `systemd-creds decrypt --name=NAME` applies: the key type, the sizes in
// the header, the tag, the metadata, the embedded name (when the
// credential embeds one; name "" accepts any, like --name=), and the
// not-after time against now (the zero time skips it). The size is
// capped before anything is allocated.
func Decrypt(key HostKey, name string, cred []byte, now time.Time) ([]byte, error) {
	c, err := open(key, cred)
	if err != nil {
		return nil, err
	}
	if name != "" && c.name != "" && c.name != name {
		return nil, fmt.Errorf("decrypt: %w: it is %q, not %q", ErrWrongName, c.name, name)
	}
	if !now.IsZero() && !c.notAfter.IsZero() && c.notAfter.Before(now) {
		return nil, fmt.Errorf("decrypt: %w at %v", ErrExpired, c.notAfter)
	}
	return c.payload, nil
}

// open decodes, authenticates and parses cred.
func open(key HostKey, cred []byte) (credential, error) {
	var c credential
	if !key.ok {
		return c, fmt.Errorf("decrypt: no host key loaded")
	}
	if len(cred) > MaxCredential {
		return c, fmt.Errorf("decrypt: %w: %d bytes; systemd reads at most %d", ErrMalformed, len(cred), MaxCredential)
	}
	raw, err := unwrap(cred)
	if err != nil {
		return c, fmt.Errorf("decrypt: %w: %v", ErrMalformed, err)
	}
	if len(raw) < 16 {
		return c, fmt.Errorf("decrypt: %w: %d bytes, too short for a key type", ErrMalformed, len(raw))
	}
	if id := raw[:16]; !bytes.Equal(id, hostKeyID[:]) {
		if what, ok := otherKeyTypes[hex.EncodeToString(id)]; ok {
			return c, fmt.Errorf("decrypt: %w: key type %s; only systemd-creds can open it", ErrNotHostKey, what)
		}
		return c, fmt.Errorf("decrypt: %w: unknown key type %x", ErrMalformed, id)
	}
	if len(raw) < headerFixed {
		return c, fmt.Errorf("decrypt: %w: %d bytes, too short for the header", ErrMalformed, len(raw))
	}
	for i, want := range []uint32{keySize, blockSize, ivSize, tagSize} {
		if got := binary.LittleEndian.Uint32(raw[16+4*i:]); got != want {
			what := [...]string{"key", "block", "IV", "tag"}[i]
			return c, fmt.Errorf("decrypt: %w: %s size %d in the header, want %d", ErrMalformed, what, got, want)
		}
	}
	if min := headerSize + align8(metaFixed) + tagSize; len(raw) < min {
		return c, fmt.Errorf("decrypt: %w: %d bytes, less than the %d of an empty credential", ErrMalformed, len(raw), min)
	}
	copy(c.iv[:], raw[headerFixed:])
	aead, err := newAEAD(key)
	if err != nil {
		return c, err
	}
	plain, err := aead.Open(raw[headerSize:headerSize], c.iv[:], raw[headerSize:], raw[:headerSize])
	if err != nil {
		return c, fmt.Errorf("decrypt: %w", ErrAuth)
	}
	return c, parseBody(&c, plain)
}

// parseBody reads the decrypted metadata header and the payload.
func parseBody(c *credential, plain []byte) error {
	if len(plain) < align8(metaFixed) {
		return fmt.Errorf("decrypt: %w: metadata header incomplete", ErrMalformed)
	}
	ts := binary.LittleEndian.Uint64(plain[0:])
	na := binary.LittleEndian.Uint64(plain[8:])
	if ts != infinity && na != infinity && ts >= na {
		return fmt.Errorf("decrypt: %w: timestamps out of order", ErrMalformed)
	}
	n := binary.LittleEndian.Uint32(plain[16:])
	if n > MaxName {
		return fmt.Errorf("decrypt: %w: embedded name of %d bytes", ErrMalformed, n)
	}
	hs := align8(metaFixed + int(n))
	if len(plain) < hs {
		return fmt.Errorf("decrypt: %w: metadata header incomplete", ErrMalformed)
	}
	if n > 0 {
		c.name = string(plain[metaFixed : metaFixed+int(n)])
		if err := ValidName(c.name); err != nil {
			return fmt.Errorf("decrypt: %w: embedded %v", ErrMalformed, err)
		}
	}
	c.timestamp, c.notAfter = fromUsec(ts), fromUsec(na)
	c.payload = plain[hs:]
	return nil
}

// unwrap decodes Base64, skipping the whitespace systemd skips (space,
// tab, newline, carriage return).
func unwrap(text []byte) ([]byte, error) {
	clean := make([]byte, 0, len(text))
	for _, b := range text {
		switch b {
		case ' ', '\t', '\n', '\r':
		default:
			clean = append(clean, b)
		}
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Decode(raw, clean)
	if err != nil {
		return nil, err
	}
	return raw[:n], nil
}
