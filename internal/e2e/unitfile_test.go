package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credmesh/credmesh/internal/testenv"
)

// The shipped unit file passes systemd-analyze verify without a warning
// (with ExecStart pointed at the binary under test).
func TestUnitFileVerifies(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		testenv.Need(t, "systemd-analyze is not installed (Debian's systemd)")
	}
	src, err := os.ReadFile("../../packaging/systemd/credmesh.service")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "ExecStart=/usr/local/bin/credmesh ") {
		t.Fatal("unit file no longer runs /usr/local/bin/credmesh")
	}
	for _, want := range []string{"Type=notify", "WatchdogSec=", "Restart=on-failure", "ProtectSystem=strict", "ReadWritePaths=",
		"NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectHome=yes", "CapabilityBoundingSet=", "SystemCallFilter="} {
		if !strings.Contains(string(src), want) {
			t.Errorf("unit file lacks %s", want)
		}
	}
	unit := filepath.Join(t.TempDir(), "credmesh.service")
	if err := os.WriteFile(unit, bytes.ReplaceAll(src, []byte("/usr/local/bin/credmesh"), []byte(bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command("systemd-analyze", "verify", unit)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil || strings.TrimSpace(out.String()) != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out.String())
	}
	// The check can fail: a broken copy is reported.
	broken := filepath.Join(t.TempDir(), "broken.service")
	_ = os.WriteFile(broken, bytes.ReplaceAll(src, []byte("NoNewPrivileges=yes"), []byte("NoNewPrivilegez=yes")), 0o644)
	out.Reset()
	cmd = exec.Command("systemd-analyze", "verify", broken)
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run()
	if !strings.Contains(out.String(), "Unknown key") {
		t.Fatalf("systemd-analyze did not report a broken unit: %q", out.String())
	}
}
