package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/testenv"
)

// container is a throwaway machine with a real systemd as PID 1, booted
// by systemd-nspawn from this machine's own /usr, read-only, under an
// empty tmpfs root (--volatile=yes): nothing it does outlives it. It has
// a private network (loopback only) and is reached with nsenter, since
// machined cannot run where the host's PID 1 is not systemd.
type container struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	leader int // the container's PID 1, as this machine sees it
	logs   *syncBuffer
	done   chan struct{}
}

// needContainer skips unless a systemd container can boot here: root,
// systemd-nspawn (Debian's systemd-container) and nsenter. CI runs as
// root and installs them.
func needContainer(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Need(t, "booting a systemd container needs root")
	}
	for _, tool := range []string{"systemd-nspawn", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Need(t, tool+" is not installed (Debian's systemd-container, util-linux)")
		}
	}
}

// bootContainer boots a container with the extra systemd-nspawn
// arguments (bind mounts) and waits until its boot has finished.
func bootContainer(t testing.TB, extra ...string) *container {
	t.Helper()
	return bootContainerFrom(t, "/", extra...)
}

// bootContainerFrom is bootContainer from another root directory (its
// /usr), such as another Debian release's.
func bootContainerFrom(t testing.TB, root string, extra ...string) *container {
	t.Helper()
	var tag [4]byte
	_, _ = rand.Read(tag[:])
	c := &container{t: t, name: "credmesh-test-" + hex.EncodeToString(tag[:]), logs: &syncBuffer{}, done: make(chan struct{})}
	args := append([]string{"--quiet", "--directory=" + root, "--volatile=yes", "--boot",
		"--register=no", "--keep-unit", "--private-network", "--machine=" + c.name}, extra...)
	// The container has no network to wait for: wait-online would hold
	// network-online.target (which credmesh.service wants) for 2 minutes.
	c.cmd = exec.Command("systemd-nspawn", append(args, "systemd.firstboot=off",
		"systemd.mask=systemd-networkd-wait-online.service")...)
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(c.stop)
	eventually(t, time.Minute, "container "+c.name+" has a PID 1", func() bool {
		select {
		case <-c.done:
			t.Fatalf("systemd-nspawn exited:\n%s", c.logs.String())
		default:
		}
		c.leader = childNamed(c.cmd.Process.Pid, "systemd")
		return c.leader > 0
	}, c.logs.String)
	// "degraded" is a finished boot too: some of this machine's own
	// services cannot start in a container (and need not). Until systemd
	// listens, systemctl cannot connect and says so.
	var state string
	eventually(t, 2*time.Minute, "container "+c.name+" booted", func() bool {
		out, _ := c.run(nil, "systemctl is-system-running --wait || true")
		state = strings.TrimSpace(out)
		return state == "running" || state == "degraded"
	}, func() string { return "state " + state + "\n" + c.logs.String() })
	return c
}

// childNamed finds a child process of pid whose command is comm.
func childNamed(pid int, comm string) int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			c, err := strconv.Atoi(s)
			if err != nil {
				continue
			}
			if name, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", c)); strings.TrimSpace(string(name)) == comm {
				return c
			}
		}
	}
	return 0
}

// run runs a bash script inside the container as root, with env (and a
// PATH) as its whole environment, and returns its combined output.
func (c *container) run(env []string, script string) (string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 5*time.Minute)
	defer cancel()
	argv := []string{"-t", strconv.Itoa(c.leader), "-a", "--", "/usr/bin/env", "-i",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"}
	argv = append(append(argv, env...), "/bin/bash", "-eu", "-o", "pipefail", "-c", script)
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "nsenter", argv...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// stop shuts the container down (nspawn turns SIGTERM into an orderly
// poweroff) and kills it if that takes too long.
func (c *container) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// TestSystemctlInContainer runs credwriter's TestSystemctlReal where a
// real systemd manager runs: inside a container booted with systemd, with
// a unit that loads a credential, so Systemctl's unit discovery and
// try-restart are checked against the real thing (this machine's PID 1
// need not be systemd, and a test must not restart a real machine's
// units).
func TestSystemctlInContainer(t *testing.T) {
	needContainer(t)
	dir := t.TempDir()
	testBin := filepath.Join(dir, "credwriter.test")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", testBin, "github.com/credmesh/credmesh/internal/credwriter")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go test -c internal/credwriter: %v\n%s", err, out)
	}
	c := bootContainer(t, "--bind-ro="+dir)
	const unit, cred = "credmesh-probe.service", "probe-cred"
	setup := "printf '%s\\n' '[Service]' 'ExecStart=/usr/bin/sleep infinity' 'LoadCredential=" + cred + ":/usr/lib/os-release'" +
		" > /run/systemd/system/" + unit + "\nsystemctl daemon-reload\nsystemctl start " + unit
	if out, err := c.run(nil, setup); err != nil {
		t.Fatalf("starting %s in the container: %v\n%s", unit, err, out)
	}
	out, err := c.run([]string{"CREDMESH_SYSTEMCTL_PROBE=" + unit + ":" + cred},
		"cd /tmp && "+testBin+" -test.run '^TestSystemctlReal$' -test.v -test.count=1")
	if err != nil || !strings.Contains(out, "--- PASS: TestSystemctlReal") {
		t.Fatalf("TestSystemctlReal in the container: %v\n%s", err, out)
	}
	t.Logf("in the container:\n%s", out)
}
