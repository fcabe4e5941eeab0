package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/testenv"
)

// TestCredentialsUnderRealSystemd is the product's last step under a real
// systemd: two credmesh nodes run as services of a container whose PID 1
// is systemd (252, this machine's; 257 for varlink), a secret set on one ends as an encrypted credential on
// the other, and a new version set on the first node ends with two units
// restarted by systemd and reading the new value:
//
//   - probe-found loads it with LoadCredentialEncrypted=NAME and is not
//     named on the secret: only systemd's own report of what its units
//     load can find it;
//   - probe-named is named on the secret (--restart) and decrypts the
//     file itself with systemd-creds, so that report does not list it:
//     only the secret's restart list can restart it.
//
// Once with each writer:
//
//   - in-process: the container has no TPM2 and its host secret sits on
//     a real disk, so --creds-key auto writes in process with the host
//     key, and systemd decrypts what Go wrote. systemd-creds is made
//     inaccessible to credmesh's service, so the fallback to it for a
//     host secret it cannot use would fail instead of passing for Go;
//   - spawn: the path of a machine with a TPM2. These machines have
//     none, so /dev/null bound at /dev/tpmrm0 stands in for the device
//     node credmesh looks for: auto then spawns `systemd-creds encrypt`
//     with systemd's default key, which, finding no TPM2 driver in
//     /sys/class/tpmrm, is the host key alone. Everything but the TPM2
//     binding runs as it would on such a machine. systemd 252 has no
//     varlink credential service: b's journal must say it spawned;
//   - varlink: the same TPM2 stand-in in a container booted from a
//     Debian 13 root (systemd 257, trixieRoot), whose credential service
//     io.systemd.Credentials encrypts for credmesh on one connection.
//     systemd-creds is inaccessible to credmesh's service, so a spawn
//     would fail: the value can only come through varlink.
func TestCredentialsUnderRealSystemd(t *testing.T) {
	needContainer(t)
	if entries, _ := os.ReadDir("/sys/class/tpmrm"); len(entries) > 0 {
		// The container sees this machine's /sys: systemd-creds would
		// bind to the real TPM2, and auto would never write in process.
		testenv.Need(t, "this machine has a TPM2 (/sys/class/tpmrm): the test needs a machine without one")
	}
	noTool := "--property=InaccessiblePaths=/usr/bin/systemd-creds"
	for _, w := range []struct {
		name, writer string
		trixie       bool     // boot Debian 13's systemd 257, not this machine's
		binds        []string // more systemd-nspawn arguments
		props        []string // of credmesh-b's service
		log          string   // b's journal must say so
	}{
		{"in-process", "host", false, nil, []string{noTool}, ""},
		{"spawn", "systemd-creds", false, []string{"--bind=/dev/null:/dev/tpmrm0"}, nil,
			"varlink credential service not usable; spawning systemd-creds"},
		{"varlink", "systemd-creds", true, []string{"--bind=/dev/null:/dev/tpmrm0"}, []string{noTool},
			"credentials encrypted through systemd's varlink service"},
	} {
		t.Run(w.name, func(t *testing.T) {
			root := "/"
			if w.trixie {
				root = trixieRoot(t)
			}
			testUnderRealSystemd(t, root, w.writer, w.binds, w.props, w.log)
		})
	}
}

// probe units: Type=exec, so a start fails when LoadCredentialEncrypted=
// cannot decrypt (with Type=simple it "succeeds" regardless); each copies
// the value it got to /run/probe/UNIT, the one thing this test believes.
const (
	probeCred  = "db-pass"
	probeNamed = "probe-named.service" // named on the secret (--restart)
	probeFound = "probe-found.service" // found through systemd's report only
)

func testUnderRealSystemd(t *testing.T, osRoot, writer string, binds, props []string, wantLog string) {
	root := t.TempDir()
	// systemd's default key is the host key only where /var/lib/systemd
	// is not on tmpfs (and credmesh's auto mode follows it), so the
	// container's is a directory on this machine's disk (/var/tmp, since
	// /tmp is tmpfs on many machines).
	state, err := os.MkdirTemp("/var/tmp", "credmesh-e2e-state")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(state) })
	if onTmpfs(state) {
		testenv.Need(t, state+" is on tmpfs: the test needs /var/tmp on a disk")
	}
	c := bootContainerFrom(t, osRoot, append([]string{"--bind-ro=" + filepath.Dir(daemonBin), "--bind=" + root,
		"--bind=" + state + ":/var/lib/systemd"}, binds...)...)
	if out, err := c.run(nil, "systemd-creds setup && mkdir -p /run/probe"); err != nil {
		t.Fatalf("systemd-creds setup in the container: %v\n%s", err, out)
	}

	// Only b writes to the machine's credential store; a, the writer of
	// the secret, keeps its own credentials in its data dir.
	a := c.startNode(t, root, "a", 7201, nil, "--creds-dir", filepath.Join(root, "a-creds"))
	b := c.startNode(t, root, "b", 7202, props, a.ticket(t))
	mustCLI(t, a.dir, "peers", "add", b.ticket(t))
	if got := statusOf(t, b.dir).Credentials.Key; got != writer {
		t.Fatalf("b's credentials are written by %q, want %q", got, writer)
	}

	// a names b by hostname: wait until a holds b's node record.
	eventually(t, time.Minute, "a knows b", func() bool {
		return cli(t, a.dir, "peers", "show", "b").code == 0
	}, func() string { return cli(t, a.dir, "peers", "show", "b").stderr })
	v1 := randomValue("v1")
	a.set(t, v1)
	credFile := "/etc/credstore.encrypted/" + probeCred
	eventually(t, time.Minute, "b's credential file "+credFile, func() bool {
		_, err := c.run(nil, "test -s "+credFile)
		return err == nil
	}, func() string { return c.journal("credmesh-b") })

	// The first value's restart pass (a second after the write) tries
	// probe-named before it exists; wait for it, so that it cannot restart
	// the units started below.
	eventually(t, time.Minute, "b's restart pass after the first value", func() bool {
		return strings.Contains(c.journal("credmesh-b"), "unit="+probeNamed)
	}, func() string { return c.journal("credmesh-b") })

	units := map[string]string{
		probeFound: "LoadCredentialEncrypted=" + probeCred + "\n" +
			`ExecStart=/bin/sh -ec 'cat "$CREDENTIALS_DIRECTORY/` + probeCred + `" > /run/probe/` + probeFound + `; exec sleep infinity'`,
		probeNamed: `ExecStart=/bin/sh -ec 'systemd-creds decrypt --name=` + probeCred + ` ` + credFile + ` /run/probe/` + probeNamed + `; exec sleep infinity'`,
	}
	for u, body := range units {
		if err := c.writeFile("/run/systemd/system/"+u, "[Service]\nType=exec\n"+body+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := c.run(nil, "systemctl daemon-reload && systemctl start "+probeNamed+" "+probeFound); err != nil {
		t.Fatalf("starting the probe units: %v\n%s\n%s", err, out, c.journal(probeNamed))
	}
	before := map[string]string{}
	for _, u := range []string{probeNamed, probeFound} {
		c.waitRead(t, u, v1)
		before[u] = c.invocation(t, u)
	}

	v2 := randomValue("v2")
	a.set(t, v2)
	for _, u := range []string{probeNamed, probeFound} {
		c.waitRead(t, u, v2)
		if inv := c.invocation(t, u); inv == before[u] {
			t.Fatalf("%s reads the new value in the same invocation %s: it was not restarted", u, inv)
		}
	}
	// Both nodes still run: a daemon that died (or a race build that
	// found a race: GORACE halts it) fails the test here, not silently.
	if out, err := c.run(nil, "systemctl is-active credmesh-a credmesh-b"); err != nil {
		t.Fatalf("credmesh services after the restarts: %v\n%s\n%s", err, out, c.journal("credmesh-b"))
	}
	j := c.journal("credmesh-b")
	if strings.Contains(j, "not usable in process") {
		t.Fatalf("b fell back from the in-process writer:\n%s", j)
	}
	if !strings.Contains(j, wantLog) {
		t.Fatalf("b's journal does not say %q:\n%s", wantLog, j)
	}
}

// onTmpfs reports whether dir is on tmpfs.
func onTmpfs(dir string) bool {
	var st syscall.Statfs_t
	return syscall.Statfs(dir, &st) == nil && uint32(st.Type) == 0x01021994
}

// sysNode is a credmesh node running as a service of the container, with
// its data dir on a directory shared with this machine, so that the CLI
// here reaches its control socket.
type sysNode struct {
	c    *container
	name string
	dir  string
}

// startNode starts credmesh-NAME as a transient service of the
// container with more properties, listening on the container's loopback
// on port, with fast timers and more arguments (flags, tickets), and
// waits until it answers.
func (c *container) startNode(t *testing.T, root, name string, port int, props []string, more ...string) *sysNode {
	t.Helper()
	n := &sysNode{c: c, name: name, dir: filepath.Join(root, name)}
	argv := append([]string{"systemd-run", "--unit=credmesh-" + name, "--property=Type=exec",
		"--setenv=GORACE=halt_on_error=1"}, props...)
	argv = append(argv, "--",
		daemonBin, "--data-dir", n.dir, "--log-level", "debug", "run", "--web", "127.0.0.1:0",
		"--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port), "--listen", fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", port),
		"--no-mdns", "--hostname", name, "--heartbeat", "1s", "--sync-interval", "3s",
		"--ticket-file", n.dir+".ticket")
	if out, err := c.run(nil, shellJoin(append(argv, more...))); err != nil {
		t.Fatalf("systemd-run credmesh-%s: %v\n%s", name, err, out)
	}
	var last string
	eventually(t, time.Minute, "credmesh-"+name+" in the container answers", func() bool {
		if out, err := c.run(nil, "systemctl is-failed credmesh-"+name); err == nil {
			t.Fatalf("credmesh-%s failed: %s\n%s", name, out, c.journal("credmesh-"+name))
		}
		r := cli(t, n.dir, "status", "-o", "json")
		last = r.stderr
		return r.code == 0
	}, func() string { return last + "\n" + c.journal("credmesh-"+name) })
	return n
}

func (n *sysNode) ticket(t *testing.T) string {
	t.Helper()
	return waitTicket(t, n.name, n.dir+".ticket")
}

// set writes the probe credential's next value for node b, naming one
// unit to restart.
func (n *sysNode) set(t *testing.T, value string) {
	t.Helper()
	if r := cliIn(t, n.dir, []byte(value), "secret", "set", probeCred, "--target", "b", "--restart", probeNamed); r.code != 0 {
		t.Fatalf("secret set %s on %s: exit %d: %s", probeCred, n.name, r.code, r.stderr)
	}
}

// waitRead waits until unit has read want from its credential.
func (c *container) waitRead(t *testing.T, unit, want string) {
	t.Helper()
	var got string
	eventually(t, time.Minute, unit+" read "+want, func() bool {
		out, err := c.run(nil, "cat /run/probe/"+unit)
		got = out
		return err == nil && out == want
	}, func() string { return "last read " + got + "\n" + c.journal(unit) + "\n" + c.journal("credmesh-b") })
}

// invocation is unit's current invocation ID: a restart makes a new one.
func (c *container) invocation(t *testing.T, unit string) string {
	t.Helper()
	out, err := c.run(nil, "systemctl show --value -p InvocationID "+unit)
	if err != nil || strings.TrimSpace(out) == "" {
		t.Fatalf("InvocationID of %s: %v %q", unit, err, out)
	}
	return strings.TrimSpace(out)
}

// writeFile writes content to path inside the container.
func (c *container) writeFile(path, content string) error {
	out, err := c.run(nil, "cat > "+path+" <<'EOF'\n"+content+"EOF\n")
	if err != nil {
		return fmt.Errorf("writing %s in the container: %v: %s", path, err, out)
	}
	return nil
}

// journal is the last lines of unit's journal, for a failure's message.
func (c *container) journal(unit string) string {
	out, _ := c.run(nil, "journalctl -u "+unit+" --no-pager | tail -60")
	return "journal of " + unit + ":\n" + out
}

// shellJoin quotes each argument for bash.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// randomValue is a fresh secret value with a readable prefix.
func randomValue(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}
