package credwriter

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/credmesh/credmesh/internal/testenv"
)

func TestCheckKey(t *testing.T) {
	for _, tc := range []struct {
		mode string
		user bool
		want string // "" for accepted, else part of the error
	}{
		{"", false, ""},
		{"auto", false, ""},
		{"host", false, ""},
		{"tpm2", false, ""},
		{"auto", true, ""},
		{"", true, ""},
		{"host", true, "leave --creds-key at auto"},
		{"tpm2", true, "leave --creds-key at auto"},
		{"systemd-creds", false, ""},
		{"systemd-creds", true, ""},
		{"TPM2", false, "want auto, host, tpm2 or systemd-creds"},
		{"host+tpm2", false, "want auto, host, tpm2 or systemd-creds"},
	} {
		err := CheckKey(tc.mode, tc.user)
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckKey(%q, user=%v) = %v, want %q", tc.mode, tc.user, err, tc.want)
		}
	}
}

// auto writes in process only where systemd-creds' default would use the
// host key alone.
func TestChooseWriter(t *testing.T) {
	bare, tpm2, tmpfs := machine{}, machine{tpm2: "/sys/class/tpmrm/tpmrm0"}, machine{tmpfs: true}
	for _, tc := range []struct {
		name string
		mode string
		user bool
		m    machine
		want string
	}{
		{"auto, no TPM2", KeyAuto, false, bare, WriterHost},
		{"default is auto", "", false, bare, WriterHost},
		{"auto, TPM2", KeyAuto, false, tpm2, WriterSystemdCreds},
		{"auto, secret on tmpfs", KeyAuto, false, tmpfs, WriterSystemdCreds},
		{"host, TPM2", KeyHost, false, tpm2, WriterHost},
		{"host, tmpfs", KeyHost, false, tmpfs, WriterHost},
		{"tpm2, no TPM2", KeyTPM2, false, bare, WriterTPM2},
		{"tpm2, TPM2", KeyTPM2, false, tpm2, WriterTPM2},
		{"user, no TPM2", KeyAuto, true, bare, WriterSystemdCreds},
		{"systemd-creds, no TPM2", KeySystemdCreds, false, bare, WriterSystemdCreds},
		{"systemd-creds, user", KeySystemdCreds, true, bare, WriterSystemdCreds},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := chooseWriter(tc.mode, tc.user, tc.m)
			if got.writer != tc.want || got.why == "" {
				t.Fatalf("chooseWriter = %+v, want %q with a reason", got, tc.want)
			}
		})
	}
}

// pickRunner builds what the choice names.
func TestPickRunner(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "credential.secret")
	auto := chooseWriter(KeyAuto, false, probeMachine(secret)).writer
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"host", Config{Key: KeyHost, HostSecret: secret}, WriterHost},
		{"tpm2", Config{Key: KeyTPM2, HostSecret: secret}, WriterTPM2},
		{"user", Config{User: true, HostSecret: secret}, WriterSystemdCreds},
		{"systemd-creds", Config{Key: KeySystemdCreds, HostSecret: secret}, WriterSystemdCreds},
		{"auto on this machine", Config{HostSecret: secret}, auto},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ch := pickRunner(tc.cfg)
			if ch.writer != tc.want || writerOf(r) != tc.want {
				t.Fatalf("pickRunner chose %q and built %T (%q), want %q", ch.writer, r, writerOf(r), tc.want)
			}
		})
	}
	if r, _ := pickRunner(Config{Key: KeyTPM2}); r.(SystemdCreds).WithKey != "host+tpm2" {
		t.Fatalf("tpm2 runs %+v, want --with-key=host+tpm2", r)
	}
	if r, _ := pickRunner(Config{Key: KeySystemdCreds}); r.(*varlinkOrSpawn).spawn != (SystemdCreds{}) || r.(*varlinkOrSpawn).vl.socket() != VarlinkSocket {
		t.Fatalf("systemd-creds runs %+v, want systemd's own default key, through %s where it answers", r, VarlinkSocket)
	}
	if r, _ := pickRunner(Config{Key: KeySystemdCreds, User: true}); r.(SystemdCreds) != (SystemdCreds{User: true}) {
		t.Fatalf("systemd-creds --creds-user runs %+v, want a spawned systemd-creds --user", r)
	}
	if r, _ := pickRunner(Config{Key: KeyHost, HostSecret: secret}); r.(*InProcess).Path != secret {
		t.Fatalf("host reads %+v, want %s", r, secret)
	}
}

// A TPM2 is seen the way systemd sees it: a populated /sys/class/tpmrm
// (an empty one is only the subsystem), or the /dev/tpmrm0 node.
func TestTPM2Device(t *testing.T) {
	dir := t.TempDir()
	class, dev := filepath.Join(dir, "tpmrm"), filepath.Join(dir, "tpmrm0")
	if got := tpm2Device(class, dev); got != "" {
		t.Fatalf("nothing there: %q", got)
	}
	if err := os.Mkdir(class, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := tpm2Device(class, dev); got != "" {
		t.Fatalf("empty class directory: %q, want none", got)
	}
	if err := os.WriteFile(dev, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := tpm2Device(class, dev); got != dev {
		t.Fatalf("device node: %q, want %q", got, dev)
	}
	if err := os.Mkdir(filepath.Join(class, "tpmrm0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := tpm2Device(class, dev); got != filepath.Join(class, "tpmrm0") {
		t.Fatalf("populated class: %q", got)
	}
}

func TestOnTemporaryFS(t *testing.T) {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err != nil || uint32(st.Type) != 0x01021994 {
		testenv.Need(t, "/dev/shm is not a tmpfs here")
	}
	if !onTemporaryFS("/dev/shm") || !onTemporaryFS("/dev/shm/not/yet/made") {
		t.Fatal("/dev/shm (and a directory not made yet under it) is not seen as tmpfs")
	}
	if onTemporaryFS("/proc") {
		t.Fatal("/proc is seen as tmpfs")
	}
}

// --creds-key tpm2 runs systemd-creds --with-key=host+tpm2: where there is
// no TPM2 it fails (it does not quietly write a host-key credential);
// where there is one the credential decrypts.
func TestTPM2ModeNeedsATPM2(t *testing.T) {
	secret := tempSecret(t)
	t.Setenv("SYSTEMD_CREDENTIAL_SECRET", secret)
	r, _ := pickRunner(Config{Key: KeyTPM2, HostSecret: secret})
	cred, err := r.Encrypt(context.Background(), "t", []byte("v"))
	if dev := tpm2Device("/sys/class/tpmrm", "/dev/tpmrm0"); dev == "" {
		if err == nil {
			t.Fatalf("no TPM2 here, yet --with-key=host+tpm2 wrote %d bytes", len(cred))
		}
		t.Logf("refused without a TPM2, as wanted: %v", err)
		return
	}
	if err != nil {
		t.Fatalf("a TPM2 is present, yet systemd-creds --with-key=host+tpm2 failed: %v", err)
	}
	file := filepath.Join(t.TempDir(), "t")
	if err := os.WriteFile(file, cred, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := decryptWith(secret, "t", file); err != nil || string(got) != "v" {
		t.Fatalf("systemd-creds decrypt = %q, %v", got, err)
	}
}
