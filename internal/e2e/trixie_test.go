package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/credmesh/credmesh/internal/testenv"
)

// trixieRootDir keeps a Debian 13 root between runs: made once (about
// 40 s and 240 MB from deb.debian.org), read-only to the containers.
const trixieRootDir = "/var/cache/credmesh-test/trixie-root"

// trixieRoot returns a Debian 13 (trixie) root with systemd 257, whose
// varlink credential service (io.systemd.Credentials, systemd 256 and
// later) Debian 12's systemd 252 does not have. It is made with
// debootstrap the first time, into a temporary directory renamed into
// place only when complete.
func trixieRoot(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(trixieRootDir, "usr/lib/systemd/systemd")); err == nil {
		return trixieRootDir
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		testenv.Need(t, "debootstrap is not installed: it makes the Debian 13 root for systemd 257")
	}
	if err := os.MkdirAll(filepath.Dir(trixieRootDir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(trixieRootDir), "trixie-making-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	t.Logf("making a Debian 13 root in %s with debootstrap (once)", trixieRootDir)
	cmd := exec.CommandContext(t.Context(), "debootstrap", "--variant=minbase", "--include=systemd,systemd-sysv,dbus",
		"trixie", tmp, "http://deb.debian.org/debian")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("debootstrap trixie: %v\n%s", err, tail(string(out), 2000))
	}
	if err := os.Rename(tmp, trixieRootDir); err != nil {
		t.Fatal(err)
	}
	return trixieRootDir
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
