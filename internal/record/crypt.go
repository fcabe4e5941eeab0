package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"

	"filippo.io/age"
)

// ageIntro starts every age file.
const ageIntro = "age-encryption.org/v1\n"

// minPadded is the smallest padded size: every secret up to 252 bytes looks
// the same.
const minPadded = 256

// PaddedSize is the bucket a plaintext of n bytes is padded to (with its
// 4-byte length prefix): Padmé (Nikitin et al., "Reducing Metadata Leakage
// from Encrypted Files and Communication with PURBs"), at least 256 bytes.
// It leaks O(log log n) bits of the length and costs at most 12%.
func PaddedSize(n int) int {
	l := n + 4
	if l <= minPadded {
		return minPadded
	}
	e := bits.Len(uint(l)) - 1   // floor(log2 l)
	s := bits.Len(uint(e))       // floor(log2 e) + 1
	mask := (1 << uint(e-s)) - 1 // low bits that are rounded up
	return (l + mask) &^ mask
}

// pad lays out plaintext as: 4-byte big-endian length, the plaintext, zero
// bytes up to PaddedSize. Plain `age -d` yields this padded form; see
// docs/secrets.md for the one-line unpad.
func pad(plaintext []byte) []byte {
	out := make([]byte, PaddedSize(len(plaintext)))
	binary.BigEndian.PutUint32(out, uint32(len(plaintext)))
	copy(out[4:], plaintext)
	return out
}

func unpad(p []byte) ([]byte, error) {
	if len(p) < 4 {
		return nil, errors.New("padded secret too short")
	}
	n := int(binary.BigEndian.Uint32(p))
	if n > len(p)-4 || n > MaxPlaintext || len(p) != PaddedSize(n) {
		return nil, errors.New("padded secret has a bad length")
	}
	for _, b := range p[4+n:] {
		if b != 0 {
			return nil, errors.New("padded secret has non-zero padding")
		}
	}
	return p[4 : 4+n], nil
}

// ageSize is the size of the age file of a payload of n bytes to one
// X25519 recipient, plus room for the header's variable parts.
func ageSize(n int) int {
	const chunk, tag, header = 64 << 10, 16, 512
	chunks := max(1, (n+chunk-1)/chunk)
	return header + 16 + n + chunks*tag
}

// ErrTooLarge is returned for a plaintext over MaxPlaintext.
var ErrTooLarge = fmt.Errorf("secret is larger than %d bytes, the most a systemd credential can hold here", MaxPlaintext)

// Encrypt pads plaintext and encrypts it to an age recipient ("age1...").
func Encrypt(recipient string, plaintext []byte) ([]byte, error) {
	if len(plaintext) > MaxPlaintext {
		return nil, ErrTooLarge
	}
	r, err := age.ParseX25519Recipient(recipient)
	if err != nil {
		return nil, fmt.Errorf("age recipient: %w", err)
	}
	var out bytes.Buffer
	w, err := age.Encrypt(&out, r)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(pad(plaintext)); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Decrypt decrypts a secret's ciphertext with an age identity and removes
// the padding. Sizes are capped before anything is read.
func Decrypt(id age.Identity, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) > MaxCiphertext {
		return nil, fmt.Errorf("ciphertext of %d bytes, at most %d", len(ciphertext), MaxCiphertext)
	}
	r, err := age.Decrypt(bytes.NewReader(ciphertext), id)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	limit := PaddedSize(MaxPlaintext)
	p, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	if len(p) > limit {
		return nil, errors.New("decrypt: padded secret too large")
	}
	return unpad(p)
}
