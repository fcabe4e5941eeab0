package credwriter

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/credmesh/credmesh/internal/credwriter/hostkey"
)

// InProcess encrypts credentials with the host key in this process, in
// the format `systemd-creds encrypt --with-key=host` writes (package
// hostkey): microseconds instead of a systemd-creds spawn's
// milliseconds (docs/credentials.md has the numbers). Before
// each write it checks that the host secret is still the file it loaded
// (two stats) and loads it again if not, so a regenerated secret is
// never used stale.
type InProcess struct {
	// Path is the host secret (default hostkey.DefaultPath).
	Path string
	// Now is the clock for the credential's timestamp (default time.Now).
	Now func() time.Time

	mu  sync.Mutex
	key hostkey.HostKey
}

var _ Runner = (*InProcess)(nil)

// Encrypt returns plaintext as a host-key credential named name.
func (p *InProcess) Encrypt(_ context.Context, name string, plaintext []byte) ([]byte, error) {
	key, err := p.current()
	if err != nil {
		return nil, err
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	return hostkey.Encrypt(key, name, plaintext, now(), time.Time{})
}

// Check loads the host secret if it changed since the last load (or was
// never loaded) and reports why it cannot be used, if it cannot.
func (p *InProcess) Check() error {
	_, err := p.current()
	return err
}

// current returns the loaded key while the secret is unchanged, else
// loads it again.
func (p *InProcess) current() (hostkey.HostKey, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.key.Fresh() {
		return p.key, nil
	}
	path := p.Path
	if path == "" {
		path = hostkey.DefaultPath
	}
	k, err := hostkey.LoadHostKey(path)
	if err != nil {
		p.key = hostkey.HostKey{}
		return k, err
	}
	p.key = k
	return k, nil
}

// hostOrSpawn is the auto mode without a TPM2: the host key in process,
// and `systemd-creds encrypt` (systemd's own choice of key) while the
// host secret cannot be used here: missing (systemd-creds then creates
// it, as `systemd-creds setup` would, and the next write is in process
// again), made for another machine ID (systemd deletes and regenerates
// it), or refused by credmesh's stricter check (owner). Each cause is
// logged once.
type hostOrSpawn struct {
	host  *InProcess
	spawn Runner
	log   *slog.Logger

	mu     sync.Mutex
	logged string // the cause last logged ("" while in process)
}

var _ Runner = (*hostOrSpawn)(nil)

func (h *hostOrSpawn) Encrypt(ctx context.Context, name string, plaintext []byte) ([]byte, error) {
	key, err := h.host.current()
	h.note(err)
	if err != nil {
		return h.spawn.Encrypt(ctx, name, plaintext)
	}
	now := time.Now
	if h.host.Now != nil {
		now = h.host.Now
	}
	return hostkey.Encrypt(key, name, plaintext, now(), time.Time{})
}

// note logs a change between in-process writes and the fallback.
func (h *hostOrSpawn) note(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err == nil && h.logged != "":
		h.logged = ""
		h.log.Info("host secret usable again: encrypting credentials in process")
	case err != nil && h.logged != err.Error():
		h.logged = err.Error()
		h.log.Warn("host secret not usable in process; encrypting with systemd-creds instead, which applies systemd's own rules (it creates a missing secret)", "err", err)
	}
}
