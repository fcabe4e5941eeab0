package credwriter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// Runner runs systemd-creds.
type Runner interface {
	// Encrypt writes plaintext, read from stdin, as the encrypted
	// credential name to the file out.
	Encrypt(ctx context.Context, name string, plaintext []byte, out string) error
}

// ErrNoSystemdCreds is returned when systemd-creds is not installed.
var ErrNoSystemdCreds = errors.New("systemd-creds not found in PATH (install systemd)")

// SystemdCreds runs the real systemd-creds.
type SystemdCreds struct {
	// User asks for user-scoped credentials (systemd-creds --user, 256+).
	User bool
}

var _ Runner = SystemdCreds{}

// Encrypt runs `systemd-creds encrypt --name=NAME - OUT`, the plaintext on
// stdin, never on the command line.
func (s SystemdCreds) Encrypt(ctx context.Context, name string, plaintext []byte, out string) error {
	path, err := exec.LookPath("systemd-creds")
	if err != nil {
		return ErrNoSystemdCreds
	}
	args := []string{"encrypt", "--name=" + name}
	if s.User {
		args = append(args, "--user")
	}
	cmd := exec.CommandContext(ctx, path, append(args, "-", out)...)
	cmd.Stdin = bytes.NewReader(plaintext)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("systemd-creds encrypt: %v: %s", err, lastLine(stderr.String()))
	}
	return nil
}

// lastLine keeps the useful end of a tool's error output.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.Contains(l, "not located on encrypted media") {
			if len(l) > 300 {
				l = l[:300]
			}
			return l
		}
	}
	return "no output"
}

var versionRE = regexp.MustCompile(`^systemd (\d+)`)

// SystemdVersion returns the installed systemd's version number.
func SystemdVersion(ctx context.Context) (int, error) {
	path, err := exec.LookPath("systemd-creds")
	if err != nil {
		return 0, ErrNoSystemdCreds
	}
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return 0, fmt.Errorf("systemd-creds --version: %w", err)
	}
	m := versionRE.FindStringSubmatch(string(out))
	if m == nil {
		return 0, fmt.Errorf("systemd-creds --version printed %q", lastLine(string(out)))
	}
	return strconv.Atoi(m[1])
}

// PlainFiles is for `credmesh demo` run without root only: it writes the
// plaintext itself, mode 0600, where systemd-creds would write the
// encrypted credential. Nothing else uses it.
type PlainFiles struct{}

var _ Runner = PlainFiles{}

// Encrypt writes plaintext to out unencrypted.
func (PlainFiles) Encrypt(_ context.Context, _ string, plaintext []byte, out string) error {
	return os.WriteFile(out, plaintext, 0o600)
}

// Available reports whether real credentials can be written here:
// systemd-creds is installed and this process runs as root (it encrypts
// with the host key).
func Available() bool {
	_, err := exec.LookPath("systemd-creds")
	return err == nil && os.Geteuid() == 0
}
