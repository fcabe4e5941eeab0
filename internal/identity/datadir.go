package identity

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// File names inside the data dir.
const (
	NodeKeyFile = "node.key"
	AgeKeyFile  = "age.key"
)

// maxKeyFile caps how much of a key file is read; real ones are < 1 KiB.
const maxKeyFile = 64 << 10

// ErrLoosePermissions is returned for a key file or data dir that group or
// others can access.
var ErrLoosePermissions = errors.New("accessible by group or others")

// EnsureDataDir creates dir with mode 0700 when it is missing and tightens
// an existing one that group or others can access to 0700 (tightened
// reports that, for the caller to log). The data dir holds the keys, the
// store and the control socket: nobody but its owner has business there.
func EnsureDataDir(dir string) (tightened bool, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("create data dir: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return false, fmt.Errorf("data dir: %w", err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("data dir %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return false, nil
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return false, fmt.Errorf("data dir %s is %w (mode %04o) and could not be fixed: %v; fix with: chmod 700 %s",
			dir, ErrLoosePermissions, fi.Mode().Perm(), err, dir)
	}
	return true, nil
}

// readPrivate reads a key file after checking that only its owner can
// read it and that it is not larger than maxKeyFile.
func readPrivate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %s is not a regular file", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is %w (mode %04o); fix with: chmod 600 %s",
			path, ErrLoosePermissions, fi.Mode().Perm(), path)
	}
	if fi.Size() > maxKeyFile {
		return nil, fmt.Errorf("key file %s is %d bytes, more than a key file can be (%d)", path, fi.Size(), maxKeyFile)
	}
	return io.ReadAll(io.LimitReader(f, maxKeyFile))
}

// writeNew writes data to path with mode 0600, durably, and fails with
// fs.ErrExist rather than replace an existing file: the data is written to
// a temporary file that is then hard-linked to path.
func writeNew(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", path, fs.ErrExist)
		}
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
