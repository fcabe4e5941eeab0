package hostkey

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	t0      = time.Date(2025, 6, 1, 12, 0, 0, 123456000, time.UTC)
	atLimit = bytes.Repeat([]byte{0, 0xff, 'x', '\n'}, 800_000/4) // record.MaxPlaintext
)

// payloads are the plaintexts every round trip covers.
var payloads = []struct {
	name  string
	cred  string
	plain []byte
}{
	{"empty", "empty", []byte{}},
	{"binary with NULs", "bin", []byte{0, 1, 0, 0, 0xff, 0xfe, 0, '\n', 0}},
	{"newline at end", "line", []byte("hunter2\n")},
	{"at the size limit", "big", atLimit},
	{"longest credmesh name", strings.Repeat("n", 128), []byte("x")},
	{"longest systemd name", strings.Repeat("N", MaxName), []byte("y")},
	{"name with every allowed kind of character", "a.B-c_9 ~!@#$%^&*()+=,;<>?[]{}|\"'`\\", []byte("z")},
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	for _, tc := range payloads {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := Encrypt(testKey, tc.cred, tc.plain, t0, time.Time{})
			if err != nil {
				t.Fatalf("Encrypt: %v", err)
			}
			got, err := Decrypt(testKey, tc.cred, cred, t0.Add(time.Hour))
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if !bytes.Equal(got, tc.plain) {
				t.Fatalf("Decrypt returned %d bytes, want the %d encrypted", len(got), len(tc.plain))
			}
			c, err := open(testKey, cred)
			if err != nil {
				t.Fatal(err)
			}
			if !c.timestamp.Equal(t0) || !c.notAfter.IsZero() || c.name != tc.cred {
				t.Fatalf("metadata: timestamp %v not-after %v name %q; want %v, none, %q", c.timestamp, c.notAfter, c.name, t0, tc.cred)
			}
		})
	}
}

// The binary layout, byte by byte, against the format description
// (creds-util.c: encrypted_credential_header, metadata_credential_header).
func TestLayout(t *testing.T) {
	iv := [ivSize]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	name, plain := "db", []byte("secret")
	raw, err := seal(testKey, name, plain, t0, t0.Add(time.Hour), iv)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x5a, 0x1c, 0x6a, 0x86, 0xdf, 0x9d, 0x40, 0x96, 0xb1, 0xd5, 0xa6, 0x5e, 0x08, 0x62, 0xf1, 0x9a,
		32, 0, 0, 0, 1, 0, 0, 0, 12, 0, 0, 0, 16, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 0}
	if !bytes.Equal(raw[:48], want) {
		t.Fatalf("header\n got %x\nwant %x", raw[:48], want)
	}
	if got, wantLen := len(raw), 48+24+len(plain)+16; got != wantLen {
		t.Fatalf("length %d, want %d (header 48, metadata 20+2 padded to 24, payload, tag 16)", got, wantLen)
	}
	aead, _ := newAEAD(testKey)
	body, err := aead.Open(nil, iv[:], raw[48:], raw[:48])
	if err != nil {
		t.Fatalf("the body does not open with the header as additional data: %v", err)
	}
	meta := body[:24]
	if ts := binary.LittleEndian.Uint64(meta); ts != uint64(t0.UnixMicro()) {
		t.Errorf("timestamp %d, want %d µs", ts, t0.UnixMicro())
	}
	if na := binary.LittleEndian.Uint64(meta[8:]); na != uint64(t0.Add(time.Hour).UnixMicro()) {
		t.Errorf("not-after %d, want %d µs", na, t0.Add(time.Hour).UnixMicro())
	}
	if n := binary.LittleEndian.Uint32(meta[16:]); n != 2 || string(meta[20:22]) != name || meta[22] != 0 || meta[23] != 0 {
		t.Errorf("name part %x, want length 2, %q, two zero bytes", meta[16:], name)
	}
	if !bytes.Equal(body[24:], plain) {
		t.Errorf("payload %q, want %q", body[24:], plain)
	}
	none, err := seal(testKey, name, plain, time.Time{}, time.Time{}, iv)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = aead.Open(nil, iv[:], none[48:], none[:48])
	if binary.LittleEndian.Uint64(body) != infinity || binary.LittleEndian.Uint64(body[8:]) != infinity {
		t.Errorf("zero times stored as %x, want UINT64_MAX twice", body[:16])
	}
}

// systemd-creds wraps Base64 at 79 columns and ends with a newline.
func TestWrap(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 57, 58, 59, 60, 88, 91, 237, 1000, 4096} {
		raw := bytes.Repeat([]byte{0xa5, 0x5a, 0x33}, n)[:n]
		got := wrap(raw)
		enc := base64.StdEncoding.EncodeToString(raw)
		var want strings.Builder
		for len(enc) > lineWidth {
			want.WriteString(enc[:lineWidth] + "\n")
			enc = enc[lineWidth:]
		}
		if enc != "" {
			want.WriteString(enc + "\n")
		}
		if string(got) != want.String() {
			t.Errorf("wrap of %d bytes:\n got %q\nwant %q", n, got, want.String())
		}
	}
}

func TestEncryptRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, cred string
		plain      []byte
		now, after time.Time
		key        HostKey
		want       string
	}{
		{"no key", "a", nil, t0, time.Time{}, HostKey{}, "no host key"},
		{"empty name", "", nil, t0, time.Time{}, testKey, "not valid"},
		{"dot", ".", nil, t0, time.Time{}, testKey, "not valid"},
		{"dot dot", "..", nil, t0, time.Time{}, testKey, "not valid"},
		{"slash", "a/b", nil, t0, time.Time{}, testKey, "does not allow"},
		{"colon", "a:b", nil, t0, time.Time{}, testKey, "does not allow"},
		{"NUL", "a\x00b", nil, t0, time.Time{}, testKey, "does not allow"},
		{"control", "a\nb", nil, t0, time.Time{}, testKey, "does not allow"},
		{"non-ASCII", "café", nil, t0, time.Time{}, testKey, "does not allow"},
		{"name too long", strings.Repeat("n", MaxName+1), nil, t0, time.Time{}, testKey, "at most 255"},
		{"plaintext too long", "a", make([]byte, MaxPlaintext+1), t0, time.Time{}, testKey, "at most 1048576"},
		{"not-after at the timestamp", "a", nil, t0, t0, testKey, "not after"},
		{"not-after before the timestamp", "a", nil, t0, t0.Add(-time.Second), testKey, "not after"},
		{"before 1970", "a", nil, time.Unix(-1, 0), time.Time{}, testKey, "outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encrypt(tc.key, tc.cred, tc.plain, tc.now, tc.after)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Encrypt(%q) = %d bytes, %v; want an error containing %q", tc.cred, len(got), err, tc.want)
			}
		})
	}
}

func TestDecryptRefuses(t *testing.T) {
	iv := [ivSize]byte{9}
	good, err := seal(testKey, "db", []byte("pw"), t0, t0.Add(time.Hour), iv)
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(raw []byte) []byte) []byte { return wrap(f(bytes.Clone(good))) }
	put32 := func(off int, v uint32) []byte {
		return mod(func(r []byte) []byte { binary.LittleEndian.PutUint32(r[off:], v); return r })
	}
	tpm2 := mod(func(r []byte) []byte {
		copy(r, []byte{0x0c, 0x7c, 0xc0, 0x7b, 0x11, 0x76, 0x45, 0x91, 0x9c, 0x4b, 0x0b, 0xea, 0x08, 0xbc, 0x20, 0xfe})
		return r
	})
	for _, tc := range []struct {
		name, cred string
		in         []byte
		key        HostKey
		now        time.Time
		want       error
	}{
		{"too large to read", "db", make([]byte, MaxCredential+1), testKey, t0, ErrMalformed},
		{"not Base64", "db", []byte("not*base64!"), testKey, t0, ErrMalformed},
		{"empty", "db", nil, testKey, t0, ErrMalformed},
		{"shorter than a key type", "db", wrap(good[:15]), testKey, t0, ErrMalformed},
		{"unknown key type", "db", mod(func(r []byte) []byte { r[0] ^= 1; return r }), testKey, t0, ErrMalformed},
		{"TPM2 key type", "db", tpm2, testKey, t0, ErrNotHostKey},
		{"header cut short", "db", wrap(good[:40]), testKey, t0, ErrMalformed},
		{"key size", "db", put32(16, 16), testKey, t0, ErrMalformed},
		{"block size", "db", put32(20, 16), testKey, t0, ErrMalformed},
		{"IV size", "db", put32(24, 16), testKey, t0, ErrMalformed},
		{"tag size", "db", put32(28, 12), testKey, t0, ErrMalformed},
		{"no room for metadata", "db", wrap(good[:48+16]), testKey, t0, ErrMalformed},
		{"padding changed", "db", mod(func(r []byte) []byte { r[47] = 1; return r }), testKey, t0, ErrAuth},
		{"ciphertext changed", "db", mod(func(r []byte) []byte { r[60] ^= 0x80; return r }), testKey, t0, ErrAuth},
		{"tag changed", "db", mod(func(r []byte) []byte { r[len(r)-1] ^= 1; return r }), testKey, t0, ErrAuth},
		{"truncated", "db", wrap(good[:len(good)-1]), testKey, t0, ErrAuth},
		{"another host key", "db", wrap(good), newHostKey([]byte("another")), t0, ErrAuth},
		{"another name", "web", wrap(good), testKey, t0, ErrWrongName},
		{"expired", "db", wrap(good), testKey, t0.Add(2 * time.Hour), ErrExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decrypt(tc.key, tc.cred, tc.in, tc.now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decrypt = %q, %v; want %v", got, err, tc.want)
			}
		})
	}
	if _, err := Decrypt(HostKey{}, "db", wrap(good), t0); err == nil {
		t.Fatal("Decrypt with no key loaded succeeded")
	}
	// Whitespace anywhere is skipped, as systemd skips it; "" accepts any name.
	spaced := bytes.ReplaceAll(wrap(good), []byte("\n"), []byte(" \r\n\t"))
	if got, err := Decrypt(testKey, "", spaced, time.Time{}); err != nil || string(got) != "pw" {
		t.Fatalf("Decrypt of a credential with extra whitespace = %q, %v; want \"pw\"", got, err)
	}
}

// Every single-bit change of a credential is refused (the whole file is
// authenticated: header as additional data, body and tag).
func TestDecryptRefusesEveryBitFlip(t *testing.T) {
	raw, err := seal(testKey, "db", []byte("pw\x00\n"), t0, time.Time{}, [ivSize]byte{7})
	if err != nil {
		t.Fatal(err)
	}
	for bit := range len(raw) * 8 {
		flipped := bytes.Clone(raw)
		flipped[bit/8] ^= 1 << (bit % 8)
		if got, err := Decrypt(testKey, "db", wrap(flipped), t0); err == nil {
			t.Errorf("bit %d (byte %d) flipped: decrypted to %q", bit, bit/8, got)
		}
	}
}
