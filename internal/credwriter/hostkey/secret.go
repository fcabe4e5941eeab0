package hostkey

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"syscall"
)

// Where systemd keeps what the host key is made of.
const (
	// DefaultPath is the host secret systemd uses
	// (get_credential_host_secret; SYSTEMD_CREDENTIAL_SECRET overrides it
	// for systemd's own tools, a debugging knob).
	DefaultPath = "/var/lib/systemd/credential.secret"
	// MachineIDPath is the machine ID the secret is bound to.
	MachineIDPath = "/etc/machine-id"

	maxSecretFile = 16 << 20 // systemd refuses a larger secret file
	secretIDSize  = 16       // the machine-bound ID before the secret proper
)

// credentialAppID is the application ID systemd derives the secret's
// machine-bound ID with (credential_app_id in creds-util.c).
var credentialAppID = [16]byte{0xd3, 0xac, 0xec, 0xba, 0x0d, 0xad, 0x4c, 0xdf, 0xb8, 0xc9, 0x38, 0x15, 0x28, 0x93, 0x6c, 0x58}

// Errors of LoadHostKey that callers branch on.
var (
	// ErrNoSecret: the host secret does not exist yet.
	ErrNoSecret = errors.New("host secret does not exist")
	// ErrOtherMachine: the secret was made for another machine ID.
	ErrOtherMachine = errors.New("host secret belongs to another machine")
	// ErrUnsafeSecret: the file is not one systemd (or credmesh) trusts:
	// wrong type, mode, owner, link count or size.
	ErrUnsafeSecret = errors.New("host secret file refused")
)

// HostKey is the AES-256 key systemd derives from the host secret, with
// the identity of the files it came from. The zero value holds no key.
// It never prints the key (String, LogValue).
type HostKey struct {
	ok        bool
	key       [keySize]byte
	path      string
	machineID string // the machine ID file it was checked against
	file      fileID
	machine   fileID
}

// fileID is what tells a file apart from its replacement or a rewrite.
type fileID struct {
	dev, ino, nlink uint64
	mode, uid       uint32
	size            int64
	mtime, ctime    syscall.Timespec
}

func idOf(st *syscall.Stat_t) fileID {
	return fileID{dev: uint64(st.Dev), ino: st.Ino, nlink: uint64(st.Nlink), mode: st.Mode, uid: st.Uid,
		size: st.Size, mtime: st.Mtim, ctime: st.Ctim}
}

// LoadHostKey reads the host secret at path (normally DefaultPath) the
// way systemd does and derives the key: the file must be a regular file
// (not a symbolic link) with one link, mode 0400, 17 bytes to 16 MiB, and
// begin with this machine's ID; credmesh also wants it owned by root.
// Every refusal says how to fix it.
func LoadHostKey(path string) (HostKey, error) {
	return loadHostKey(path, MachineIDPath)
}

func loadHostKey(path, machineIDPath string) (HostKey, error) {
	want, mid, err := machineSecretID(machineIDPath)
	if err != nil {
		return HostKey{}, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NOCTTY, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return HostKey{}, fmt.Errorf("%w: %s is missing; run `systemd-creds setup` as root to create it", ErrNoSecret, path)
	case errors.Is(err, syscall.ELOOP):
		return HostKey{}, fmt.Errorf("%w: %s is a symbolic link, which systemd refuses; replace it with the file itself", ErrUnsafeSecret, path)
	case err != nil:
		return HostKey{}, fmt.Errorf("open host secret: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return HostKey{}, fmt.Errorf("stat host secret: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return HostKey{}, fmt.Errorf("stat host secret %s: no file details", path)
	}
	if err := checkSecretFile(path, st); err != nil {
		return HostKey{}, err
	}
	buf := make([]byte, st.Size+1) // one more, to see a file that grew
	n, err := io.ReadFull(f, buf)
	defer clear(buf)
	switch {
	case err == nil || int64(n) != st.Size:
		return HostKey{}, fmt.Errorf("read host secret %s: it changed while being read; try again", path)
	case err != io.ErrUnexpectedEOF:
		return HostKey{}, fmt.Errorf("read host secret: %w", err)
	}
	if !bytes.Equal(buf[:secretIDSize], want[:]) {
		return HostKey{}, fmt.Errorf("%w: %s was made for another machine ID than the one in %s (a cloned disk?); systemd would delete it and make a new one: run `systemd-creds setup` as root (credentials encrypted with the old one cannot be read on this machine anyway)",
			ErrOtherMachine, path, machineIDPath)
	}
	k := HostKey{ok: true, key: sha256.Sum256(buf[secretIDSize:n]), path: path, machineID: machineIDPath, file: idOf(st), machine: mid}
	return k, nil
}

// checkSecretFile applies systemd's checks of the secret file (and
// credmesh's: owned by root) to its stat.
func checkSecretFile(path string, st *syscall.Stat_t) error {
	const fix = "remove it and run `systemd-creds setup` as root to make a new one"
	switch {
	case st.Mode&syscall.S_IFMT != syscall.S_IFREG:
		return fmt.Errorf("%w: %s is not a regular file; %s", ErrUnsafeSecret, path, fix)
	case st.Nlink == 0:
		return fmt.Errorf("%w: %s was removed while being read; try again", ErrNoSecret, path)
	case st.Nlink > 1:
		return fmt.Errorf("%w: %s has %d hard links, which systemd refuses; remove the other links", ErrUnsafeSecret, path, st.Nlink)
	case st.Mode&0o7777 != 0o400:
		return fmt.Errorf("%w: %s has mode %04o; systemd uses it only at 0400: run `chmod 0400 %s`", ErrUnsafeSecret, path, st.Mode&0o7777, path)
	case st.Uid != 0:
		return fmt.Errorf("%w: %s is owned by uid %d, not root: run `chown root:root %s`", ErrUnsafeSecret, path, st.Uid, path)
	case st.Size < secretIDSize+1:
		return fmt.Errorf("%w: %s is %d bytes, too small; %s", ErrUnsafeSecret, path, st.Size, fix)
	case st.Size > maxSecretFile:
		return fmt.Errorf("%w: %s is %d bytes, over systemd's %d; %s", ErrUnsafeSecret, path, st.Size, maxSecretFile, fix)
	}
	return nil
}

// machineSecretID returns the ID a host secret of this machine begins
// with (sd_id128_get_machine_app_specific: HMAC-SHA256 keyed by the
// machine ID over credentialAppID, the first 16 bytes made a v4 UUID),
// and the identity of the machine ID file.
func machineSecretID(path string) ([16]byte, fileID, error) {
	var id [16]byte
	f, err := os.Open(path)
	if err != nil {
		return id, fileID{}, fmt.Errorf("machine ID: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return id, fileID{}, fmt.Errorf("machine ID: %w", err)
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	if st == nil {
		return id, fileID{}, fmt.Errorf("machine ID %s: no file details", path)
	}
	buf := make([]byte, 34)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return id, fileID{}, fmt.Errorf("machine ID: %w", err)
	}
	mid, err := parseMachineID(buf[:n])
	if err != nil {
		return id, fileID{}, fmt.Errorf("machine ID in %s: %w", path, err)
	}
	mac := hmac.New(sha256.New, mid[:])
	mac.Write(credentialAppID[:])
	copy(id[:], mac.Sum(nil))
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // DCE variant
	return id, idOf(st), nil
}

// parseMachineID reads /etc/machine-id as systemd does: 32 hex digits,
// optionally followed by a newline; neither empty, "uninitialized" nor
// all zeros.
func parseMachineID(b []byte) ([16]byte, error) {
	var id [16]byte
	s := bytes.TrimSuffix(b, []byte("\n"))
	switch {
	case len(s) == 0:
		return id, errors.New("empty (the machine is not set up; systemd-machine-id-setup makes one)")
	case string(s) == "uninitialized":
		return id, errors.New(`"uninitialized" (first boot not finished; systemd-machine-id-setup makes one)`)
	case len(s) != 32:
		return id, fmt.Errorf("%d characters, want 32 hex digits", len(s))
	}
	if _, err := hex.Decode(id[:], s); err != nil {
		return id, fmt.Errorf("not 32 hex digits: %w", err)
	}
	if id == [16]byte{} {
		return id, errors.New("all zeros")
	}
	return id, nil
}

// Fresh reports, with two stat calls, whether the secret file and the
// machine ID file are still the ones k was loaded from: false when
// either was replaced, rewritten, re-moded or removed (or k holds no
// key), and the caller loads the key again.
func (k HostKey) Fresh() bool {
	if !k.ok {
		return false
	}
	var st syscall.Stat_t
	if syscall.Lstat(k.path, &st) != nil || idOf(&st) != k.file {
		return false
	}
	return syscall.Stat(k.machineID, &st) == nil && idOf(&st) == k.machine
}

// Path is the secret file k was loaded from.
func (k HostKey) Path() string { return k.path }

// String names the key's file, never the key.
func (k HostKey) String() string {
	if !k.ok {
		return "hostkey.HostKey(none)"
	}
	return "hostkey.HostKey(" + k.path + ")"
}

// GoString is String, so %#v prints no key either.
func (k HostKey) GoString() string { return k.String() }

// LogValue logs the file, never the key.
func (k HostKey) LogValue() slog.Value { return slog.StringValue(k.String()) }
