package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/credmesh/credmesh/internal/api"
)

func TestInitKeepsIdentity(t *testing.T) {
	dir := dataDir(t)
	first := mustCLI(t, dir, "init", "-o", "json")
	second := mustCLI(t, dir, "init")
	var res struct {
		Created bool   `json:"created"`
		NodeID  string `json:"node_id"`
		Ticket  string `json:"ticket"`
	}
	if err := json.Unmarshal([]byte(first), &res); err != nil {
		t.Fatalf("init -o json: %v\n%s", err, first)
	}
	if !res.Created || !strings.HasPrefix(res.NodeID, "12D3KooW") || !strings.HasPrefix(res.Ticket, "credmesh1") {
		t.Fatalf("first init = %+v", res)
	}
	contains(t, "second init", second, "already exists", "keeping it", res.NodeID)
	for _, f := range []string{"node.key", "age.key"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %04o, want 0600", f, fi.Mode().Perm())
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %04o, want 0700", fi.Mode().Perm())
	}
	ticketFile := filepath.Join(t.TempDir(), "ticket")
	mustCLI(t, dir, "init", "--ticket-file", ticketFile)
	written, err := os.ReadFile(ticketFile)
	if err != nil {
		t.Fatal(err)
	}
	printed := strings.TrimSpace(mustCLI(t, dir, "ticket"))
	if strings.TrimSpace(string(written)) != printed || !strings.HasPrefix(printed, "credmesh1") {
		t.Fatalf("ticket file %q and ticket %q differ", written, printed)
	}
}

func TestRunRefusesReadableKey(t *testing.T) {
	dir := dataDir(t)
	mustCLI(t, dir, "init")
	key := filepath.Join(dir, "node.key")
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	r := cli(t, dir, "run")
	if r.code == 0 {
		t.Fatal("run with a 0644 key succeeded")
	}
	contains(t, "stderr", r.stderr, key, "chmod 600 "+key)
	if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
		t.Errorf("error is %d lines, want one:\n%s", n+1, r.stderr)
	}
}

func TestRunStatusStop(t *testing.T) {
	dir := dataDir(t)
	nodeID := strings.Fields(strings.Split(mustCLI(t, dir, "init"), "\n")[1])[2]

	r := cli(t, dir, "status")
	if r.code == 0 {
		t.Fatal("status without a daemon succeeded")
	}
	contains(t, "status stderr", r.stderr, "daemon not running (no socket at "+filepath.Join(dir, "control.sock")+")")

	d := startDaemon(t, dir)
	d.waitReady()
	var st api.Status
	if err := json.Unmarshal([]byte(mustCLI(t, dir, "status", "-o", "json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.NodeID != nodeID || st.Hostname == "" || st.Version == "" || st.Counts.Events < 1 {
		t.Fatalf("status = %+v, want node %s with a hostname, a version and the start event", st, nodeID)
	}
	sock := filepath.Join(dir, "control.sock")
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("control socket mode %04o, want 0600", fi.Mode().Perm())
	}
	// A second daemon on the same data dir is refused.
	if r := cli(t, dir, "run"); r.code == 0 || !strings.Contains(r.stderr, "another credmesh daemon") {
		t.Fatalf("second run = exit %d, %q", r.code, r.stderr)
	}

	d.shutdown(syscall.SIGTERM)
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Fatalf("control socket left behind after a clean stop: %v", err)
	}
	logs := d.logs.String()
	contains(t, "logs", logs, "node ready", "node stopped")
	if strings.Contains(logs, "AGE-SECRET-KEY") || strings.Contains(logs, "PRIVATE KEY") {
		t.Fatal("logs contain key material")
	}

	// The audit log works without the daemon.
	audit := mustCLI(t, dir, "audit", "list", "-o", "json")
	var page api.Events
	if err := json.Unmarshal([]byte(audit), &page); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range page.Events {
		types = append(types, e.Type)
	}
	if got := strings.Join(types, ","); got != "node.stop,node.start" {
		t.Fatalf("audit types = %s, want node.stop,node.start", got)
	}
}

func TestRestartAfterKill9(t *testing.T) {
	dir := dataDir(t)
	d := startDaemon(t, dir)
	d.waitReady()
	if code := d.stop(syscall.SIGKILL); code != -int(syscall.SIGKILL) {
		t.Fatalf("kill -9 gave exit %d", code)
	}
	if _, err := os.Lstat(filepath.Join(dir, "control.sock")); err != nil {
		t.Fatalf("expected a stale socket after kill -9: %v", err)
	}
	d2 := startDaemon(t, dir)
	d2.waitReady()
	d2.shutdown(syscall.SIGINT)
}

// TestUsageErrors runs the real binary, so it checks the exit code
// cmd/credmesh passes on from cli.Main: 2 for a usage error, 1 for any
// other, each with a one-line error (internal/cli has the table over
// every command).
func TestUsageErrors(t *testing.T) {
	dir := dataDir(t)
	tests := []struct {
		name       string
		args       []string
		want       int
		wantStderr string
	}{
		{"unknown command", []string{"nosuchcommand"}, 2, "unknown command"},
		{"bad output format", []string{"status", "-o", "yaml"}, 2, "-o must be"},
		{"bad log level", []string{"--log-level", "loud", "version"}, 2, "--log-level"},
		{"limit out of range", []string{"audit", "list", "--limit", "0"}, 2, "--limit"},
		{"unparsable flag value", []string{"audit", "list", "--limit", "x"}, 2, "invalid argument"},
		{"unknown flag", []string{"status", "--bogus"}, 2, "unknown flag"},
		{"extra argument", []string{"init", "extra"}, 2, "no arguments"},
		{"peers add without a ticket", []string{"peers", "add"}, 2, "accepts 1 arg"},
		{"secret set without a name", []string{"secret", "set"}, 2, "accepts 1 arg"},
		{"no daemon", []string{"status"}, 1, "daemon not running"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, dir, tc.args...)
			if r.code != tc.want || !strings.Contains(r.stderr, tc.wantStderr) {
				t.Errorf("credmesh %q: exit %d, stderr %q; want exit %d, stderr with %q", tc.args, r.code, r.stderr, tc.want, tc.wantStderr)
			}
			if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("credmesh %q: want a one-line error, got %q", tc.args, r.stderr)
			}
		})
	}
	if out := mustCLI(t, dir, "version"); !strings.HasPrefix(out, "credmesh ") {
		t.Errorf("version printed %q", out)
	}
}

func TestDataDirFromEnv(t *testing.T) {
	dir := dataDir(t)
	t.Setenv("CREDMESH_DATA_DIR", dir)
	// cli() passes --data-dir; run the binary bare here.
	out, err := runBare("init", "-o", "json")
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "node.key")); err != nil {
		t.Fatalf("CREDMESH_DATA_DIR was not used: %v", err)
	}
}
