package hostkey

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credmesh/credmesh/internal/testenv"
)

// newHostKey makes a key from the secret proper (the file past its
// machine-bound ID), for tests that need no file.
func newHostKey(secret []byte) HostKey {
	return HostKey{ok: true, key: sha256.Sum256(secret), path: "(memory)"}
}

// testKey is a fixed key for tests, benchmarks and the fuzz target.
var testKey = newHostKey(bytes.Repeat([]byte("credmesh test host secret "), 160))

// needRoot stops a test that needs root: LoadHostKey accepts only a
// secret owned by root.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Need(t, "the host secret must be owned by root; run as root")
	}
}

// needSystemdCreds stops a test that runs the real systemd-creds where
// it cannot: it must be installed and run as root (CI has both).
func needSystemdCreds(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("systemd-creds"); err != nil {
		testenv.Need(t, "systemd-creds is not installed")
	}
	needRoot(t)
}

// machineFiles writes a machine ID file and, when secret is set, a host
// secret for that machine ID (mode 0400, as systemd writes it) into a
// temporary directory; it returns both paths.
func machineFiles(t testing.TB, secret []byte) (secretPath, machineIDPath string) {
	t.Helper()
	dir := t.TempDir()
	machineIDPath = filepath.Join(dir, "machine-id")
	if err := os.WriteFile(machineIDPath, []byte("0123456789abcdef0123456789abcdef\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	secretPath = filepath.Join(dir, "credential.secret")
	if secret != nil {
		id, _, err := machineSecretID(machineIDPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(secretPath, append(id[:], secret...), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	return secretPath, machineIDPath
}

// randomSecret is a host secret proper of systemd's size.
func randomSecret() []byte {
	b := make([]byte, 4096)
	_, _ = rand.Read(b)
	return b
}

// systemdSecret makes a host secret for this machine with the real
// `systemd-creds setup`, in a temporary directory that
// SYSTEMD_CREDENTIAL_SECRET (honoured by systemd-creds since 250) points
// it at, so that these tests never touch the machine's own
// /var/lib/systemd/credential.secret. It returns the path.
func systemdSecret(t testing.TB) string {
	t.Helper()
	needSystemdCreds(t)
	path := filepath.Join(t.TempDir(), "credential.secret")
	cmd := exec.Command("systemd-creds", "setup")
	cmd.Env = append(os.Environ(), "SYSTEMD_CREDENTIAL_SECRET="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-creds setup: %v: %s", err, out)
	}
	return path
}

// systemdCreds runs systemd-creds with the host secret at secret and
// stdin, returning stdout, or the error with systemd-creds' message.
func systemdCreds(secret string, stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.Command("systemd-creds", args...)
	if secret != "" {
		cmd.Env = append(os.Environ(), "SYSTEMD_CREDENTIAL_SECRET="+secret)
	}
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, &toolError{err: err, stderr: strings.TrimSpace(stderr.String())}
	}
	return out, nil
}

type toolError struct {
	err    error
	stderr string
}

func (e *toolError) Error() string { return e.err.Error() + ": " + e.stderr }

// writeFile writes data to a new file in a temporary directory.
func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
