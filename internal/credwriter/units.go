package credwriter

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"strings"
)

// UnitManager is the part of systemd's service manager the actor uses.
type UnitManager interface {
	// TryRestart restarts unit if it is running.
	TryRestart(ctx context.Context, unit string) error
	// UnitsLoading returns, for each credential name, the loaded units that
	// load it (LoadCredentialEncrypted, LoadCredential or ImportCredential).
	UnitsLoading(ctx context.Context, names []string) (map[string][]string, error)
}

// ErrNoManager is returned when no systemd manager can be reached.
var ErrNoManager = errors.New("no systemd manager reachable")

// Systemctl reaches the system manager through systemctl.
type Systemctl struct {
	User bool // talk to the user manager (--user)
}

var _ UnitManager = Systemctl{}

func (s Systemctl) run(ctx context.Context, args ...string) ([]byte, error) {
	p, err := exec.LookPath("systemctl")
	if err != nil {
		return nil, fmt.Errorf("%w: systemctl not installed", ErrNoManager)
	}
	if s.User {
		args = append([]string{"--user"}, args...)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, p, args...)
	cmd.SysProcAttr = childAttr()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := lastLine(stderr.String())
		if strings.Contains(msg, "Failed to connect to bus") || strings.Contains(msg, "System has not been booted with systemd") ||
			strings.Contains(msg, "Failed to connect to system scope bus") {
			return nil, fmt.Errorf("%w: %s", ErrNoManager, msg)
		}
		return nil, fmt.Errorf("systemctl %s: %v: %s", strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}

// TryRestart runs `systemctl try-restart UNIT`.
func (s Systemctl) TryRestart(ctx context.Context, unit string) error {
	_, err := s.run(ctx, "try-restart", "--", unit)
	return err
}

// UnitsLoading asks systemctl once for the credential properties of every
// loaded service and returns those that load each name.
func (s Systemctl) UnitsLoading(ctx context.Context, names []string) (map[string][]string, error) {
	out, err := s.run(ctx, "show", "--type=service", "--state=loaded",
		"--property=Id,LoadCredentialEncrypted,LoadCredential,ImportCredential,FragmentPath,DropInPaths", "*")
	if err != nil {
		return nil, err
	}
	out = addUnitFileCredentials(out, readUnitFile)
	m := make(map[string][]string, len(names))
	for _, n := range names {
		m[n] = ParseUnitsLoading(out, n)
	}
	return m, nil
}

// ParseUnitsLoading reads `systemctl show` output (blocks of Key=Value
// lines, one block per unit, separated by blank lines) and returns the Ids
// of units whose LoadCredentialEncrypted or LoadCredential names name
// (ID or ID:PATH), or whose ImportCredential glob matches it.
func ParseUnitsLoading(out []byte, name string) []string {
	var units []string
	var id string
	match := false
	flush := func() {
		if id != "" && match {
			units = append(units, id)
		}
		id, match = "", false
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch key {
		case "Id":
			id = val
		case "LoadCredentialEncrypted", "LoadCredential":
			for _, f := range strings.Fields(val) {
				cred, _, _ := strings.Cut(f, ":")
				if cred == name {
					match = true
				}
			}
		case "ImportCredential":
			for _, f := range strings.Fields(val) {
				if ok, _ := path.Match(f, name); ok {
					match = true
				}
			}
		}
	}
	flush()
	return units
}

// maxUnitFile caps how much of one unit file is read: unit files are
// small, and a larger one is read only this far.
const maxUnitFile = 1 << 20

// readUnitFile reads at most maxUnitFile bytes of a unit file.
func readUnitFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxUnitFile))
}

// unprintable is what systemctl show prints for a property it cannot
// format: systemd 252 (Debian 12) prints LoadCredential and
// LoadCredentialEncrypted so.
const unprintable = "[unprintable]"

// addUnitFileCredentials appends to each block of `systemctl show` output
// whose credential properties are unprintable the LoadCredential,
// LoadCredentialEncrypted and ImportCredential lines of the unit's files
// (FragmentPath, then DropInPaths), read with readFile, so that
// ParseUnitsLoading finds them. Blocks systemctl printed are kept as they
// are; a file that cannot be read adds nothing.
func addUnitFileCredentials(out []byte, readFile func(string) ([]byte, error)) []byte {
	var res bytes.Buffer
	for _, block := range bytes.Split(out, []byte("\n\n")) {
		block = bytes.Trim(block, "\n")
		if len(block) == 0 {
			continue
		}
		res.Write(block)
		var files []string
		hidden := false
		for _, line := range strings.Split(string(block), "\n") {
			key, val, _ := strings.Cut(line, "=")
			switch key {
			case "LoadCredential", "LoadCredentialEncrypted", "ImportCredential":
				hidden = hidden || val == unprintable
			case "FragmentPath":
				if val != "" {
					files = append(files, val)
				}
			case "DropInPaths":
				files = append(files, strings.Fields(val)...)
			}
		}
		if hidden {
			for _, f := range files {
				b, err := readFile(f)
				if err != nil {
					continue
				}
				for _, line := range strings.Split(string(b), "\n") {
					key, val, ok := strings.Cut(strings.TrimSpace(line), "=")
					key = strings.TrimSpace(key)
					if ok && (key == "LoadCredential" || key == "LoadCredentialEncrypted" || key == "ImportCredential") {
						res.WriteString("\n" + key + "=" + strings.TrimSpace(val))
					}
				}
			}
		}
		res.WriteString("\n\n")
	}
	return res.Bytes()
}
