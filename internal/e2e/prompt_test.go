package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns a new pseudo-terminal: the master (what a terminal
// emulator holds) and the slave (what the program sees as its terminal).
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pseudo-terminal number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the pseudo-terminal's slave: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// echoOff reports whether the terminal has echo turned off (a program is
// reading a password).
func echoOff(t *testing.T, tty *os.File) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio.Lflag&unix.ECHO == 0
}

// On a terminal, secret set asks twice without echo, refuses a mismatch
// and stores what was typed without the newline.
func TestSecretSetPromptsOnATerminal(t *testing.T) {
	n := startMesh(t, "alpha", dataDir(t))
	tests := []struct {
		name       string
		lines      [2]string
		wantCode   int
		wantStored bool
	}{
		{"same twice", [2]string{"hunter2", "hunter2"}, 0, true},
		{"mismatch", [2]string{"hunter2", "hunter3"}, 1, false},
		{"empty", [2]string{"", ""}, 2, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("typed-%d", i)
			master, slave := openPTY(t)
			screen := &syncBuffer{}
			go func() {
				buf := make([]byte, 4096)
				for {
					k, err := master.Read(buf)
					screen.Write(buf[:k])
					if err != nil {
						return
					}
				}
			}()
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--data-dir", n.dataDir, "secret", "set", name)
			var stdout bytes.Buffer
			cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, &stdout, slave
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			for i, prompt := range []string{"value of " + name, "the same again"} {
				eventually(t, 30*time.Second, "the prompt "+prompt+" with echo off", func() bool {
					return strings.Contains(screen.String(), prompt) && echoOff(t, slave)
				}, screen.String)
				if _, err := master.Write([]byte(tc.lines[i] + "\n")); err != nil {
					t.Fatal(err)
				}
			}
			code := 0
			if err := cmd.Wait(); err != nil {
				code = err.(*exec.ExitError).ExitCode()
			}
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nterminal:\n%s", code, tc.wantCode, screen.String())
			}
			if tc.lines[0] != "" && strings.Contains(screen.String(), tc.lines[0]) {
				t.Errorf("the typed value was echoed:\n%s", screen.String())
			}
			got, ok := get(t, n, name)
			if ok != tc.wantStored || (ok && string(got) != tc.lines[0]) {
				t.Errorf("stored %q (ok %v), want %q stored %v: no newline added", got, ok, tc.lines[0], tc.wantStored)
			}
		})
	}
}
