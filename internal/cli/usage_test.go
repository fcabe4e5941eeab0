package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// run runs the command line in-process against a fresh data dir with no
// daemon, as cmd/credmesh does (it exits with the code Main returns).
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	// A bound, so that a check that lets "run" through fails the test
	// (the daemon stops gracefully, exit 0) instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code = Main(ctx, append([]string{"--data-dir", t.TempDir()}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// usageCases call every command wrongly: a missing or extra argument, an
// unknown command or flag, a bad flag value. None needs a daemon: each
// must be refused before one is asked (without a daemon, anything that
// gets that far fails with exit 1, "daemon not running").
var usageCases = []struct {
	name  string
	args  []string
	stdin string
}{
	{"no command", nil, ""},
	{"unknown command", []string{"nosuch"}, ""},
	{"misspelt command", []string{"sercet", "list"}, ""},
	{"unknown global flag", []string{"--bogus", "version"}, ""},
	{"bad log level", []string{"--log-level", "loud", "version"}, ""},
	{"bad log format", []string{"--log-format", "xml", "version"}, ""},

	{"init extra argument", []string{"init", "x"}, ""},
	{"init unknown flag", []string{"init", "--bogus"}, ""},
	{"init bad output", []string{"init", "-o", "yaml"}, ""},
	{"ticket extra argument", []string{"ticket", "x"}, ""},
	{"ticket unknown flag", []string{"ticket", "--bogus"}, ""},
	{"invite extra argument", []string{"invite", "x"}, ""},
	{"invite bad role", []string{"invite", "--role", "king"}, ""},
	{"invite bad expiry", []string{"invite", "--expires", "soon"}, ""},
	{"invite negative expiry", []string{"invite", "--expires", "-1h"}, ""},
	{"invite bad output", []string{"invite", "-o", "yaml"}, ""},
	{"ui extra argument", []string{"ui", "x"}, ""},
	{"ui bad bool", []string{"ui", "--open=maybe"}, ""},
	{"ui bad output", []string{"ui", "-o", "yaml"}, ""},
	{"run bad ticket", []string{"run", "not-a-ticket"}, ""},
	{"run bad listen address", []string{"run", "--listen", "garbage"}, ""},
	{"run bad heartbeat", []string{"run", "--heartbeat", "1ns"}, ""},
	{"run unparsable heartbeat", []string{"run", "--heartbeat", "often"}, ""},
	{"run bad cluster", []string{"run", "--cluster", "a b"}, ""},
	{"run bad web address", []string{"run", "--web", "nonsense"}, ""},
	{"run unknown flag", []string{"run", "--bogus"}, ""},
	{"run bad creds key", []string{"run", "--creds-key", "tpm"}, ""},
	{"run creds user with host key", []string{"run", "--creds-user", "--creds-key", "host"}, ""},
	{"status extra argument", []string{"status", "x"}, ""},
	{"status bad output", []string{"status", "-o", "yaml"}, ""},

	{"peers without command", []string{"peers"}, ""},
	{"peers unknown command", []string{"peers", "nosuch"}, ""},
	{"peers list extra argument", []string{"peers", "list", "x"}, ""},
	{"peers list bad output", []string{"peers", "list", "-o", "yaml"}, ""},
	{"peers add missing ticket", []string{"peers", "add"}, ""},
	{"peers add two tickets", []string{"peers", "add", "a", "b"}, ""},
	{"peers add not a ticket", []string{"peers", "add", "not-a-ticket"}, ""},
	{"peers add bad role", []string{"peers", "add", "x", "--role", "king"}, ""},
	{"peers show missing node", []string{"peers", "show"}, ""},
	{"peers show two nodes", []string{"peers", "show", "a", "b"}, ""},
	{"peers show bad output", []string{"peers", "show", "a", "-o", "yaml"}, ""},
	{"peers approve missing node", []string{"peers", "approve"}, ""},
	{"peers approve bad role", []string{"peers", "approve", "a", "--role", "king"}, ""},
	{"peers ignore missing node", []string{"peers", "ignore"}, ""},
	{"peers ignore two nodes", []string{"peers", "ignore", "a", "b"}, ""},
	{"peers revoke missing node", []string{"peers", "revoke"}, ""},
	{"peers revoke unknown flag", []string{"peers", "revoke", "a", "--bogus"}, ""},
	{"peers promote missing node", []string{"peers", "promote"}, ""},
	{"peers demote two nodes", []string{"peers", "demote", "a", "b"}, ""},

	{"secret without command", []string{"secret"}, ""},
	{"secret unknown command", []string{"secret", "nosuch"}, ""},
	{"secret set missing name", []string{"secret", "set"}, "v"},
	{"secret set two names", []string{"secret", "set", "a", "b"}, "v"},
	{"secret set bad name", []string{"secret", "set", "../etc"}, "v"},
	{"secret set bad restart unit", []string{"secret", "set", "a", "--restart", "no unit!"}, "v"},
	{"secret set empty value", []string{"secret", "set", "a"}, ""},
	{"secret set unknown flag", []string{"secret", "set", "a", "--bogus"}, "v"},
	{"secret get missing name", []string{"secret", "get"}, ""},
	{"secret get target without ciphertext", []string{"secret", "get", "a", "--target", "b"}, ""},
	{"secret list extra argument", []string{"secret", "list", "x"}, ""},
	{"secret list bad output", []string{"secret", "list", "-o", "yaml"}, ""},
	{"secret history missing name", []string{"secret", "history"}, ""},
	{"secret history bad output", []string{"secret", "history", "a", "-o", "yaml"}, ""},
	{"secret share missing name", []string{"secret", "share", "--to", "b"}, ""},
	{"secret share without --to", []string{"secret", "share", "a"}, ""},
	{"secret rm missing name", []string{"secret", "rm"}, ""},
	{"secret rm two names", []string{"secret", "rm", "a", "b"}, ""},

	{"sync extra argument", []string{"sync", "x"}, ""},
	{"sync unknown flag", []string{"sync", "--bogus"}, ""},
	{"audit without command", []string{"audit"}, ""},
	{"audit unknown command", []string{"audit", "nosuch"}, ""},
	{"audit list extra argument", []string{"audit", "list", "x"}, ""},
	{"audit list zero limit", []string{"audit", "list", "--limit", "0"}, ""},
	{"audit list unparsable limit", []string{"audit", "list", "--limit", "x"}, ""},
	{"audit list bad output", []string{"audit", "list", "-o", "yaml"}, ""},
	{"demo extra argument", []string{"demo", "x"}, ""},
	{"version extra argument", []string{"version", "x"}, ""},
	{"help unknown topic", []string{"help", "nosuch"}, ""},
	{"completion without shell", []string{"completion"}, ""},
	{"completion unknown shell", []string{"completion", "tcsh"}, ""},
	{"completion bash extra argument", []string{"completion", "bash", "x"}, ""},
	{"completion zsh extra argument", []string{"completion", "zsh", "x"}, ""},
	{"completion fish unknown flag", []string{"completion", "fish", "--bogus"}, ""},
	{"completion powershell extra argument", []string{"completion", "powershell", "x"}, ""},
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, tc := range usageCases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(t, tc.stdin, tc.args...)
			if code != 2 {
				t.Errorf("credmesh %q: exit %d, want 2 (a usage error)\nstderr: %s", tc.args, code, stderr)
			}
			last := lastLine(stderr)
			if !strings.HasPrefix(last, "credmesh: ") || strings.Contains(last, "daemon not running") {
				t.Errorf("credmesh %q: last stderr line %q, want a one-line usage error", tc.args, last)
			}
		})
	}
}

// TestUsageCasesCoverEveryCommand keeps the table above complete: every
// command, new ones included, must have a usage case.
func TestUsageCasesCoverEveryCommand(t *testing.T) {
	root := newRoot(&env{})
	covered := map[string]bool{}
	for _, tc := range usageCases {
		c, _, err := root.Find(tc.args)
		if err != nil {
			t.Fatalf("find %q: %v", tc.args, err)
		}
		covered[c.CommandPath()] = true
	}
	var missing []string
	walk(root, func(c *cobra.Command) {
		if !c.Hidden && !covered[c.CommandPath()] {
			missing = append(missing, c.CommandPath())
		}
	})
	if len(missing) > 0 {
		t.Errorf("commands without a usage case: %v", missing)
	}
}

func TestEveryCommandHasExamples(t *testing.T) {
	root := newRoot(&env{})
	walk(root, func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		t.Run(c.CommandPath(), func(t *testing.T) {
			if strings.TrimSpace(c.Example) == "" {
				t.Errorf("%s has no Example", c.CommandPath())
			}
			args := append(strings.Fields(strings.TrimPrefix(c.CommandPath(), "credmesh")), "--help")
			code, stdout, stderr := run(t, "", args...)
			if code != 0 || !strings.Contains(stdout, "Examples:") {
				t.Errorf("credmesh %q: exit %d, want 0 and an Examples section\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
			}
		})
	})
}

// TestExitCodes checks the mapping for what is not a usage error: success
// is 0, a failure of a well-formed command is 1.
func TestExitCodes(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		want       int
		wantStderr string
	}{
		{"success", []string{"version"}, 0, ""},
		{"help", []string{"--help"}, 0, ""},
		{"no daemon", []string{"status"}, 1, "daemon not running"},
		{"no identity", []string{"ticket"}, 1, "run: credmesh init"},
		{"unreadable value file", []string{"secret", "set", "a", "--file", "/nonexistent/value"}, 1, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(t, "", tc.args...)
			if code != tc.want || !strings.Contains(stderr, tc.wantStderr) {
				t.Errorf("credmesh %q: exit %d, stderr %q; want exit %d, stderr containing %q", tc.args, code, stderr, tc.want, tc.wantStderr)
			}
		})
	}
}

func TestAuditListOnADataDirThatNeverRan(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"--data-dir", data, "init"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errb.String())
	}
	tests := []struct {
		name       string
		dataDir    string
		args       []string
		want       int
		wantStdout string
		wantStderr string
	}{
		{"text", data, []string{"audit", "list"}, 0, "no audit events yet", ""},
		{"json", data, []string{"audit", "list", "-o", "json"}, 0, `"events": []`, ""},
		{"not initialised", filepath.Join(dir, "none"), []string{"audit", "list"}, 1, "", "run: credmesh init"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), append([]string{"--data-dir", tc.dataDir}, tc.args...), strings.NewReader(""), &out, &errb)
			if code != tc.want || !strings.Contains(out.String(), tc.wantStdout) || !strings.Contains(errb.String(), tc.wantStderr) {
				t.Errorf("%q: exit %d\nstdout %q\nstderr %q\nwant exit %d, stdout with %q, stderr with %q",
					tc.args, code, out.String(), errb.String(), tc.want, tc.wantStdout, tc.wantStderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(data, "credmesh.db")); err == nil {
		t.Error("audit list created the store: a read command must leave the data dir as it was")
	}
}

func TestTicketWithoutDaemonSaysSo(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"--data-dir", data, "init"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "not the daemon's live addresses") {
		t.Errorf("init without a daemon: stderr %q, want it to say its ticket lacks the daemon's live addresses", errb.String())
	}
	out.Reset()
	errb.Reset()
	code := Main(context.Background(), []string{"--data-dir", data, "ticket"}, strings.NewReader(""), &out, &errb)
	if code != 0 || !strings.HasPrefix(out.String(), "credmesh1") {
		t.Fatalf("ticket: exit %d, stdout %q, want 0 and a ticket", code, out.String())
	}
	if !strings.Contains(errb.String(), "not running") || !strings.Contains(errb.String(), "not the daemon's live addresses") {
		t.Errorf("ticket without a daemon: stderr %q, want it to say the ticket lacks the daemon's live addresses", errb.String())
	}
}

func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, s := range c.Commands() {
		walk(s, f)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
