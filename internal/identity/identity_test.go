package identity

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestLoadOrCreateKeepsIdentity(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, created, err := LoadOrCreate(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Fatal("first LoadOrCreate did not report creating keys")
	}
	second, created, err := LoadOrCreate(dir, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if created {
		t.Fatal("second LoadOrCreate reported creating keys")
	}
	if first.NodeID != second.NodeID || first.Recipient() != second.Recipient() {
		t.Fatalf("identity changed: %s/%s then %s/%s", first.NodeID, first.Recipient(), second.NodeID, second.Recipient())
	}
	for _, name := range []string{NodeKeyFile, AgeKeyFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %04o, want 0600", name, fi.Mode().Perm())
		}
	}
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %04o, want 0700", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("data dir holds %d entries, want just the two keys (temp files left?)", len(entries))
	}
	if !strings.HasPrefix(first.NodeID.String(), "12D3KooW") {
		t.Errorf("node ID %s is not an ed25519 libp2p peer ID", first.NodeID)
	}
	if strings.Contains(first.String(), "AGE-SECRET") || first.String() != first.NodeID.String() {
		t.Errorf("Identity.String() = %q, want just the node ID", first.String())
	}
}

func TestLoadRefusesLooseKeys(t *testing.T) {
	for _, name := range []string{NodeKeyFile, AgeKeyFile} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if _, _, err := LoadOrCreate(dir, now); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, name)
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(dir)
			if !errors.Is(err, ErrLoosePermissions) {
				t.Fatalf("Load = %v, want ErrLoosePermissions", err)
			}
			for _, want := range []string{path, "chmod 600 " + path, "0644"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestDataDirPermissions(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tightened, err := EnsureDataDir(dir)
	if err != nil || !tightened {
		t.Fatalf("EnsureDataDir(0755 dir) = %v, %v; want tightened", tightened, err)
	}
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("mode %04o after EnsureDataDir, want 0700", fi.Mode().Perm())
	}
	if tightened, err := EnsureDataDir(dir); err != nil || tightened {
		t.Fatalf("EnsureDataDir(0700 dir) = %v, %v; want nothing to do", tightened, err)
	}
	file := filepath.Join(dir, "file")
	_ = os.WriteFile(file, nil, 0o600)
	if _, err := EnsureDataDir(file); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("EnsureDataDir(file) = %v, want not a directory", err)
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(t.TempDir())
	if !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("Load(empty) = %v, want ErrNoIdentity", err)
	}
}

func TestLoadRejectsGarbage(t *testing.T) {
	for _, tc := range []struct{ name, file, content, want string }{
		{"node not pem", NodeKeyFile, "hello", "not a PEM PRIVATE KEY"},
		{"age not a key", AgeKeyFile, "AGE-SECRET-KEY-1XYZ\n", "age key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, _, err := LoadOrCreate(dir, now); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// The age key file is the standard age identity format: what age itself
// parses decrypts what is encrypted to the published recipient.
func TestAgeKeyIsStandard(t *testing.T) {
	dir := t.TempDir()
	id, _, err := LoadOrCreate(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	rcpt, err := age.ParseX25519Recipient(id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	w, err := age.Encrypt(&ct, rcpt)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("hello"))
	_ = w.Close()
	f, err := os.Open(filepath.Join(dir, AgeKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(&ct, ids...)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	if string(got) != "hello" {
		t.Fatalf("decrypted %q", got)
	}
}
