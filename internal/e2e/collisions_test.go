package e2e

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// exitOf waits for a daemon that must stop by itself and returns its exit
// code.
func (d *daemon) exitOf() int {
	d.t.Helper()
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.t.Fatalf("daemon still running 30s after start; it should have refused to start\n%s", d.logs.String())
	}
	var ee *exec.ExitError
	if errors.As(d.err, &ee) {
		return ee.ExitCode()
	}
	return 0
}

// A second daemon on one machine never shares what the first holds: its
// libp2p port (TCP binds with SO_REUSEPORT, which would otherwise split
// inbound connections between the two), its credential directory, or its
// web port. Each refusal is exit 1 with an error that says what is taken;
// the first daemon runs on untouched.
func TestSecondDaemonRefusedWhatTheFirstHolds(t *testing.T) {
	root := t.TempDir()
	a := startMesh(t, "alpha", root+"/a")
	port := portFor(t, a.dataDir)
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"same tcp port", []string{"--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)},
			fmt.Sprintf("tcp4 port 127.0.0.1:%d is already in use", port)},
		{"same quic port", []string{"--listen", fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", port)},
			fmt.Sprintf("udp4 port 127.0.0.1:%d is already in use", port)},
		{"same credential dir", []string{"--listen", "/ip4/127.0.0.1/tcp/0", "--creds-dir", filepath.Join(a.dataDir, "creds")},
			"credential directory " + filepath.Join(a.dataDir, "creds") + " is in use by process " + strconv.Itoa(a.cmd.Process.Pid)},
		{"web port taken", []string{"--listen", "/ip4/127.0.0.1/tcp/0", "--web", busy.Addr().String()},
			"web UI address " + busy.Addr().String() + " is already in use"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "b")
			args := append([]string{"--no-mdns", "--creds-dir", filepath.Join(dir, "creds")}, c.args...)
			b := startDaemon(t, dir, args...)
			if code := b.exitOf(); code != 1 {
				t.Fatalf("second daemon exited %d, want 1\n%s", code, b.logs.String())
			}
			if !strings.Contains(b.logs.String(), c.want) {
				t.Fatalf("second daemon's error does not say %q:\n%s", c.want, b.logs.String())
			}
		})
	}
	if s := a.status(); s.NodeID == "" {
		t.Fatal("the first daemon stopped answering")
	}
}
