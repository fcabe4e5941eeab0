package crashpoint

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// buildChild builds testdata/child with the build tags given.
func buildChild(t *testing.T, tags string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "child")
	args := []string{"build", "-o", bin}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, "./testdata/child")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, out)
	}
	return bin
}

// runChild runs bin with the crash point variable set to env and says
// how far it got and whether SIGKILL ended it.
func runChild(t *testing.T, bin, env string) (passed int, killed bool) {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), Env+"="+env)
	out, err := cmd.Output()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		ws, _ := ee.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("child with %s=%q: %v", Env, env, err)
		}
		killed = true
	case err != nil:
		t.Fatal(err)
	}
	return strings.Count(string(out), "passed"), killed
}

var cases = []struct {
	env    string
	passed int // passes completed with crash points built in
	killed bool
}{
	{"point", 0, true},
	{"point@2", 1, true},
	{"point@3", 2, true},
	{"point@9", 3, false},
	{"point@0", 3, false}, // 0 is no count: it arms a point named "point@0", never passed
	{"elsewhere", 3, false},
	{"", 3, false},
}

// With -tags crashpoints, the armed hit of the armed point kills the
// process and nothing else does.
func TestKillsAtTheArmedHit(t *testing.T) {
	bin := buildChild(t, "crashpoints")
	for _, tc := range cases {
		passed, killed := runChild(t, bin, tc.env)
		if passed != tc.passed || killed != tc.killed {
			t.Errorf("%s=%q: %d passes, killed=%v; want %d passes, killed=%v", Env, tc.env, passed, killed, tc.passed, tc.killed)
		}
	}
}

// Without the tag (a release build), no value of the variable kills.
func TestReleaseBuildNeverKills(t *testing.T) {
	bin := buildChild(t, "")
	for _, tc := range cases {
		passed, killed := runChild(t, bin, tc.env)
		if passed != 3 || killed {
			t.Errorf("release build, %s=%q: %d passes, killed=%v; want all 3 passes, never killed", Env, tc.env, passed, killed)
		}
	}
}
