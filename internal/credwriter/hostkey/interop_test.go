package hostkey

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests hold the package to the real systemd-creds. Each makes its
// own host secret with `systemd-creds setup` and points systemd-creds at
// it with SYSTEMD_CREDENTIAL_SECRET, so the machine's secret is never
// touched, except TestRealHostSecret, which is about that file.

// Every credential Encrypt makes, systemd-creds decrypts to the exact
// bytes, and refuses under another name.
func TestSystemdDecryptsWhatEncryptWrites(t *testing.T) {
	secret := systemdSecret(t)
	key, err := LoadHostKey(secret)
	if err != nil {
		t.Fatalf("LoadHostKey of the secret systemd-creds setup made: %v", err)
	}
	for _, tc := range payloads {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := Encrypt(key, tc.cred, tc.plain, time.Now(), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			file := writeFile(t, "cred", cred)
			got, err := systemdCreds(secret, nil, "decrypt", "--name="+tc.cred, file, "-")
			if err != nil {
				t.Fatalf("systemd-creds decrypt: %v", err)
			}
			if !bytes.Equal(got, tc.plain) {
				t.Fatalf("systemd-creds decrypted %d bytes, want the %d encrypted", len(got), len(tc.plain))
			}
			if got, err := systemdCreds(secret, nil, "decrypt", "--name=other", file, "-"); err == nil {
				t.Fatalf("systemd-creds decrypted it under another name: %d bytes", len(got))
			}
		})
	}
}

// The timestamps are in systemd's units: a credential whose not-after has
// passed is refused, one whose not-after is ahead is not.
func TestSystemdHonoursNotAfter(t *testing.T) {
	secret := systemdSecret(t)
	key, err := LoadHostKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tc := range []struct {
		name       string
		ts, after  time.Time
		wantRefuse bool
	}{
		{"expired an hour ago", now.Add(-2 * time.Hour), now.Add(-time.Hour), true},
		{"expires in an hour", now, now.Add(time.Hour), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := Encrypt(key, "t", []byte("v"), tc.ts, tc.after)
			if err != nil {
				t.Fatal(err)
			}
			got, err := systemdCreds(secret, nil, "decrypt", "--name=t", writeFile(t, "t", cred), "-")
			if refused := err != nil; refused != tc.wantRefuse {
				t.Fatalf("systemd-creds decrypt = %q, %v; want refused=%v", got, err, tc.wantRefuse)
			}
		})
	}
}

// systemd-creds refuses a credential after any single-bit change: every
// bit of the header, and a sample of the body and tag bits (each check
// spawns systemd-creds; the sample keeps the test to a few seconds). The
// package's own Decrypt is held to every bit in TestDecryptRefusesEveryBitFlip.
func TestSystemdRefusesBitFlips(t *testing.T) {
	secret := systemdSecret(t)
	key, err := LoadHostKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := Encrypt(key, "db", []byte("pw\x00\n"), time.Now(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(cred), "\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := systemdCreds(secret, nil, "decrypt", "--name=db", writeFile(t, "db", cred), "-"); err != nil || string(got) != "pw\x00\n" {
		t.Fatalf("the unchanged credential: %q, %v", got, err)
	}
	var bits []int
	for bit := range headerSize * 8 {
		bits = append(bits, bit)
	}
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	for i := headerSize; i < len(raw); i++ { // one random bit of every later byte
		bits = append(bits, i*8+rng.IntN(8))
	}
	dir := t.TempDir()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted []int
		next     = make(chan int)
	)
	for range 2 {
		wg.Go(func() {
			for bit := range next {
				flipped := bytes.Clone(raw)
				flipped[bit/8] ^= 1 << (bit % 8)
				file := filepath.Join(dir, "bit-"+strconv.Itoa(bit))
				if err := os.WriteFile(file, wrap(flipped), 0o600); err != nil {
					t.Error(err)
					continue
				}
				if _, err := systemdCreds(secret, nil, "decrypt", "--name=db", file, "-"); err == nil {
					mu.Lock()
					accepted = append(accepted, bit)
					mu.Unlock()
				}
			}
		})
	}
	for _, b := range bits {
		next <- b
	}
	close(next)
	wg.Wait()
	if len(accepted) > 0 {
		t.Fatalf("systemd-creds accepted the credential with these bits flipped: %v", accepted)
	}
	t.Logf("systemd-creds refused all %d single-bit changes tried (of %d bits)", len(bits), len(raw)*8)
}

// What `systemd-creds encrypt --with-key=host` writes, Decrypt opens to
// the exact bytes; and sealing the same content with the same IV and
// timestamp gives back systemd's file byte for byte, so Encrypt writes
// exactly what systemd-creds writes.
func TestDecryptOpensWhatSystemdWrites(t *testing.T) {
	secret := systemdSecret(t)
	key, err := LoadHostKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range payloads {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := systemdCreds(secret, tc.plain, "encrypt", "--with-key=host", "--name="+tc.cred, "-", "-")
			if err != nil {
				t.Fatalf("systemd-creds encrypt: %v", err)
			}
			got, err := Decrypt(key, tc.cred, cred, time.Now())
			if err != nil {
				t.Fatalf("Decrypt of systemd's credential: %v", err)
			}
			if !bytes.Equal(got, tc.plain) {
				t.Fatalf("Decrypt returned %d bytes, want the %d systemd encrypted", len(got), len(tc.plain))
			}
			if _, err := Decrypt(key, "other", cred, time.Now()); !errors.Is(err, ErrWrongName) {
				t.Fatalf("Decrypt under another name: %v, want ErrWrongName", err)
			}
			c, err := open(key, cred)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := seal(key, c.name, c.payload, c.timestamp, c.notAfter, c.iv)
			if err != nil {
				t.Fatal(err)
			}
			if mine := wrap(raw); !bytes.Equal(mine, cred) {
				t.Fatalf("the same content sealed here differs from systemd-creds' file:\n mine %q\n sd   %q", head(mine), head(cred))
			}
		})
	}
}

func head(b []byte) []byte { return b[:min(len(b), 200)] }

// The machine's own secret (created with `systemd-creds setup` when this
// fresh machine has none yet, as CI's is): LoadHostKey accepts it, and
// systemd-creds decrypts with it, without SYSTEMD_CREDENTIAL_SECRET,
// what Encrypt wrote.
func TestRealHostSecret(t *testing.T) {
	needSystemdCreds(t)
	if _, err := os.Stat(DefaultPath); errors.Is(err, os.ErrNotExist) {
		t.Logf("%s is missing: creating it with `systemd-creds setup`", DefaultPath)
		if out, err := systemdCreds("", nil, "setup"); err != nil {
			t.Fatalf("systemd-creds setup: %v: %s", err, out)
		}
	}
	key, err := LoadHostKey(DefaultPath)
	if err != nil {
		t.Fatalf("LoadHostKey(%s): %v", DefaultPath, err)
	}
	if !key.Fresh() {
		t.Fatal("a key just loaded is not fresh")
	}
	cred, err := Encrypt(key, "real", []byte("on this machine\n"), time.Now(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := systemdCreds("", nil, "decrypt", "--name=real", writeFile(t, "real", cred), "-")
	if err != nil || string(got) != "on this machine\n" {
		t.Fatalf("systemd-creds decrypt with the machine's secret = %q, %v", got, err)
	}
}
