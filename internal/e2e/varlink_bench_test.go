package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkCredentialWriters runs `credmesh-bench encrypt` inside a
// container booted from a Debian 13 root (systemd 257, trixieRoot), the
// one place here with systemd's varlink credential service: each writer
// (in process, varlink on one connection, a spawned systemd-creds) times
// N credentials with that machine's host key. It prints the table; run
// with -v to see it.
//
//	go test -run XXX -bench CredentialWriters -benchtime 1x -v ./internal/e2e
func BenchmarkCredentialWriters(b *testing.B) {
	needContainer(b)
	root := trixieRoot(b)
	bin := filepath.Join(b.TempDir(), "credmesh-bench")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/credmesh/credmesh/cmd/credmesh-bench").CombinedOutput(); err != nil {
		b.Fatalf("build credmesh-bench: %v\n%s", err, out)
	}
	state, err := os.MkdirTemp("/var/tmp", "credmesh-e2e-state")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = os.RemoveAll(state) })
	c := bootContainerFrom(b, root, "--bind-ro="+filepath.Dir(bin), "--bind="+state+":/var/lib/systemd")
	if out, err := c.run(nil, "systemd-creds setup"); err != nil {
		b.Fatalf("systemd-creds setup in the container: %v\n%s", err, out)
	}
	for b.Loop() {
		out, err := c.run(nil, bin+" encrypt -writer host,varlink,systemd-creds -n 1000")
		if err != nil {
			b.Fatalf("credmesh-bench encrypt: %v\n%s", err, out)
		}
		b.Log("\n" + out)
	}
}
