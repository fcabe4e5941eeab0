package credwriter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// Defaults.
const (
	DefaultDir      = "/etc/credstore.encrypted"
	DefaultWorkers  = 4
	DefaultDebounce = time.Second
	minRetry        = 2 * time.Second
	maxRetry        = 5 * time.Minute
)

// Publisher signs, stores and publishes receipt record bodies (in one
// transaction); node wires it to the replica.
type Publisher interface {
	PublishReceipts(ctx context.Context, bodies [][]byte) error
}

// Resolver gives the current version of a secret under the current
// membership; node wires it to the replica.
type Resolver interface {
	SecretState(ctx context.Context, key record.Key) (record.Resolution, error)
}

// Config configures the actor.
type Config struct {
	Store    *store.Store // credential states, secret bodies, the audit log
	Secrets  Resolver
	Identity *identity.Identity
	Publish  Publisher
	Log      *slog.Logger
	Now      func() time.Time

	// Dir is the credential directory (default /etc/credstore.encrypted).
	Dir string
	// User writes user-scoped credentials (systemd-creds --user; needs
	// systemd 256 or later, checked at start).
	User bool
	// Key is the key mode: KeyAuto (default), KeyHost, KeyTPM2 or
	// KeySystemdCreds; it picks the Runner at start unless Runner is set.
	Key string
	// HostSecret is the host secret the in-process writer reads (default
	// /var/lib/systemd/credential.secret).
	HostSecret string
	// Runner encrypts credentials (default: chosen by Key at start).
	Runner Runner
	// Units reaches the service manager (default Systemctl).
	Units UnitManager
	// NoAutoRestart restarts only the units named on secrets, not the
	// units systemd reports as loading the credential.
	NoAutoRestart bool
	// Workers bounds concurrent systemd-creds runs (default 4).
	Workers int
	// Debounce is the quiet time before units are restarted (default 1s).
	Debounce time.Duration
	// OnWritten, when set, sees every credential written or removed
	// (benchmarks). It must not block.
	OnWritten func(name string, version uint64, removed bool)
	// OnFailed, when set, sees every failed attempt (metrics). It must not
	// block.
	OnFailed func(name string)
}

// Msg is the actor's message type.
type Msg interface{ credMsg() }

// SyncSecret brings one credential in line with the store.
type SyncSecret struct {
	Name    string
	Version uint64 // informational: the version that prompted it
}

// SyncAll brings every credential of this node in line with the store;
// Force rewrites even those already written.
type SyncAll struct {
	Force  bool
	Reason string
}

// Remove removes a credential that is no longer current (a check of the
// store decides; Remove of a current secret rewrites nothing).
type Remove struct{ Name string }

// GetState asks for the writer's health.
type GetState struct{ Reply chan<- State }

type jobDone struct {
	name string
	res  result
}
type retryDue struct{ name string }
type flushRestarts struct{ gen int }

func (SyncSecret) credMsg()    {}
func (SyncAll) credMsg()       {}
func (Remove) credMsg()        {}
func (GetState) credMsg()      {}
func (jobDone) credMsg()       {}
func (retryDue) credMsg()      {}
func (flushRestarts) credMsg() {}

// State is the writer's health, for status and the UI.
type State struct {
	OK      bool
	Reason  string // why it is degraded
	Dir     string
	Written int // credentials currently written
	Failing int // credentials whose last attempt failed
	// Key names what encrypts credentials: WriterHost,
	// WriterSystemdCreds, WriterTPM2, WriterPlain or WriterCustom.
	Key string
}

// CredWriter is the SystemdActor.
type CredWriter struct {
	cfg  Config
	log  *slog.Logger
	key  string     // what encrypts (State.Key)
	host *InProcess // the host key of --creds-key host, checked for status
	self record.NodeID
	ref  actor.Ref[Msg]
	ctx  context.Context

	state atomic.Pointer[State]
	wg    sync.WaitGroup
	sem   chan struct{}

	// Owned by the actor goroutine.
	inflight map[string]bool
	queued   map[string]bool // name -> force
	failing  map[string]*failure
	restarts map[string][]string // unit -> credentials that changed
	changed  map[string]bool     // credentials changed since the last flush
	gen      int
	logged   map[string]bool // causes already logged
	// managerRetry: no systemd manager was reachable; ask again after it.
	managerRetry time.Time
	receipts     [][]byte // receipts waiting to be published together
}

type failure struct {
	err     string
	backoff time.Duration
	version uint64
}

var (
	_ actor.Actor[Msg]  = (*CredWriter)(nil)
	_ actor.Binder[Msg] = (*CredWriter)(nil)
)

// New returns the actor; it starts nothing.
func New(cfg Config) *CredWriter {
	if cfg.Dir == "" {
		cfg.Dir = DefaultDir
	}
	if cfg.Units == nil {
		cfg.Units = Systemctl{User: cfg.User}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &CredWriter{cfg: cfg, log: cfg.Log}
}

// Bind implements actor.Binder.
func (c *CredWriter) Bind(ref actor.Ref[Msg]) { c.ref = ref }

// Status returns the writer's health. Safe from any goroutine.
func (c *CredWriter) Status() State {
	if s := c.state.Load(); s != nil {
		return *s
	}
	return State{Dir: c.cfg.Dir, Reason: "not started"}
}

// PreStart checks systemd (a clear error when --creds-user needs a newer
// one), prepares the directory, removes temporary files a crash left and
// schedules a sync of everything.
func (c *CredWriter) PreStart(ctx context.Context) error {
	if c.cfg.Store == nil || c.cfg.Secrets == nil || c.cfg.Identity == nil || c.cfg.Publish == nil {
		return errors.New("credwriter: store, resolver, identity and publisher are required")
	}
	c.ctx = ctx
	c.self = record.NodeID(c.cfg.Identity.NodeID.String())
	c.inflight, c.queued = map[string]bool{}, map[string]bool{}
	c.failing, c.restarts, c.logged = map[string]*failure{}, map[string][]string{}, map[string]bool{}
	c.changed = map[string]bool{}
	c.sem = make(chan struct{}, c.cfg.Workers)
	if c.cfg.User {
		v, err := SystemdVersion(ctx)
		if err != nil {
			return fmt.Errorf("--creds-user: %w", err)
		}
		if v < 256 {
			return fmt.Errorf("--creds-user needs systemd 256 or later for user-scoped credentials (systemd-creds --user); this machine has systemd %d", v)
		}
	}
	c.pickKey()
	if err := os.MkdirAll(c.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("credential directory: %w", err)
	}
	if n, err := cleanTemp(c.cfg.Dir); err != nil {
		return fmt.Errorf("clean credential directory: %w", err)
	} else if n > 0 {
		c.log.Info("removed temporary credential files left by a crash", "dir", c.cfg.Dir, "count", n)
	}
	c.setState()
	return c.ref.Cast(SyncAll{Reason: "start"})
}

// Handle handles one message.
func (c *CredWriter) Handle(ctx context.Context, m Msg) error {
	switch m := m.(type) {
	case SyncSecret:
		c.request(m.Name, false)
	case GetState:
		m.Reply <- c.stateWithKey()
	case Remove:
		c.request(m.Name, false)
	case SyncAll:
		names, err := c.allNames(ctx)
		if err != nil {
			return fmt.Errorf("sync all: %w", err)
		}
		if m.Force {
			c.log.Info("rewriting every credential", "count", len(names), "reason", m.Reason)
		}
		for _, n := range names {
			c.request(n, m.Force)
		}
	case jobDone:
		c.done(ctx, m.name, m.res)
	case retryDue:
		if _, ok := c.failing[m.name]; ok {
			c.request(m.name, false)
		}
	case flushRestarts:
		if m.gen == c.gen {
			c.restartUnits(ctx)
		}
	default:
		return fmt.Errorf("unexpected message %T", m)
	}
	return nil
}

// allNames lists every credential to check: current secrets of this node
// and credentials written before (which may have to go).
func (c *CredWriter) allNames(ctx context.Context) ([]string, error) {
	cur, err := c.cfg.Store.CurrentSecrets(ctx, c.self, true)
	if err != nil {
		return nil, err
	}
	written, err := c.cfg.Store.CredStates(ctx)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, s := range cur {
		set[s.Name] = true
	}
	for _, w := range written {
		set[w.Name] = true
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// request runs a job for name now, or after the one in flight.
func (c *CredWriter) request(name string, force bool) {
	if c.inflight[name] {
		c.queued[name] = c.queued[name] || force
		return
	}
	c.inflight[name] = true
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		select {
		case c.sem <- struct{}{}:
		case <-c.ctx.Done():
			return
		}
		res := c.sync(c.ctx, name, force)
		<-c.sem
		if err := c.ref.Cast(jobDone{name: name, res: res}); err != nil && c.ctx.Err() == nil {
			c.log.Warn("credential job result lost", "secret", name, "err", err)
		}
	}()
}

// PostStop waits for writes in flight.
func (c *CredWriter) PostStop(ctx context.Context) error {
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("credential writes still running")
	}
}

// setState recomputes the health summary.
func (c *CredWriter) setState() {
	s := State{OK: true, Dir: c.cfg.Dir, Failing: len(c.failing), Key: c.key}
	if written, err := c.cfg.Store.CredStates(context.Background()); err == nil {
		s.Written = len(written)
	}
	for _, f := range c.failing {
		s.OK, s.Reason = false, f.err
		break
	}
	c.state.Store(&s)
}

func (c *CredWriter) audit(ctx context.Context, typ, name, msg string, data map[string]any) {
	b, _ := json.Marshal(data)
	if err := c.cfg.Store.AddEvent(ctx, store.Event{Time: c.cfg.Now(), Type: typ, Node: string(c.self), Secret: name, Message: msg, Data: b}); err != nil && ctx.Err() == nil {
		c.log.Warn("audit failed", "type", typ, "err", err)
	}
}
