package record

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Limits of a secret.
const (
	// MaxPlaintext is the largest secret. systemd 252 (the oldest we
	// support) refuses to decrypt a credential file over 1,179,648 bytes;
	// measured with `systemd-creds encrypt --with-key=host` and a 128-byte
	// name, the largest plaintext it still decrypts is 873,459 bytes. The
	// limit keeps 73 KB of margin for TPM2 and user-scope headers
	// (docs/credentials.md#size-limit).
	MaxPlaintext = 800_000
	// MaxVersion bounds version numbers (a version "far in the future" is
	// malformed). 2^53 keeps every version exact in JSON.
	MaxVersion    = 1 << 53
	maxNameLen    = 128
	MaxRestart    = 32
	maxUnitLen    = 256
	GroupSize     = 16
	minCiphertext = 64
)

// MaxCiphertext is the largest age ciphertext of a padded MaxPlaintext.
var MaxCiphertext = ageSize(PaddedSize(MaxPlaintext))

// Secret is the body of a secret record: one version of the secret Name
// for the node Target, age-encrypted to Target's recipient. A tombstone
// (a delete) has no ciphertext.
type Secret struct {
	Name       string
	Target     ed25519.PublicKey
	Version    uint64
	CreatedAt  time.Time
	Ciphertext []byte   // age ciphertext of the padded plaintext
	Restart    []string // units to try-restart after the credential changes
	Group      []byte   // share group: copies of one secret share it
	Tombstone  bool
}

// TargetID returns the target's node ID.
func (s Secret) TargetID() NodeID { return NodeIDOf(s.Target) }

// Key is what versions of one secret share: the name and the target.
type Key struct {
	Name   string
	Target NodeID
}

// Key returns the secret's key.
func (s Secret) Key() Key { return Key{s.Name, s.TargetID()} }

// String is the key's form in the records table: "target/name".
func (k Key) String() string { return string(k.Target) + "/" + k.Name }

// Encode returns the body bytes.
func (s Secret) Encode() []byte {
	var w writer
	w.str(s.Name)
	w.fixed(s.Target)
	w.uvarint(s.Version)
	w.uvarint(uint64(max(s.CreatedAt.UnixMilli(), 0)))
	w.bytes(s.Ciphertext)
	w.uvarint(uint64(len(s.Restart)))
	for _, u := range s.Restart {
		w.str(u)
	}
	w.fixed(s.Group)
	w.boolean(s.Tombstone)
	return w.b
}

// DecodeSecret decodes and validates a secret body.
func DecodeSecret(b []byte) (Secret, error) {
	r := reader{b: b}
	var s Secret
	// The name is read as bytes and judged by ValidName alone, so that any
	// unsafe name (NUL, "/", "..", non-ASCII) is refused as a bad name.
	s.Name = string(r.bytes("name", maxNameLen+1))
	s.Target = ed25519.PublicKey(r.fixed("target", ed25519.PublicKeySize))
	s.Version = r.uvarint("version")
	s.CreatedAt = r.millis("created")
	s.Ciphertext = r.bytes("ciphertext", MaxCiphertext)
	for range r.count("restart units", MaxRestart) {
		s.Restart = append(s.Restart, r.str("restart unit", maxUnitLen))
	}
	s.Group = r.fixed("share group", GroupSize)
	s.Tombstone = r.boolean("tombstone")
	if err := r.done(); err != nil {
		return Secret{}, reject(ReasonMalformed, "secret record: %v", err)
	}
	if err := ValidName(s.Name); err != nil {
		return Secret{}, reject(ReasonBadName, "%v", err)
	}
	switch {
	case s.Version == 0 || s.Version > MaxVersion:
		return Secret{}, reject(ReasonMalformed, "secret %q: version %d out of range (1 to %d)", s.Name, s.Version, uint64(MaxVersion))
	case s.Tombstone && len(s.Ciphertext) != 0:
		return Secret{}, reject(ReasonMalformed, "secret %q: a tombstone carries a ciphertext", s.Name)
	case !s.Tombstone && (len(s.Ciphertext) < minCiphertext || !bytes.HasPrefix(s.Ciphertext, []byte(ageIntro))):
		return Secret{}, reject(ReasonMalformed, "secret %q: ciphertext is not an age file", s.Name)
	}
	for _, u := range s.Restart {
		if err := ValidUnit(u); err != nil {
			return Secret{}, reject(ReasonMalformed, "secret %q: %v", s.Name, err)
		}
	}
	return s, nil
}

// ValidName checks a secret name: a valid systemd credential name and a
// safe file name, [A-Za-z0-9][A-Za-z0-9._-]{0,127}, never "..".
func ValidName(name string) error {
	if name == "" {
		return errors.New("secret name is empty")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("secret name is %d characters, at most %d", len(name), maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || (c != '.' && c != '_' && c != '-')) {
			return fmt.Errorf("secret name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", name)
		}
	}
	if strings.Contains(name, "..") {
		return fmt.Errorf("secret name %q contains \"..\"", name)
	}
	return nil
}

// ValidUnit checks a systemd unit name given as a restart target.
func ValidUnit(u string) error {
	if u == "" || len(u) > maxUnitLen || strings.HasPrefix(u, "-") {
		return fmt.Errorf("unit name %q is not valid", u)
	}
	for _, c := range u {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(":-_.\\@", c)
		if !ok {
			return fmt.Errorf("unit name %q is not valid", u)
		}
	}
	return nil
}
