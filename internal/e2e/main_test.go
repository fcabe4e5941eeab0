package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bin is the credmesh binary built once for the whole package, as a
// release is built (no tags); the daemons run daemonBin, which is bin
// built with -race when the tests run with -race (CLI commands use the
// plain one: a race binary takes a second just to start). binDir holds
// them.
var bin, daemonBin, binDir string

// crashBin is credmesh built with -tags crashpoints, for the crash
// harness; crashBinary builds it on first use.
var (
	crashOnce sync.Once
	crashBin  string
	crashErr  error
)

// crashBinary returns the path of credmesh built with crash points.
func crashBinary(t testing.TB) string {
	t.Helper()
	crashOnce.Do(func() {
		path := filepath.Join(binDir, "credmesh-crashpoints")
		out, err := exec.Command("go", "build", "-tags", "crashpoints", "-o", path, "github.com/credmesh/credmesh/cmd/credmesh").CombinedOutput()
		if err != nil {
			crashErr = fmt.Errorf("go build -tags crashpoints: %v\n%s", err, out)
			return
		}
		crashBin = path
	})
	if crashErr != nil {
		t.Fatal(crashErr)
	}
	return crashBin
}

func TestMain(m *testing.M) {
	if os.Getenv(probeEnv) != "" {
		os.Exit(probe()) // this binary, run as another user by TestWebRefusesAnotherLocalUser
	}
	dir, err := os.MkdirTemp("", "credmesh-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	bin = filepath.Join(dir, "credmesh")
	daemonBin = bin
	builds := [][]string{{"build", "-o", bin}}
	if raceEnabled {
		daemonBin = filepath.Join(dir, "credmesh-race")
		builds = append(builds, []string{"build", "-race", "-o", daemonBin})
	}
	for _, args := range builds {
		build := exec.Command("go", append(args, "github.com/credmesh/credmesh/cmd/credmesh")...)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build credmesh:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one finished command printed.
type result struct {
	stdout, stderr string
	code           int
}

// cli runs one credmesh command against dataDir and waits for it.
func cli(t testing.TB, dataDir string, args ...string) result {
	t.Helper()
	return cliIn(t, dataDir, nil, args...)
}

// cliIn runs one credmesh command with stdin.
func cliIn(t testing.TB, dataDir string, stdin []byte, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--data-dir", dataDir}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("credmesh %v: %v", args, err)
	}
	return r
}

// mustCLI runs a command that must succeed.
func mustCLI(t testing.TB, dataDir string, args ...string) string {
	t.Helper()
	r := cli(t, dataDir, args...)
	if r.code != 0 {
		t.Fatalf("credmesh %v: exit %d\nstderr: %s", args, r.code, r.stderr)
	}
	return r.stdout
}

// daemon is a running `credmesh run` process.
type daemon struct {
	t       testing.TB
	dataDir string
	cmd     *exec.Cmd
	logs    *syncBuffer
	done    chan struct{}
	err     error
}

func startDaemon(t testing.TB, dataDir string, args ...string) *daemon {
	t.Helper()
	return startDaemonWith(t, daemonOpts{}, dataDir, args...)
}

// daemonOpts vary how a daemon runs: another binary (the crash harness
// uses the plain one, which starts faster than the race build), more
// environment, a command it runs under (the partition harness uses
// "ip netns exec NS", which execs the daemon in place: same PID), more
// arguments to run.
type daemonOpts struct {
	bin  string
	env  []string
	wrap []string
	args []string
}

func startDaemonWith(t testing.TB, o daemonOpts, dataDir string, args ...string) *daemon {
	t.Helper()
	if o.bin == "" {
		o.bin = daemonBin
	}
	d := &daemon{t: t, dataDir: dataDir, logs: &syncBuffer{}, done: make(chan struct{})}
	// Never the machine's own credential directory: a test's credentials
	// go into its data dir unless it names another one.
	argv := append([]string{o.bin, "--data-dir", dataDir, "--log-level", "debug", "run", "--web", "127.0.0.1:0",
		"--creds-dir", filepath.Join(dataDir, "creds")}, append(o.args, args...)...)
	argv = append(append([]string{}, o.wrap...), argv...)
	d.cmd = exec.Command(argv[0], argv[1:]...)
	d.cmd.Env = append(os.Environ(), o.env...)
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			_ = d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("daemon %s logs:\n%s", dataDir, d.logs.String())
		}
	})
	return d
}

// waitReady polls `status` until the daemon answers.
func (d *daemon) waitReady() {
	d.t.Helper()
	var last string
	eventually(d.t, 30*time.Second, "daemon in "+d.dataDir+" ready", func() bool {
		select {
		case <-d.done:
			d.t.Fatalf("daemon exited before it was ready: %v\n%s", d.err, d.logs.String())
		default:
		}
		r := cli(d.t, d.dataDir, "status", "-o", "json")
		last = r.stderr
		return r.code == 0
	}, func() string { return last + "\nlogs:\n" + d.logs.String() })
}

// eventually polls cond every 50ms until it holds, failing the test with
// what and detail() after timeout. It is for multi-process tests, where
// nothing can be waited on directly; the bound is generous and never a
// performance assertion.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool, detail func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			msg := ""
			if detail != nil {
				msg = detail()
			}
			t.Fatalf("timed out after %v waiting for %s\n%s", timeout, what, msg)
		}
		<-tick.C
	}
}

// stop sends sig and waits for the exit (30 s at most), returning the
// exit code, or minus the signal that ended the process.
func (d *daemon) stop(sig syscall.Signal) (code int) {
	d.t.Helper()
	code, _ = d.stopTimed(sig)
	return code
}

func (d *daemon) stopTimed(sig syscall.Signal) (code int, took time.Duration) {
	d.t.Helper()
	begin := time.Now()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatal(err)
	}
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.t.Fatalf("daemon did not exit 30s after %v\n%s", sig, d.logs.String())
	}
	took = time.Since(begin)
	var ee *exec.ExitError
	if errors.As(d.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -int(ws.Signal()), took
		}
		return ee.ExitCode(), took
	}
	return 0, took
}

// shutdownBound is the graceful stop the daemon promises (DESIGN §2, the
// README's `run`): on SIGINT or SIGTERM it exits 0 within 5 s. It is a
// product contract, not a performance figure, so it is asserted as is,
// measured from the signal to the reaped exit.
const shutdownBound = 5 * time.Second

// shutdown stops the daemon with sig (SIGTERM or SIGINT) and fails the
// test unless it exits 0 within shutdownBound.
func (d *daemon) shutdown(sig syscall.Signal) {
	d.t.Helper()
	code, took := d.stopTimed(sig)
	if code != 0 {
		d.t.Fatalf("exit code after %v = %d, want 0\n%s", sig, code, d.logs.String())
	}
	if took > shutdownBound {
		d.t.Fatalf("the daemon took %v to stop after %v, more than the %v it promises\n%s", took.Round(time.Millisecond), sig, shutdownBound, d.logs.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func dataDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "data")
}

func contains(t testing.TB, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, s)
		}
	}
}

// runBare runs the binary with args only (no --data-dir).
func runBare(args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

// jsonField returns a top-level string field of a JSON object.
func jsonField(t testing.TB, s, field string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%v in %s", err, s)
	}
	v, _ := m[field].(string)
	return v
}
