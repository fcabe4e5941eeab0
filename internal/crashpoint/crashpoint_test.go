package crashpoint

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// The test binary runs itself as the child that crashes.
func TestMain(m *testing.M) {
	if os.Getenv("CRASHPOINT_CHILD") == "1" {
		for i := 1; i <= 3; i++ {
			Here("other")
			Here("point")
			fmt.Println("passed", i)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func child(t *testing.T, env string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "CRASHPOINT_CHILD=1", Env+"="+env)
	out, err := cmd.Output()
	return string(out), err
}

func TestKillsAtTheArmedHit(t *testing.T) {
	for _, tc := range []struct {
		env    string
		passed int
		killed bool
	}{
		{"point", 0, true},
		{"point@2", 1, true},
		{"point@9", 3, false},
		{"elsewhere", 3, false},
		{"", 3, false},
	} {
		out, err := child(t, tc.env)
		var ee *exec.ExitError
		killed := errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
		if killed != tc.killed || strings.Count(out, "passed") != tc.passed {
			t.Errorf("%s=%q: killed=%v after %d passes (%v), want killed=%v after %d", Env, tc.env, killed, strings.Count(out, "passed"), err, tc.killed, tc.passed)
		}
	}
}
