package hostkey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Limits systemd applies (src/shared/creds-util.h, systemd 252 and later).
const (
	// MaxPlaintext is the most systemd-creds encrypts
	// (CREDENTIAL_SIZE_MAX).
	MaxPlaintext = 1 << 20
	// MaxCredential is the largest credential file systemd reads
	// (CREDENTIAL_ENCRYPTED_SIZE_MAX, counted on the Base64 text).
	MaxCredential = 1<<20 + 128<<10
	// MaxName is the longest credential name (CREDENTIAL_NAME_MAX).
	MaxName = 255
)

// The layout: sizes systemd writes for AES-256-GCM (the block size is
// what OpenSSL reports for GCM) and where things sit.
const (
	keySize     = 32
	blockSize   = 1
	ivSize      = 12
	tagSize     = 16
	headerFixed = 16 + 4*4                        // key type ID, four sizes
	headerSize  = (headerFixed + ivSize + 7) &^ 7 // then the IV, padded to 8
	metaFixed   = 8 + 8 + 4                       // timestamp, not-after, name length
	lineWidth   = 79                              // systemd-creds wraps its Base64 here
	infinity    = math.MaxUint64                  // "no timestamp" (USEC_INFINITY)
)

// hostKeyID is the key type of a credential encrypted with the host key
// alone (CRED_AES256_GCM_BY_HOST), the first 16 bytes of the file.
var hostKeyID = [16]byte{0x5a, 0x1c, 0x6a, 0x86, 0xdf, 0x9d, 0x40, 0x96, 0xb1, 0xd5, 0xa6, 0x5e, 0x08, 0x62, 0xf1, 0x9a}

// Errors callers and tests branch on. Every refusal of [Decrypt] wraps
// one of them.
var (
	// ErrMalformed: not a well-formed credential (Base64, sizes, header).
	ErrMalformed = errors.New("malformed credential")
	// ErrNotHostKey: a credential of another key type (TPM2, null key,
	// user-scoped), which only systemd-creds can open.
	ErrNotHostKey = errors.New("not a host-key credential")
	// ErrAuth: the tag does not match: another host key, or a changed byte.
	ErrAuth = errors.New("credential does not authenticate with this host key (another key, or modified)")
	// ErrWrongName: the credential was made for another name.
	ErrWrongName = errors.New("credential name does not match")
	// ErrExpired: the credential's not-after time has passed.
	ErrExpired = errors.New("credential expired")
)

// Encrypt returns plaintext as a host-key credential named name, what
// `systemd-creds encrypt --with-key=host --name=NAME` writes: Base64
// wrapped at 79 columns with a final newline. now is the timestamp it
// carries and notAfter the time after which systemd refuses it; a zero
// time stores "none" (systemd-creds stores the current time and no
// not-after). The IV is random.
func Encrypt(key HostKey, name string, plaintext []byte, now, notAfter time.Time) ([]byte, error) {
	var iv [ivSize]byte
	_, _ = rand.Read(iv[:]) // crypto/rand.Read never fails (it aborts the program instead)
	raw, err := seal(key, name, plaintext, now, notAfter, iv)
	if err != nil {
		return nil, err
	}
	return wrap(raw), nil
}

// seal builds the binary credential with the given IV.
func seal(key HostKey, name string, plaintext []byte, now, notAfter time.Time, iv [ivSize]byte) ([]byte, error) {
	if !key.ok {
		return nil, errors.New("encrypt: no host key loaded")
	}
	if err := ValidName(name); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if len(plaintext) > MaxPlaintext {
		return nil, fmt.Errorf("encrypt: plaintext is %d bytes; systemd-creds encrypts at most %d", len(plaintext), MaxPlaintext)
	}
	ts, err := usec(now)
	if err != nil {
		return nil, fmt.Errorf("encrypt: timestamp: %w", err)
	}
	na, err := usec(notAfter)
	if err != nil {
		return nil, fmt.Errorf("encrypt: not-after: %w", err)
	}
	if ts != infinity && na != infinity && na <= ts {
		return nil, fmt.Errorf("encrypt: not-after %v is not after the timestamp %v", notAfter, now)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	metaLen := align8(metaFixed + len(name))
	bodyLen := metaLen + len(plaintext)
	out := make([]byte, headerSize+bodyLen, headerSize+bodyLen+tagSize)
	copy(out, hostKeyID[:])
	for i, v := range []uint32{keySize, blockSize, ivSize, tagSize} {
		binary.LittleEndian.PutUint32(out[16+4*i:], v)
	}
	copy(out[headerFixed:], iv[:])
	body := out[headerSize:]
	binary.LittleEndian.PutUint64(body[0:], ts)
	binary.LittleEndian.PutUint64(body[8:], na)
	binary.LittleEndian.PutUint32(body[16:], uint32(len(name)))
	copy(body[metaFixed:], name)
	copy(body[metaLen:], plaintext)
	// Encrypt the body in place, authenticating the whole header (padding
	// included) as additional data; the tag is appended.
	return aead.Seal(out[:headerSize], iv[:], body, out[:headerSize]), nil
}

// wrap Base64-encodes raw as systemd-creds prints it: lines of 79
// characters, each ending in a newline. One allocation: the encoding is
// written at the end of the buffer and moved forward line by line.
func wrap(raw []byte) []byte {
	n := base64.StdEncoding.EncodedLen(len(raw))
	lines := (n + lineWidth - 1) / lineWidth
	out := make([]byte, n+lines)
	base64.StdEncoding.Encode(out[lines:], raw)
	for i := range lines {
		src := lines + i*lineWidth
		l := min(lineWidth, n-i*lineWidth)
		copy(out[i*(lineWidth+1):], out[src:src+l])
		out[i*(lineWidth+1)+l] = '\n'
	}
	return out
}

func newAEAD(key HostKey) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key.key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block) // 12-byte nonce, 16-byte tag
}

// usec is t in microseconds since the epoch; the zero time is "none".
func usec(t time.Time) (uint64, error) {
	if t.IsZero() {
		return infinity, nil
	}
	if t.Before(time.Unix(0, 0)) || t.Year() > 9999 {
		return 0, fmt.Errorf("%v is outside 1970 to 9999", t)
	}
	return uint64(t.UnixMicro()), nil
}

// fromUsec turns a stored timestamp back into a time (zero for none).
func fromUsec(u uint64) time.Time {
	if u == infinity || u > math.MaxInt64 {
		return time.Time{}
	}
	return time.UnixMicro(int64(u)).UTC()
}

func align8(n int) int { return (n + 7) &^ 7 }

// ValidName reports whether systemd accepts name as a credential name:
// 1 to 255 printable ASCII characters without '/' or ':', not "." or
// ".." (credential_name_valid: a valid file name and fd name).
func ValidName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("credential name %q is not valid", name)
	case len(name) > MaxName:
		return fmt.Errorf("credential name is %d bytes; systemd allows at most %d", len(name), MaxName)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < ' ' || c >= 0x7f || c == '/' || c == ':' {
			return fmt.Errorf("credential name %q holds %q, which systemd does not allow", name, c)
		}
	}
	return nil
}
