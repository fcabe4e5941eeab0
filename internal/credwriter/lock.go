package credwriter

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// LockDir creates the credential directory if needed and takes an
// exclusive lock on the directory itself, held until the returned file is
// closed (or the process dies). Two daemons on one machine can then never
// write into one directory and overwrite each other's credentials. The
// lock is a flock on the directory, not a file in it: the directory holds
// only credentials, so a service importing every credential in it
// (ImportCredential=*) finds nothing else.
func LockDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("credential directory: %w", err)
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("credential directory: %w", err)
	}
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		return f, nil
	}
	defer f.Close()
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return nil, fmt.Errorf("credential directory %s is in use by %s; give each daemon on a machine its own --creds-dir", dir, lockHolder(f))
	}
	return nil, fmt.Errorf("lock credential directory: %w", err)
}

// lockHolder names the process holding the flock on f, from /proc/locks,
// or says it is another process when it cannot tell.
func lockHolder(f *os.File) string {
	const unknown = "another process"
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return unknown
	}
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		return unknown
	}
	pid := flockHolder(locks, st.Ino)
	if pid <= 0 {
		return unknown
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(cmdline) == 0 {
		return fmt.Sprintf("process %d", pid)
	}
	args := strings.Join(strings.Fields(string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))), " ")
	if len(args) > 200 {
		args = args[:200] + "…"
	}
	return fmt.Sprintf("process %d (%s)", pid, args)
}

// flockHolder finds the PID holding a FLOCK on inode ino in the text of
// /proc/locks ("1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"), or 0.
func flockHolder(locks []byte, ino uint64) int {
	sc := bufio.NewScanner(bytes.NewReader(locks))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[1] != "FLOCK" {
			continue
		}
		parts := strings.Split(f[5], ":")
		if len(parts) != 3 || parts[2] != strconv.FormatUint(ino, 10) {
			continue
		}
		if pid, err := strconv.Atoi(f[4]); err == nil {
			return pid
		}
	}
	return 0
}
