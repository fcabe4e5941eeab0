package credwriter

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/credmesh/credmesh/internal/credwriter/hostkey"
)

// Key modes (--creds-key): what encrypts this node's credentials.
const (
	// KeyAuto: the host key in process where the machine has no TPM2
	// device, else systemd-creds with its default, which binds to the
	// TPM2 and the host key (the default).
	KeyAuto = "auto"
	// KeyHost: the host key in process, always.
	KeyHost = "host"
	// KeyTPM2: systemd-creds --with-key=host+tpm2, which fails where
	// there is no TPM2 instead of quietly leaving it out.
	KeyTPM2 = "tpm2"
	// KeySystemdCreds: systemd's own default, always: the tool decides
	// (the escape hatch should the in-process writer and a systemd
	// release ever disagree, and the spawn path's benchmark). Through
	// systemd's varlink service where it runs (256 and later), else a
	// spawned systemd-creds, a process per credential.
	KeySystemdCreds = "systemd-creds"
)

// Writers, as State.Key reports them: what encrypts the credentials.
const (
	// WriterHost: in process, with the host key.
	WriterHost = "host"
	// WriterSystemdCreds: systemd's own choice of key (TPM2 and host key
	// where a TPM2 is present; --creds-user: the user's key), through
	// io.systemd.Credentials.Encrypt where systemd offers it, else a
	// spawned `systemd-creds encrypt`.
	WriterSystemdCreds = "systemd-creds"
	// WriterTPM2: a spawned `systemd-creds encrypt --with-key=host+tpm2`.
	WriterTPM2 = "host+tpm2"
	// WriterPlain: plaintext files (`credmesh demo` without root).
	WriterPlain = "plain"
	// WriterCustom: a Runner the caller provided (tests).
	WriterCustom = "custom"
)

// CheckKey reports whether mode is a key mode and fits user (user-scoped
// credentials come only from systemd-creds --user).
func CheckKey(mode string, user bool) error {
	switch mode {
	case "", KeyAuto, KeyHost, KeyTPM2, KeySystemdCreds:
	default:
		return fmt.Errorf("--creds-key %q: want auto, host, tpm2 or systemd-creds", mode)
	}
	if user && mode != "" && mode != KeyAuto && mode != KeySystemdCreds {
		return fmt.Errorf("--creds-user writes user-scoped credentials, which only systemd-creds --user makes; leave --creds-key at auto or systemd-creds (it is %s)", mode)
	}
	return nil
}

// machine is what the auto mode looks at.
type machine struct {
	tpm2  string // a TPM2 device found ("" none)
	tmpfs bool   // the host secret's directory is on a temporary file system
}

// choice is the writer picked for a mode on a machine, and why.
type choice struct {
	writer string
	why    string
}

// chooseWriter applies the key mode to the machine. auto follows
// systemd-creds' own default (systemd 252 creds-util.c,
// encrypt_credential_and_warn with _CRED_AUTO): it binds to a TPM2 where
// one is present, and leaves the host key out where its directory is on
// a temporary file system; credmesh writes in process only where that
// default would be the host key alone.
func chooseWriter(mode string, user bool, m machine) choice {
	switch {
	case user:
		return choice{WriterSystemdCreds, "--creds-user: user-scoped credentials come from systemd-creds --user"}
	case mode == KeyTPM2:
		return choice{WriterTPM2, "--creds-key tpm2"}
	case mode == KeyHost:
		return choice{WriterHost, "--creds-key host"}
	case mode == KeySystemdCreds:
		return choice{WriterSystemdCreds, "--creds-key systemd-creds"}
	case m.tpm2 != "":
		return choice{WriterSystemdCreds, "a TPM2 device is present (" + m.tpm2 + "): systemd-creds binds credentials to it and the host key"}
	case m.tmpfs:
		return choice{WriterSystemdCreds, "the host secret's directory is on a temporary file system, where systemd's default does not use the host key"}
	}
	return choice{WriterHost, "no TPM2 device: systemd's default would be the host key alone"}
}

// probeMachine looks for a TPM2 device the way systemd does (a populated
// /sys/class/tpmrm; also the /dev/tpmrm0 node) and whether the host
// secret's directory is on tmpfs or ramfs.
func probeMachine(secretPath string) machine {
	return machine{tpm2: tpm2Device("/sys/class/tpmrm", "/dev/tpmrm0"), tmpfs: onTemporaryFS(filepath.Dir(secretPath))}
}

// tpm2Device names the first TPM2 resource manager found, or "".
func tpm2Device(class, dev string) string {
	if entries, err := os.ReadDir(class); err == nil && len(entries) > 0 {
		return filepath.Join(class, entries[0].Name())
	}
	if _, err := os.Stat(dev); err == nil {
		return dev
	}
	return ""
}

// onTemporaryFS reports whether dir (or, while it does not exist yet,
// its nearest parent) is on tmpfs or ramfs.
func onTemporaryFS(dir string) bool {
	const tmpfsMagic, ramfsMagic = 0x01021994, 0x858458f6
	for {
		var st syscall.Statfs_t
		err := syscall.Statfs(dir, &st)
		if err == nil {
			t := uint32(st.Type)
			return t == tmpfsMagic || t == ramfsMagic
		}
		parent := filepath.Dir(dir)
		if !errors.Is(err, syscall.ENOENT) || parent == dir {
			return false
		}
		dir = parent
	}
}

// pickRunner builds the runner of cfg's key mode on this machine.
func pickRunner(cfg Config) (Runner, choice) {
	path := cfg.HostSecret
	if path == "" {
		path = hostkey.DefaultPath
	}
	ch := chooseWriter(cfg.Key, cfg.User, probeMachine(path))
	switch ch.writer {
	case WriterHost:
		host := &InProcess{Path: path, Now: cfg.Now}
		if cfg.Key == KeyHost {
			return host, ch
		}
		return &hostOrSpawn{host: host, spawn: SystemdCreds{}, log: cfg.Log}, ch
	case WriterTPM2:
		// The varlink service of 257 takes no key choice: spawn.
		return SystemdCreds{WithKey: "host+tpm2"}, ch
	}
	if cfg.User {
		return SystemdCreds{User: true}, ch
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &varlinkOrSpawn{vl: &Varlink{}, spawn: SystemdCreds{}, log: log}, ch
}

// writerOf names a runner the caller provided.
func writerOf(r Runner) string {
	switch r := r.(type) {
	case *InProcess, *hostOrSpawn:
		return WriterHost
	case *varlinkOrSpawn, *Varlink:
		return WriterSystemdCreds
	case SystemdCreds:
		if r.WithKey == "host+tpm2" {
			return WriterTPM2
		}
		return WriterSystemdCreds
	case PlainFiles:
		return WriterPlain
	}
	return WriterCustom
}

// pickKey chooses the Runner from the key mode, unless the caller gave
// one, and says at start which writer encrypts and why.
func (c *CredWriter) pickKey() {
	if c.cfg.Runner != nil {
		c.key = writerOf(c.cfg.Runner)
		if in, ok := c.cfg.Runner.(*InProcess); ok {
			c.host = in
		}
		return
	}
	r, ch := pickRunner(c.cfg)
	c.cfg.Runner, c.key = r, ch.writer
	mode := c.cfg.Key
	if mode == "" {
		mode = KeyAuto
	}
	c.log.Info("credentials encrypted by "+ch.writer, "creds_key", mode, "why", ch.why)
	if in, ok := r.(*InProcess); ok {
		c.host = in
		if err := in.Check(); err != nil {
			c.logged[err.Error()] = true // the writes that fail on it log nothing more
			c.log.Error("--creds-key host: the host secret cannot be used; every credential write fails until it is fixed", "err", err)
		}
	}
}

// stateWithKey is Status, degraded while the host secret of --creds-key
// host cannot be used (checked on each call: two stats while the file is
// unchanged), so the problem shows before any write fails on it.
func (c *CredWriter) stateWithKey() State {
	s := c.Status()
	if c.host == nil {
		return s
	}
	if err := c.host.Check(); err != nil {
		s.OK, s.Reason = false, err.Error()
	}
	return s
}
