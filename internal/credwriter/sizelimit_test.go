package credwriter

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credmesh/credmesh/internal/record"
)

// The largest secret, under the longest name, is a credential the real
// systemd-creds decrypts to the exact bytes; a plaintext whose credential
// systemd would refuse to read is never written.
func TestSizeLimitAgainstRealSystemd(t *testing.T) {
	needEncrypt(t)
	dir := t.TempDir()
	name := strings.Repeat("n", 128)
	plain := bytes.Repeat([]byte{0, 0xff, 'x', '\n'}, record.MaxPlaintext/4)
	if len(plain) != record.MaxPlaintext {
		t.Fatalf("built %d bytes, want %d", len(plain), record.MaxPlaintext)
	}
	if err := writeCredential(t.Context(), SystemdCreds{}, dir, name, plain); err != nil {
		t.Fatalf("write a secret at the limit: %v", err)
	}
	got, err := exec.Command("systemd-creds", "decrypt", "--name="+name, filepath.Join(dir, name), "-").Output()
	if err != nil {
		t.Fatalf("systemd-creds decrypt of a secret at the limit: %v", err)
	}
	if !bytes.Equal(got, plain) {
		t.Fatalf("decrypted %d bytes, want the %d written", len(got), len(plain))
	}

	// 880,000 bytes encrypt to a file systemd 252 will not decrypt
	// (measured): the writer refuses it and leaves nothing behind.
	big := make([]byte, 880_000)
	err = writeCredential(t.Context(), SystemdCreds{}, dir, "big", big)
	if err == nil || !strings.Contains(err.Error(), "systemd reads at most") {
		t.Fatalf("writing a credential systemd cannot read: err = %v, want a refusal", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != name {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("credential dir holds %v after the refusal, want only the first credential", names)
	}
}
