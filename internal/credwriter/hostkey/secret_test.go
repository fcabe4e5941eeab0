package hostkey

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadHostKey(t *testing.T) {
	needRoot(t)
	secret := randomSecret()
	path, mid := machineFiles(t, secret)
	k, err := loadHostKey(path, mid)
	if err != nil {
		t.Fatalf("loadHostKey: %v", err)
	}
	// The key is SHA-256 of the secret past its 16-byte machine-bound ID:
	// a credential made with it opens with a key made from those bytes.
	cred, err := Encrypt(k, "a", []byte("v"), t0, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Decrypt(newHostKey(secret), "a", cred, t0); err != nil || string(got) != "v" {
		t.Fatalf("the loaded key is not SHA-256 of the secret: Decrypt = %q, %v", got, err)
	}
	if k.Path() != path || !k.Fresh() {
		t.Fatalf("Path %q Fresh %v, want %q and true", k.Path(), k.Fresh(), path)
	}
}

func TestLoadHostKeyRefuses(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, path, mid string)
		want  error
		hint  string // what the message tells the operator to do
	}{
		{"missing", func(t *testing.T, path, _ string) { rm(t, path) }, ErrNoSecret, "systemd-creds setup"},
		{"mode 0600", func(t *testing.T, path, _ string) { chmod(t, path, 0o600) }, ErrUnsafeSecret, "chmod 0400"},
		{"mode 0440", func(t *testing.T, path, _ string) { chmod(t, path, 0o440) }, ErrUnsafeSecret, "chmod 0400"},
		{"not owned by root", func(t *testing.T, path, _ string) {
			if err := os.Chown(path, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, ErrUnsafeSecret, "chown root:root"},
		{"symbolic link", func(t *testing.T, path, _ string) {
			if err := os.Rename(path, path+".real"); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(path+".real", path); err != nil {
				t.Fatal(err)
			}
		}, ErrUnsafeSecret, "symbolic link"},
		{"hard link", func(t *testing.T, path, _ string) {
			if err := os.Link(path, path+".2"); err != nil {
				t.Fatal(err)
			}
		}, ErrUnsafeSecret, "remove the other links"},
		{"directory", func(t *testing.T, path, _ string) {
			rm(t, path)
			if err := os.Mkdir(path, 0o400); err != nil {
				t.Fatal(err)
			}
		}, ErrUnsafeSecret, "systemd-creds setup"},
		{"only the machine ID", func(t *testing.T, path, _ string) { resize(t, path, 16) }, ErrUnsafeSecret, "systemd-creds setup"},
		{"over 16 MiB", func(t *testing.T, path, _ string) { resize(t, path, 16<<20+1) }, ErrUnsafeSecret, "systemd-creds setup"},
		{"another machine", func(t *testing.T, _, mid string) {
			writeMachineID(t, mid, "fedcba9876543210fedcba9876543210\n")
		}, ErrOtherMachine, "systemd-creds setup"},
		{"machine ID empty", func(t *testing.T, _, mid string) { writeMachineID(t, mid, "") }, nil, "systemd-machine-id-setup"},
		{"machine ID uninitialized", func(t *testing.T, _, mid string) { writeMachineID(t, mid, "uninitialized\n") }, nil, "systemd-machine-id-setup"},
		{"machine ID zero", func(t *testing.T, _, mid string) { writeMachineID(t, mid, strings.Repeat("0", 32)) }, nil, "all zeros"},
		{"machine ID not hex", func(t *testing.T, _, mid string) { writeMachineID(t, mid, strings.Repeat("g", 32)+"\n") }, nil, "hex"},
		{"machine ID missing", func(t *testing.T, _, mid string) { rm(t, mid) }, nil, "machine ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, mid := machineFiles(t, randomSecret())
			tc.setup(t, path, mid)
			k, err := loadHostKey(path, mid)
			if err == nil {
				t.Fatalf("loadHostKey accepted it: %v", k)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.hint) {
				t.Errorf("error %q does not say %q", err, tc.hint)
			}
		})
	}
}

// The machine ID may end without a newline, as systemd accepts.
func TestMachineIDWithoutNewline(t *testing.T) {
	needRoot(t)
	path, mid := machineFiles(t, randomSecret())
	writeMachineID(t, mid, "0123456789abcdef0123456789abcdef")
	if _, err := loadHostKey(path, mid); err != nil {
		t.Fatalf("loadHostKey with a machine ID without newline: %v", err)
	}
}

// Fresh turns false on every change that can mean another secret, so a
// regenerated secret is never used stale.
func TestFresh(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, path, mid string)
	}{
		{"removed", func(t *testing.T, path, _ string) { rm(t, path) }},
		{"regenerated (a new file renamed over it)", func(t *testing.T, path, mid string) {
			id, _, err := machineSecretID(mid)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path+".new", append(id[:], randomSecret()...), 0o400); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(path+".new", path); err != nil {
				t.Fatal(err)
			}
		}},
		{"rewritten in place", func(t *testing.T, path, _ string) {
			chmod(t, path, 0o600)
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte{1}, 100); err != nil {
				t.Fatal(err)
			}
			f.Close()
			chmod(t, path, 0o400)
		}},
		{"mode changed", func(t *testing.T, path, _ string) { chmod(t, path, 0o600) }},
		{"mtime changed", func(t *testing.T, path, _ string) {
			if err := os.Chtimes(path, time.Now(), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}},
		{"machine ID replaced", func(t *testing.T, _, mid string) {
			if err := os.WriteFile(mid+".new", []byte("fedcba9876543210fedcba9876543210\n"), 0o444); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(mid+".new", mid); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, mid := machineFiles(t, randomSecret())
			k, err := loadHostKey(path, mid)
			if err != nil {
				t.Fatal(err)
			}
			if !k.Fresh() {
				t.Fatal("not fresh before any change")
			}
			tc.change(t, path, mid)
			if k.Fresh() {
				t.Fatal("still fresh after the change")
			}
		})
	}
	if (HostKey{}).Fresh() {
		t.Fatal("the zero HostKey is fresh")
	}
}

// No way of printing or logging a HostKey shows the key.
func TestHostKeyNeverPrintsTheKey(t *testing.T) {
	k := testKey
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("loaded", "key", k)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("loaded", "key", k)
	out := fmt.Sprintf("%v %+v %#v %s %x", k, k, k, k, k) + logs.String()
	for _, leak := range []string{hex.EncodeToString(k.key[:]), hex.EncodeToString(k.key[:4]), string(k.key[:4])} {
		if strings.Contains(out, leak) {
			t.Fatalf("the key shows in %q", out)
		}
	}
	if !strings.Contains(out, "(memory)") {
		t.Fatalf("printing names no file: %q", out)
	}
}

func rm(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

func chmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func resize(t *testing.T, p string, size int64) {
	t.Helper()
	chmod(t, p, 0o600)
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
	chmod(t, p, 0o400)
}

func writeMachineID(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Clean(p), []byte(content), 0o444); err != nil {
		t.Fatal(err)
	}
}
