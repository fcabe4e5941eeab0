package credwriter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/credmesh/credmesh/internal/crashpoint"
	"github.com/credmesh/credmesh/internal/record"
)

// tmpMarker is in the name of every temporary credential file.
const tmpMarker = ".credmesh-tmp-"

// credPath returns the credential file of name in dir, refusing any name
// that is not a safe file name.
func credPath(dir, name string) (string, error) {
	if err := record.ValidName(name); err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	if filepath.Dir(p) != filepath.Clean(dir) {
		return "", fmt.Errorf("credential %q escapes %s", name, dir)
	}
	return p, nil
}

// writeCredential encrypts plaintext with r, writes it to a
// temporary 0600 file beside the target, fsyncs it, renames it into place
// and fsyncs the directory. No temporary file survives an error, and one
// a crash leaves is removed at the next start.
func writeCredential(ctx context.Context, r Runner, dir, name string, plaintext []byte) (err error) {
	dst, err := credPath(dir, name)
	if err != nil {
		return err
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, "."+name+tmpMarker+hex.EncodeToString(rnd[:]))
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	cred, err := r.Encrypt(ctx, name, plaintext)
	if err != nil {
		return err
	}
	if len(cred) > MaxReadable {
		return fmt.Errorf("credential is %d bytes encrypted; systemd reads at most %d", len(cred), MaxReadable)
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create temporary credential: %w", err)
	}
	if _, err := f.Write(cred); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	crashpoint.Here(crashpoint.CredentialRenaming)
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("rename credential into place: %w", err)
	}
	return syncDir(dir)
}

// removeCredential removes name's file (gone already is fine).
func removeCredential(dir, name string) error {
	p, err := credPath(dir, name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(dir)
}

// cleanTemp removes temporary files a crash left in dir.
func cleanTemp(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), tmpMarker) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
