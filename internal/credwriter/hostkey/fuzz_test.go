package hostkey

import (
	"bytes"
	"testing"
	"time"
)

// FuzzDecrypt feeds arbitrary text to Decrypt under a fixed key: no
// panic, nothing over the size cap read, and whatever it accepts is
// exactly what Encrypt writes for the content it returns (same IV and
// timestamps), under the name asked for. The committed corpus
// (testdata/fuzz/FuzzDecrypt) holds valid credentials of this key and
// near misses; the seeds below add the edge sizes.
func FuzzDecrypt(f *testing.F) {
	for _, tc := range []struct {
		name  string
		plain []byte
	}{{"db", []byte("pw")}, {"e", nil}, {"n.1", []byte{0, '\n', 0xff}}} {
		raw, err := seal(testKey, tc.name, tc.plain, t0, t0.Add(time.Hour), [ivSize]byte{1, 2, 3})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(wrap(raw), tc.name)
		f.Add(wrap(raw[:len(raw)-1]), tc.name)
	}
	f.Add([]byte("Whxqht+dQJax1aZeCGLxmiAAAAABAAAADAAAABAAAAA="), "db")
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, cred []byte, name string) {
		plain, err := Decrypt(testKey, name, cred, time.Time{})
		if err != nil {
			return
		}
		if len(cred) > MaxCredential {
			t.Fatalf("accepted %d bytes, over the cap of %d", len(cred), MaxCredential)
		}
		c, err := open(testKey, cred)
		if err != nil {
			t.Fatalf("Decrypt accepted what open refuses: %v", err)
		}
		if name != "" && c.name != "" && c.name != name {
			t.Fatalf("accepted credential %q under the name %q", c.name, name)
		}
		if !bytes.Equal(plain, c.payload) {
			t.Fatalf("Decrypt returned %q, open %q", plain, c.payload)
		}
		raw, err := unwrap(cred)
		if err != nil {
			t.Fatal(err)
		}
		if c.name == "" {
			return // an unnamed credential (systemd-creds --name=) is not one Encrypt writes
		}
		again, err := seal(testKey, c.name, c.payload, c.timestamp, c.notAfter, c.iv)
		if err != nil {
			t.Fatalf("accepted content that Encrypt refuses: %v", err)
		}
		if !bytes.Equal(again, raw) {
			t.Fatalf("accepted bytes differ from what Encrypt writes for the same content:\n got %x\nwant %x", raw, again)
		}
	})
}
