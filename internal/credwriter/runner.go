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
	"syscall"

	"github.com/credmesh/credmesh/internal/record"
)

// Runner encrypts credentials: in process with the host key
// (InProcess) or by running systemd-creds (SystemdCreds).
type Runner interface {
	// Encrypt returns plaintext encrypted as the credential name. The
	// caller writes the file, so nothing but this process ever creates
	// one (a crash leaves no child writing behind it).
	Encrypt(ctx context.Context, name string, plaintext []byte) ([]byte, error)
}

// maxCredential caps what systemd-creds may print: an encrypted
// credential of the largest secret is well under it.
const maxCredential = 4 << 20

// MaxReadable is the largest credential file systemd reads back
// (CREDENTIAL_ENCRYPTED_SIZE_MAX in systemd's creds-util.h, 252 and
// later): a larger file is never written, since no service could load it.
const MaxReadable = 1<<20 + 128<<10

// ErrNoSystemdCreds is returned when systemd-creds is not installed.
var ErrNoSystemdCreds = errors.New("systemd-creds not found in PATH (install systemd)")

// SystemdCreds runs the real systemd-creds.
type SystemdCreds struct {
	// User asks for user-scoped credentials (systemd-creds --user, 256+).
	User bool
	// WithKey, when set, is passed as --with-key= ("host+tpm2" for
	// --creds-key tpm2); empty leaves the key to systemd's default.
	WithKey string
}

var _ Runner = SystemdCreds{}

// Encrypt runs `systemd-creds encrypt --name=NAME - -`: the plaintext on
// stdin, never on the command line, the credential on stdout. The child
// gets SIGKILL if this process dies first.
func (s SystemdCreds) Encrypt(ctx context.Context, name string, plaintext []byte) ([]byte, error) {
	path, err := exec.LookPath("systemd-creds")
	if err != nil {
		return nil, ErrNoSystemdCreds
	}
	args := []string{"encrypt", "--name=" + name}
	if s.User {
		args = append(args, "--user")
	}
	if s.WithKey != "" {
		args = append(args, "--with-key="+s.WithKey)
	}
	cmd := exec.CommandContext(ctx, path, append(args, "-", "-")...)
	cmd.SysProcAttr = childAttr()
	cmd.Stdin = bytes.NewReader(plaintext)
	out := &capped{max: maxCredential}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("systemd-creds encrypt: %v: %s", err, lastLine(stderr.String()))
	}
	if out.over {
		return nil, fmt.Errorf("systemd-creds encrypt printed more than %d bytes", maxCredential)
	}
	if out.buf.Len() == 0 {
		return nil, errors.New("systemd-creds encrypt printed nothing")
	}
	return out.buf.Bytes(), nil
}

// childAttr runs a child of the daemon in a process group of its own, so
// that Ctrl-C on a terminal (a SIGINT to the whole foreground group)
// reaches only the daemon, which then stops its children itself, instead
// of failing a credential being written; and kills the child with
// SIGKILL if the daemon dies first.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// capped keeps up to max bytes and notes whether more came.
type capped struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if c.buf.Len()+len(p) > c.max {
		c.over = true
		return len(p), nil
	}
	return c.buf.Write(p)
}

// lastLine keeps the useful end of a tool's error output.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.Contains(l, "not located on encrypted media") {
			return record.TruncateText(l, 300)
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
	cmd := exec.CommandContext(ctx, path, "--version")
	cmd.SysProcAttr = childAttr()
	out, err := cmd.Output()
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

// Encrypt returns plaintext unencrypted.
func (PlainFiles) Encrypt(_ context.Context, _ string, plaintext []byte) ([]byte, error) {
	return bytes.Clone(plaintext), nil
}

// Available reports whether real credentials can be written here:
// systemd-creds is installed and this process runs as root (it encrypts
// with the host key).
func Available() bool {
	_, err := exec.LookPath("systemd-creds")
	return err == nil && os.Geteuid() == 0
}
