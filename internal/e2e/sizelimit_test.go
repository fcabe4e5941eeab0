package e2e

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
)

// A secret at the limit reaches systemd and decrypts with the real tool;
// one byte over is refused before anything is stored.
func TestSecretSizeLimit(t *testing.T) {
	needSystemdCreds(t)
	a := startMesh(t, "alpha", t.TempDir()+"/a")
	name := strings.Repeat("L", 128)
	atLimit := bytes.Repeat([]byte("0123456789abcde\x00"), record.MaxPlaintext/16)
	if len(atLimit) != record.MaxPlaintext {
		t.Fatalf("built %d bytes, want %d", len(atLimit), record.MaxPlaintext)
	}
	set(t, a, name, atLimit)
	waitCred(t, a, name, atLimit)

	over := append(bytes.Clone(atLimit), 'x')
	r := cliIn(t, a.dataDir, over, "secret", "set", "over")
	if r.code != 1 || !strings.Contains(r.stderr, "larger than 800000 bytes") {
		t.Fatalf("secret set one byte over the limit: exit %d, stderr %q; want exit 1 naming the limit", r.code, r.stderr)
	}
	var list api.Secrets
	if err := json.Unmarshal([]byte(mustCLI(t, a.dataDir, "secret", "list", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Secrets) != 1 || list.Secrets[0].Name != name {
		t.Fatalf("after the refused write the node lists %+v, want only %s", list.Secrets, name)
	}
}
