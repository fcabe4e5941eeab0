package credwriter

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/credwriter/hostkey"
	"github.com/credmesh/credmesh/internal/record"
)

// These tests give the in-process writer a host secret of its own, made
// by the real `systemd-creds setup` in a temporary directory, and point
// systemd-creds at it with SYSTEMD_CREDENTIAL_SECRET (honoured since
// systemd 250), so the machine's /var/lib/systemd/credential.secret is
// never touched.

// tempSecret returns the path of a new host secret made by systemd-creds.
func tempSecret(t testing.TB) string {
	t.Helper()
	needEncrypt(t)
	path := filepath.Join(t.TempDir(), "credential.secret")
	setupSecret(t, path)
	return path
}

// setupSecret runs `systemd-creds setup` for the secret at path.
func setupSecret(t testing.TB, path string) {
	t.Helper()
	cmd := exec.Command("systemd-creds", "setup")
	cmd.Env = append(os.Environ(), "SYSTEMD_CREDENTIAL_SECRET="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-creds setup: %v: %s", err, out)
	}
}

// decryptWith runs `systemd-creds decrypt --name=NAME FILE -` with the
// host secret at secret.
func decryptWith(secret, name, file string) ([]byte, error) {
	cmd := exec.Command("systemd-creds", "decrypt", "--name="+name, file, "-")
	cmd.Env = append(os.Environ(), "SYSTEMD_CREDENTIAL_SECRET="+secret)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, errors.New(err.Error() + ": " + lastLine(stderr.String()))
	}
	return out, nil
}

func (f *fixture) state() State {
	f.t.Helper()
	s, err := actor.Call(context.Background(), f.ref, func(reply chan<- State) Msg { return GetState{Reply: reply} })
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// The actor with the in-process writer: the file it renames into place
// is one systemd-creds decrypts to the exact bytes, and status names it.
func TestInProcessWriterEndToEnd(t *testing.T) {
	secret := tempSecret(t)
	f := newFixture(t, PlainFiles{}, func(c *Config) { c.Runner = &InProcess{Path: secret} })
	f.start()
	value := []byte("hunter2\x00binary\n")
	f.set("db", value)
	f.waitFor("a written receipt", func() bool { return f.receiptFor("db", 1, record.ReceiptWritten) })
	got, err := decryptWith(secret, "db", filepath.Join(f.dir, "db"))
	if err != nil || !bytes.Equal(got, value) {
		t.Fatalf("systemd-creds decrypt = %q, %v; want %q", got, err, value)
	}
	if s := f.state(); !s.OK || s.Key != WriterHost {
		t.Fatalf("state %+v, want ok with key %q", s, WriterHost)
	}
}

// A regenerated host secret is picked up before the next write: the
// credential written after it decrypts with the new secret.
func TestInProcessReloadsARegeneratedSecret(t *testing.T) {
	secret := tempSecret(t)
	p := &InProcess{Path: secret}
	dir := t.TempDir()
	write := func(name string) string {
		cred, err := p.Encrypt(context.Background(), name, []byte("v-"+name))
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, cred, 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	first := write("first")
	if got, err := decryptWith(secret, "first", first); err != nil || string(got) != "v-first" {
		t.Fatalf("before: %q, %v", got, err)
	}
	if err := os.Remove(secret); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Encrypt(context.Background(), "gone", nil); !errors.Is(err, hostkey.ErrNoSecret) || !strings.Contains(err.Error(), "systemd-creds setup") {
		t.Fatalf("Encrypt with the secret removed: %v, want ErrNoSecret naming systemd-creds setup", err)
	}
	setupSecret(t, secret)
	second := write("second")
	if got, err := decryptWith(secret, "second", second); err != nil || string(got) != "v-second" {
		t.Fatalf("after the secret was regenerated: %q, %v (the old key was used)", got, err)
	}
	if _, err := decryptWith(secret, "first", first); err == nil {
		t.Fatal("a credential of the old secret decrypts with the new one: the test did not regenerate it")
	}
}

// --creds-key host without a host secret: status is degraded and says how
// to fix it, writes fail with that message, and once the secret exists a
// sync writes.
func TestHostModeWithoutSecret(t *testing.T) {
	needEncrypt(t)
	secret := filepath.Join(t.TempDir(), "credential.secret")
	f := newFixture(t, PlainFiles{}, func(c *Config) { c.Runner, c.Key, c.HostSecret = nil, KeyHost, secret })
	f.start()
	if s := f.state(); s.OK || s.Key != WriterHost || !strings.Contains(s.Reason, "systemd-creds setup") {
		t.Fatalf("state %+v, want degraded, key %q, saying to run systemd-creds setup", s, WriterHost)
	}
	f.set("db", []byte("pw"))
	f.waitFor("a failed receipt", func() bool { return f.receiptFor("db", 1, record.ReceiptFailed) })
	for _, r := range f.rc.all() {
		if r.State == record.ReceiptFailed && !strings.Contains(r.Error, "systemd-creds setup") {
			t.Fatalf("receipt error %q does not say how to fix it", r.Error)
		}
	}
	if n := strings.Count(f.logs.String(), "level=ERROR"); n != 1 {
		t.Fatalf("logged %d errors, want one:\n%s", n, f.logs.String())
	}
	setupSecret(t, secret)
	if err := f.ref.Cast(SyncAll{Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	f.waitFor("written once the secret exists", func() bool { return f.receiptFor("db", 1, record.ReceiptWritten) })
	if got, err := decryptWith(secret, "db", filepath.Join(f.dir, "db")); err != nil || string(got) != "pw" {
		t.Fatalf("systemd-creds decrypt = %q, %v", got, err)
	}
	if s := f.state(); !s.OK {
		t.Fatalf("state %+v, want ok", s)
	}
}

// auto without a usable host secret spawns systemd-creds, which creates
// the secret; the next write is in process with it. (The spawn here asks
// for --with-key=host: systemd's default leaves the host key out when
// TMPDIR is on tmpfs, which pickRunner never sends to this runner.)
func TestAutoFallsBackUntilTheSecretExists(t *testing.T) {
	needEncrypt(t)
	secret := filepath.Join(t.TempDir(), "credential.secret")
	t.Setenv("SYSTEMD_CREDENTIAL_SECRET", secret) // for the spawned systemd-creds
	var logs bytes.Buffer
	h := &hostOrSpawn{host: &InProcess{Path: secret}, spawn: SystemdCreds{WithKey: "host"}, log: slog.New(slog.NewTextHandler(&logs, nil))}
	dir := t.TempDir()
	for _, name := range []string{"spawned", "in-process"} {
		cred, err := h.Encrypt(context.Background(), name, []byte("v-"+name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, cred, 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := decryptWith(secret, name, file); err != nil || string(got) != "v-"+name {
			t.Fatalf("%s: systemd-creds decrypt = %q, %v", name, got, err)
		}
	}
	l := logs.String()
	if !strings.Contains(l, "level=WARN") || !strings.Contains(l, "encrypting with systemd-creds instead") || !strings.Contains(l, "usable again") {
		t.Fatalf("logs do not tell the fallback and the return:\n%s", l)
	}
	if _, err := hostkey.LoadHostKey(secret); err != nil {
		t.Fatalf("the spawn did not leave a usable secret: %v", err)
	}
}

// BenchmarkRunners compares the two writers on a 100-byte secret: the
// in-process host key (including the re-check of the secret) and a
// systemd-creds spawn.
func BenchmarkRunners(b *testing.B) {
	secret := tempSecret(b)
	b.Setenv("SYSTEMD_CREDENTIAL_SECRET", secret) // the spawn uses the same secret
	plain := bytes.Repeat([]byte{'s'}, 100)
	for _, r := range []struct {
		name string
		run  Runner
	}{
		{"inprocess", &InProcess{Path: secret, Now: time.Now}},
		{"systemd-creds", SystemdCreds{WithKey: "host"}},
	} {
		b.Run(r.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := r.run.Encrypt(context.Background(), "bench.secret", plain); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBurst20InProcess is BenchmarkBurst20 (workers=4) with the
// in-process writer: what the whole write (decrypt, encrypt, file,
// fsyncs, store, receipt) costs per credential without the spawn.
func BenchmarkBurst20InProcess(b *testing.B) {
	secret := tempSecret(b)
	burst20(b, newFixture(b, PlainFiles{}, func(c *Config) { c.Runner = &InProcess{Path: secret} }))
}
