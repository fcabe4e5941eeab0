package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The helpers end the test that calls them, so each case re-runs this
// test in a child process (this test binary) where it calls one helper,
// and judges the verdict go test prints for it.
func TestHelpersVerdicts(t *testing.T) {
	switch os.Getenv("TESTENV_CHILD") {
	case "need":
		Need(t, "a tool is missing")
		t.Fatal("Need returned")
	case "long":
		Long(t, "it takes long")
		return
	}
	for _, tc := range []struct {
		name, child, ci string
		short           bool
		want            string // the verdict line go test prints
	}{
		{"Need skips off CI", "need", "", false, "--- SKIP"},
		{"Need skips with CI=false", "need", "false", false, "--- SKIP"},
		{"Need fails under CI", "need", "true", false, "--- FAIL"},
		{"Long runs without -short", "long", "", false, "--- PASS"},
		{"Long runs in CI", "long", "true", false, "--- PASS"},
		{"Long skips with -short", "long", "", true, "--- SKIP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"-test.run=^TestHelpersVerdicts$", "-test.v"}
			if tc.short {
				args = append(args, "-test.short")
			}
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(os.Environ(), "TESTENV_CHILD="+tc.child, "CI="+tc.ci)
			out, _ := cmd.CombinedOutput()
			want := tc.want + ": TestHelpersVerdicts"
			if !strings.Contains(string(out), want) {
				t.Errorf("CI=%q short=%v: want %q in the child's output:\n%s", tc.ci, tc.short, want, out)
			}
			if tc.want == "--- SKIP" && !strings.Contains(string(out), "skipped") {
				t.Errorf("the skip gives no reason:\n%s", out)
			}
		})
	}
}
