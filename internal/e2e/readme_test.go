package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// repoRoot is the module root (this package is internal/e2e).
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	return dir
}

// readmeBlocks returns the ```sh blocks of README.md, in order.
func readmeBlocks(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	var cur *strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```sh":
			cur = &strings.Builder{}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	if cur != nil {
		t.Fatal("README.md has an unclosed ```sh block")
	}
	return blocks
}

// TestREADMEShellBlocks runs every ```sh block of README.md as written.
// Each block is recognised by what it does and run where it can run:
//
//   - the first screen: `go run ./cmd/credmesh demo` runs in the module
//     root until it prints its login URLs, then gets Ctrl-C (SIGINT) and
//     must exit 0; `./scripts/test` is not run here, since it is the
//     command running this test (CI runs it through .ci/run);
//   - the two-node recipe: run by bash in a temp dir, with the documented
//     substitutions only: /tmp/ becomes a private temp dir, the ports
//     7201, 7202, 7211 and 7212 become free ones, and `go build -o
//     credmesh` builds from the module root into that temp dir; after it
//     the secret it wrote must reach the second node's credential file;
//   - the service install: run as written inside a container booted with
//     a real systemd (container_test.go), with the module at its own path;
//     the unit must be active, answer `credmesh status` and stop cleanly.
//
// A block no runner recognises fails the test: a new block needs one.
func TestREADMEShellBlocks(t *testing.T) {
	runners := []struct {
		name  string
		match func(string) bool
		run   func(*testing.T, string)
	}{
		{"first screen", func(b string) bool { return strings.Contains(b, "credmesh demo") }, runFirstScreen},
		{"two nodes", func(b string) bool { return strings.Contains(b, "/tmp/a") }, runTwoNodes},
		{"service", func(b string) bool { return strings.Contains(b, "systemctl enable") }, runServiceInstall},
	}
	used := map[string]int{}
	for i, block := range readmeBlocks(t) {
		var matched []int
		for j, r := range runners {
			if r.match(block) {
				matched = append(matched, j)
			}
		}
		if len(matched) != 1 {
			t.Errorf("README block %d is recognised by %d runners, want exactly 1; give it its own:\n%s", i+1, len(matched), block)
			continue
		}
		r := runners[matched[0]]
		used[r.name]++
		t.Run(r.name, func(t *testing.T) { r.run(t, block) })
	}
	for _, r := range runners {
		if used[r.name] != 1 {
			t.Errorf("runner %q matched %d README blocks, want 1", r.name, used[r.name])
		}
	}
}

// commands returns a block's command lines without comments.
func commands(block string) []string {
	var out []string
	for _, l := range strings.Split(block, "\n") {
		if i := strings.Index(l, " #"); i >= 0 {
			l = l[:i]
		}
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func runFirstScreen(t *testing.T, block string) {
	lines := commands(block)
	if len(lines) != 2 || lines[0] != "go run ./cmd/credmesh demo" || lines[1] != "./scripts/test" {
		t.Fatalf("the first screen's commands changed; update this runner: %q", lines)
	}
	t.Log("./scripts/test is the command that runs this test (CI runs it through .ci/run); not run again here")
	cmd := exec.Command("bash", "-c", lines[0])
	cmd.Dir = repoRoot(t)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { stopGroup(cmd.Process.Pid) })
	eventually(t, 5*time.Minute, "the demo's login URLs", func() bool {
		select {
		case err := <-done:
			t.Fatalf("%s exited before it was up: %v\n%s", lines[0], err, out.String())
		default:
		}
		return strings.Contains(out.String(), "press Ctrl-C")
	}, out.String)
	if n := len(regexp.MustCompile(`http://127\.0\.0\.1:\d+/login\?`).FindAllString(out.String(), -1)); n != 3 {
		t.Errorf("the demo printed %d login URLs, want 3:\n%s", n, out.String())
	}
	m := regexp.MustCompile(`data in (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("the demo did not say where its data is:\n%s", out.String())
	}
	// Ctrl-C on a terminal: SIGINT to the whole foreground group. go run
	// itself exits 1 after an interrupt, whatever the program's status, so
	// "cleans up" is checked by what is left, not by the exit code.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	select {
	case err := <-done:
		t.Logf("go run after Ctrl-C: %v", err)
	case <-time.After(time.Minute):
		t.Fatalf("the demo still runs a minute after Ctrl-C\n%s", out.String())
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) || !strings.Contains(out.String(), "removed "+m[1]) {
		t.Fatalf("after Ctrl-C the demo's data dir %s is still there (%v)\n%s", m[1], err, out.String())
	}
	if err := syscall.Kill(-cmd.Process.Pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("a process of the demo is still running after Ctrl-C: %v", err)
	}
}

func runTwoNodes(t *testing.T, block string) {
	tmp := t.TempDir()
	repl := []string{"/tmp/", tmp + "/",
		"go build -o credmesh ", "go -C " + repoRoot(t) + " build -o " + tmp + "/credmesh "}
	for _, p := range []string{"7201", "7202", "7211", "7212"} {
		if !strings.Contains(block, p) {
			t.Fatalf("the two-node recipe no longer uses port %s; update the substitutions", p)
		}
		repl = append(repl, p, fmt.Sprint(portFor(t, tmp+"/port"+p)))
	}
	script := strings.NewReplacer(repl...).Replace(block)
	cmd := exec.Command("bash", "-eu", "-o", "pipefail", "-c", script)
	cmd.Dir = tmp
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A file, not a pipe: the daemons started with & keep their output
	// open, and a pipe would make Wait wait for them too.
	out := &fileOutput{path: filepath.Join(tmp, "output")}
	f, err := os.Create(out.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The daemons started with & outlive bash in its process group.
	t.Cleanup(func() { stopGroup(cmd.Process.Pid) })
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the two-node recipe failed: %v\n%s", err, out.String())
		}
	case <-time.After(5 * time.Minute):
		t.Fatalf("the two-node recipe still runs after 5 minutes\n%s", out.String())
	}
	if !strings.Contains(out.String(), "db-password") {
		t.Fatalf("secret list does not show db-password:\n%s", out.String())
	}
	t.Run("b's credential", func(t *testing.T) {
		needSystemdCreds(t)
		cred := filepath.Join(tmp, "b", "creds", "db-password")
		var got []byte
		eventually(t, 30*time.Second, "b's credential db-password holds hunter2", func() bool {
			got, _ = exec.Command("systemd-creds", "decrypt", "--name=db-password", cred, "-").Output()
			return string(got) == "hunter2"
		}, func() string { return fmt.Sprintf("decrypted %q\n%s", got, out.String()) })
	})
}

// fileOutput reads back what processes wrote to a file.
type fileOutput struct{ path string }

func (o *fileOutput) String() string {
	b, _ := os.ReadFile(o.path)
	return string(b)
}

// stopGroup sends SIGTERM to a process group a test started and waits
// for every process in it to exit.
func stopGroup(pgid int) {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	waitGroupGone(pgid)
}

// waitGroupGone polls every 50 ms, for 15 s at most, until every process
// of a group has exited (they are not this process's children: nothing
// to wait on), then kills what is left.
func waitGroupGone(pgid int) {
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		<-tick.C
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

func runServiceInstall(t *testing.T, block string) {
	needContainer(t)
	root := repoRoot(t)
	goroot := runtime.GOROOT()
	env := goEnv(t, "GOMODCACHE", "GOCACHE", "GOFLAGS")
	binds := []string{"--bind-ro=" + root, "--bind-ro=" + env["GOMODCACHE"], "--bind=" + env["GOCACHE"],
		"--tmpfs=/usr/local/bin"}
	if !strings.HasPrefix(goroot, "/usr/") {
		binds = append(binds, "--bind-ro="+goroot)
	}
	c := bootContainer(t, binds...)
	vars := []string{"PATH=" + goroot + "/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"GOMODCACHE=" + env["GOMODCACHE"], "GOCACHE=" + env["GOCACHE"], "GOFLAGS=" + env["GOFLAGS"],
		"GOPROXY=off", "GOTOOLCHAIN=local"}
	if out, err := c.run(vars, "cd "+root+"\n"+block); err != nil {
		journal, _ := c.run(nil, "journalctl -u credmesh --no-pager | tail -40")
		t.Fatalf("the service block failed in the container: %v\n%s\n%s", err, out, journal)
	}
	out, err := c.run(nil, "systemctl is-active credmesh && credmesh status -o json")
	if err != nil || !strings.Contains(out, `"role": "admin"`) {
		journal, _ := c.run(nil, "journalctl -u credmesh --no-pager | tail -40")
		t.Fatalf("after the block, credmesh is not an active, answering service: %v\n%s\n%s", err, out, journal)
	}
	out, err = c.run(nil, "systemctl stop credmesh && systemctl show -p Result -p ExecMainStatus credmesh")
	if err != nil || !strings.Contains(out, "Result=success") || !strings.Contains(out, "ExecMainStatus=0") {
		t.Fatalf("stopping the service: %v\n%s", err, out)
	}
}

// goEnv reads go env variables.
func goEnv(t *testing.T, names ...string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", append([]string{"env"}, names...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	vals := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(vals) != len(names) {
		t.Fatalf("go env %v printed %d lines", names, len(vals))
	}
	m := map[string]string{}
	for i, n := range names {
		m[n] = vals[i]
	}
	return m
}
