package credwriter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/replica"
	"github.com/credmesh/credmesh/internal/store"
	"github.com/credmesh/credmesh/internal/testenv"
)

// needSystemdCreds stops a test that runs the real systemd-creds where it
// is not installed (CI installs systemd).
func needSystemdCreds(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("systemd-creds"); err != nil {
		testenv.Need(t, "systemd-creds is not installed")
	}
}

// needEncrypt stops a test that encrypts with the real systemd-creds
// where it cannot: it must be installed, and encrypting with the host key
// needs root (CI runs as root).
func needEncrypt(t testing.TB) {
	t.Helper()
	needSystemdCreds(t)
	if os.Geteuid() != 0 {
		testenv.Need(t, "systemd-creds encrypt with the host key needs root")
	}
}

// receipts captures published receipts.
type receipts struct {
	mu   sync.Mutex
	list []record.Receipt
	ch   chan struct{}
}

func (r *receipts) PublishReceipts(_ context.Context, bodies [][]byte) error {
	for _, body := range bodies {
		rc, err := record.DecodeReceipt(body)
		if err != nil {
			return err
		}
		r.mu.Lock()
		r.list = append(r.list, rc)
		r.mu.Unlock()
	}
	select {
	case r.ch <- struct{}{}:
	default:
	}
	return nil
}

func (r *receipts) written() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rc := range r.list {
		if rc.State == record.ReceiptWritten {
			n++
		}
	}
	return n
}

func (r *receipts) all() []record.Receipt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]record.Receipt(nil), r.list...)
}

// units is a test double of the service manager, so that these tests
// restart no real unit on the machine that runs them: TryRestart is
// recorded and UnitsLoading answers from a table. TestSystemctlReal checks
// the real Systemctl against a real manager.
type units struct {
	mu       sync.Mutex
	loading  map[string][]string
	restarts []string
	noMgr    bool
}

func (u *units) TryRestart(_ context.Context, unit string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.noMgr {
		return ErrNoManager
	}
	u.restarts = append(u.restarts, unit)
	return nil
}

func (u *units) UnitsLoading(_ context.Context, names []string) (map[string][]string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.noMgr {
		return nil, ErrNoManager
	}
	m := map[string][]string{}
	for _, n := range names {
		m[n] = u.loading[n]
	}
	return m, nil
}

func (u *units) got() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := append([]string(nil), u.restarts...)
	sort.Strings(out)
	return out
}

// flaky wraps a runner and fails while fail is set.
type flaky struct {
	Runner
	fail  atomic.Bool
	calls atomic.Int64
}

func (f *flaky) Encrypt(ctx context.Context, name string, plain []byte) ([]byte, error) {
	f.calls.Add(1)
	if f.fail.Load() {
		return nil, fmt.Errorf("systemd-creds encrypt: exit status 1: %w", os.ErrPermission)
	}
	return f.Runner.Encrypt(ctx, name, plain)
}

type fixture struct {
	t     testing.TB
	id    *identity.Identity
	self  record.NodeID
	st    *store.Store
	r     *replica.Replica
	dir   string
	rc    *receipts
	units *units
	run   *flaky
	cw    *CredWriter
	ref   actor.Ref[Msg]
	logs  *bytes.Buffer
	stop  func()
}

// newFixture builds a writer that runs tool (wrapped in flaky): the real
// SystemdCreds, or PlainFiles for a test about what happens around the
// tool, which then runs without systemd-creds. mut changes the config.
func newFixture(t testing.TB, tool Runner, mut func(*Config)) *fixture {
	t.Helper()
	if _, ok := tool.(SystemdCreds); ok {
		needEncrypt(t)
	}
	data := t.TempDir()
	id, _, err := identity.LoadOrCreate(data, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(data, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	self := record.NodeID(id.NodeID.String())
	r := replica.New(replica.Config{Store: st, Identity: id})
	if err := r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, id: id, self: self, st: st, r: r, dir: filepath.Join(t.TempDir(), "creds"),
		rc: &receipts{ch: make(chan struct{}, 1)}, units: &units{loading: map[string][]string{}},
		run: &flaky{Runner: tool}, logs: &bytes.Buffer{}}
	cfg := Config{Store: st, Secrets: r, Identity: id, Publish: f.rc, Dir: f.dir, Runner: f.run, Units: f.units,
		Debounce: 50 * time.Millisecond, Log: slog.New(slog.NewTextHandler(&lockedWriter{w: f.logs}, nil))}
	if mut != nil {
		mut(&cfg)
	}
	f.cw = New(cfg)
	return f
}

func (f *fixture) start() {
	f.t.Helper()
	sup := actor.NewSupervisor(slog.New(slog.DiscardHandler))
	var err error
	if f.ref, err = actor.Spawn[Msg](sup, "systemd", f.cw, 256); err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	var once sync.Once
	f.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				f.t.Errorf("supervisor: %v", err)
			}
			f.st.Close()
		})
	}
	f.t.Cleanup(f.stop)
}

// set stores a version of name for this node (authored by itself).
func (f *fixture) set(name string, value []byte, restart ...string) {
	f.t.Helper()
	f.setSealed(name, f.id.Recipient(), value, restart...)
}

// setSealed is set with the value encrypted to recipient.
func (f *fixture) setSealed(name, recipient string, value []byte, restart ...string) {
	f.t.Helper()
	res, err := f.r.SecretState(context.Background(), record.Key{Name: name, Target: f.self})
	if err != nil {
		f.t.Fatal(err)
	}
	s := record.Secret{Name: name, Target: f.id.PublicKey(), Version: res.NextVersion(), CreatedAt: time.Now(),
		Restart: restart, Group: make([]byte, record.GroupSize)}
	if value == nil {
		s.Tombstone = true
	} else if s.Ciphertext, err = record.Encrypt(recipient, value); err != nil {
		f.t.Fatal(err)
	}
	_, err = f.r.Publish(context.Background(), record.KindSecret, s.Encode())
	if err != nil {
		f.t.Fatal(err)
	}
	if f.stop != nil { // started: tell it, as the node does
		if err := f.ref.Cast(SyncSecret{Name: name}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// waitFor polls cond: the writer runs systemd-creds, a real process, so
// there is nothing to wait on directly. The bound is generous.
func (f *fixture) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s\nlogs:\n%s", what, f.logs.String())
		}
		select {
		case <-f.rc.ch:
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (f *fixture) decrypt(name string) ([]byte, error) {
	out, err := exec.Command("systemd-creds", "decrypt", "--name="+name, filepath.Join(f.dir, name), "-").Output()
	return out, err
}

func (f *fixture) receiptFor(name string, version uint64, state record.ReceiptState) bool {
	for _, r := range f.rc.all() {
		if r.Name == name && r.Version == version && r.State == state {
			return true
		}
	}
	return false
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestWriteUpdateRemove(t *testing.T) {
	f := newFixture(t, SystemdCreds{}, nil)
	f.start()
	value := []byte("hunter2\x00binary\n")
	f.set("db", value)
	f.waitFor("a written receipt for version 1", func() bool { return f.receiptFor("db", 1, record.ReceiptWritten) })
	got, err := f.decrypt("db")
	if err != nil || !bytes.Equal(got, value) {
		t.Fatalf("systemd-creds decrypt = %q, %v; want %q", got, err, value)
	}
	fi, err := os.Stat(filepath.Join(f.dir, "db"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credential file: %v, mode %v; want 0600", err, fi.Mode())
	}
	entries, _ := os.ReadDir(f.dir)
	if len(entries) != 1 {
		t.Fatalf("credential dir holds %d entries, want just db", len(entries))
	}

	// Syncing an unchanged secret rewrites nothing.
	calls := f.run.calls.Load()
	_ = f.ref.Cast(SyncSecret{Name: "db"})
	_ = f.ref.Cast(SyncAll{})
	f.set("other", []byte("x")) // a write that is observable, queued after
	f.waitFor("other written", func() bool { return f.receiptFor("other", 1, record.ReceiptWritten) })
	if n := f.run.calls.Load() - calls; n != 1 {
		t.Fatalf("%d systemd-creds runs after re-syncing an unchanged db and writing other, want 1", n)
	}

	f.set("db", []byte("v2"))
	f.waitFor("version 2 written", func() bool { return f.receiptFor("db", 2, record.ReceiptWritten) })
	if got, _ := f.decrypt("db"); string(got) != "v2" {
		t.Fatalf("after update decrypt = %q", got)
	}
	f.set("db", nil) // tombstone
	f.waitFor("version 3 removed", func() bool { return f.receiptFor("db", 3, record.ReceiptRemoved) })
	if _, err := os.Stat(filepath.Join(f.dir, "db")); !os.IsNotExist(err) {
		t.Fatalf("credential file after delete: %v", err)
	}
	if s := f.cw.Status(); !s.OK || s.Written != 1 {
		t.Fatalf("status %+v, want ok with 1 written (other)", s)
	}
}

// A full sync rewrites every credential; a file credmesh did not write is
// never removed; temporary files a crash left are cleaned at start.
func TestForceSyncForeignFilesAndCrashLeftovers(t *testing.T) {
	f := newFixture(t, SystemdCreds{}, nil)
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(f.dir, "not-ours")
	leftover := filepath.Join(f.dir, ".db"+tmpMarker+"abcdef")
	for _, p := range []string{foreign, leftover} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f.set("db", []byte("one"))
	f.set("api", []byte("two"))
	f.start()
	f.waitFor("both written at start", func() bool {
		return f.receiptFor("db", 1, record.ReceiptWritten) && f.receiptFor("api", 1, record.ReceiptWritten)
	})
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Fatal("a temporary file from a crash survived the start")
	}
	before := f.run.calls.Load()
	_ = f.ref.Cast(SyncAll{Force: true, Reason: "test"})
	f.waitFor("two rewrites", func() bool { return f.run.calls.Load()-before == 2 })
	if _, err := os.Stat(foreign); err != nil {
		t.Fatalf("a file credmesh did not write was touched: %v", err)
	}
}

// Failures: logged once, a failed receipt, the state degraded, retried
// with backoff until it works.
func TestFailureIsVisibleAndRetried(t *testing.T) {
	f := newFixture(t, SystemdCreds{}, nil)
	f.run.fail.Store(true)
	f.start()
	f.set("db", []byte("x"))
	f.waitFor("a failed receipt", func() bool { return f.receiptFor("db", 1, record.ReceiptFailed) })
	f.waitFor("a retry", func() bool { return f.run.calls.Load() >= 2 })
	if s := f.cw.Status(); s.OK || !strings.Contains(s.Reason, "permission denied") || s.Failing != 1 {
		t.Fatalf("status %+v, want degraded with the reason", s)
	}
	if n := strings.Count(f.logs.String(), "writing credentials fails"); n != 1 {
		t.Fatalf("the cause was logged %d times, want once", n)
	}
	es, _ := f.st.Events(context.Background(), store.EventFilter{Type: EventFailed})
	if len(es) != 1 {
		t.Fatalf("%d failure events, want 1 (one per cause and version)", len(es))
	}
	f.run.fail.Store(false)
	f.waitFor("written after the cause went away", func() bool { return f.receiptFor("db", 1, record.ReceiptWritten) })
	if s := f.cw.Status(); !s.OK {
		t.Fatalf("status %+v after recovery, want ok", s)
	}
}

// A version this node cannot decrypt (garbage from a member, or sealed to
// another key) fails once, visibly, and waits for a new version.
func TestUndecryptableWaitsForANewVersion(t *testing.T) {
	f := newFixture(t, SystemdCreds{}, nil)
	f.start()
	other, _, err := identity.LoadOrCreate(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.setSealed("db", other.Recipient(), []byte("not for this node"))
	f.waitFor("a failed receipt", func() bool { return f.receiptFor("db", 1, record.ReceiptFailed) })
	if s := f.cw.Status(); s.OK || s.Failing != 1 || !strings.Contains(s.Reason, "undecryptable") {
		t.Fatalf("status %+v, want degraded by the undecryptable version", s)
	}
	if n := strings.Count(f.logs.String(), "cannot be decrypted with this node's key"); n != 1 {
		t.Fatalf("logged %d times, want once:\n%s", n, f.logs.String())
	}
	if n := f.run.calls.Load(); n != 0 {
		t.Fatalf("systemd-creds ran %d times for a version it cannot open", n)
	}
	f.set("db", []byte("fixed"))
	f.waitFor("version 2 written", func() bool { return f.receiptFor("db", 2, record.ReceiptWritten) })
	if s := f.cw.Status(); !s.OK {
		t.Fatalf("status %+v after a good version, want ok", s)
	}
}

func TestMissingSystemdCreds(t *testing.T) {
	f := newFixture(t, PlainFiles{}, func(c *Config) { c.Runner = SystemdCreds{} }) // with no systemd-creds on PATH
	t.Setenv("PATH", t.TempDir())
	f.start()
	f.set("db", []byte("x"))
	f.waitFor("a failed receipt", func() bool { return f.receiptFor("db", 1, record.ReceiptFailed) })
	for _, r := range f.rc.all() {
		if r.State == record.ReceiptFailed && !strings.Contains(r.Error, "systemd-creds not found") {
			t.Fatalf("receipt error %q does not say systemd-creds is missing", r.Error)
		}
	}
}

// Many changes in a short window restart each unit once, after all its
// credentials are written: units named on secrets and units that load
// the credential.
func TestRestartsAreDebounced(t *testing.T) {
	f := newFixture(t, PlainFiles{}, nil) // about restarts: the tool is not the subject
	f.units.loading["a"] = []string{"app.service"}
	f.units.loading["b"] = []string{"app.service", "worker.service"}
	f.start()
	f.set("a", []byte("1"), "web.service")
	f.set("b", []byte("2"), "web.service")
	f.set("c", []byte("3"))
	f.waitFor("three written", func() bool {
		return f.receiptFor("a", 1, record.ReceiptWritten) && f.receiptFor("b", 1, record.ReceiptWritten) && f.receiptFor("c", 1, record.ReceiptWritten)
	})
	f.waitFor("restarts", func() bool { return len(f.units.got()) >= 3 })
	want := []string{"app.service", "web.service", "worker.service"}
	if got := f.units.got(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("restarts %v, want each once: %v", got, want)
	}
	f.waitFor("three restart events", func() bool {
		es, _ := f.st.Events(context.Background(), store.EventFilter{Type: EventUnitRestarted})
		return len(es) == 3
	})
}

func TestNoManagerIsSaidOnce(t *testing.T) {
	f := newFixture(t, PlainFiles{}, nil) // about the service manager: the tool is not the subject
	f.units.noMgr = true
	f.start()
	f.set("a", []byte("1"), "web.service")
	f.set("b", []byte("2"), "web.service")
	f.waitFor("written", func() bool { return f.receiptFor("b", 1, record.ReceiptWritten) })
	f.waitFor("the no-manager audit", func() bool {
		es, _ := f.st.Events(context.Background(), store.EventFilter{Type: EventNoManager})
		return len(es) == 1
	})
	if n := strings.Count(f.logs.String(), "msg=\"no systemd manager reachable"); n != 1 {
		t.Fatalf("said %d times, want once", n)
	}
}

func TestCredsUserNeedsSystemd256(t *testing.T) {
	needSystemdCreds(t)
	v, err := SystemdVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, PlainFiles{}, func(c *Config) { c.User = true }) // PreStart asks the installed systemd-creds its version; nothing is encrypted
	err = f.cw.PreStart(context.Background())
	if v >= 256 {
		if err != nil {
			t.Fatalf("systemd %d: --creds-user refused: %v", v, err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), "needs systemd 256") || !strings.Contains(err.Error(), fmt.Sprint(v)) {
		t.Fatalf("systemd %d: PreStart = %v, want a clear error naming both versions", v, err)
	}
}

func TestParseUnitsLoading(t *testing.T) {
	// The shape of `systemctl show --property=Id,LoadCredentialEncrypted,
	// LoadCredential,ImportCredential '*'` output.
	out := []byte(`Id=web.service
LoadCredentialEncrypted=db:/etc/credstore.encrypted/db
LoadCredential=
ImportCredential=

Id=app.service
LoadCredentialEncrypted=
LoadCredential=db
ImportCredential=

Id=worker.service
LoadCredentialEncrypted=
LoadCredential=
ImportCredential=d*

Id=other.service
LoadCredentialEncrypted=dbx:/x
LoadCredential=tls.key:/x
ImportCredential=api.*
`)
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"db", []string{"web.service", "app.service", "worker.service"}},
		{"tls.key", []string{"other.service"}},
		{"api.token", []string{"other.service"}},
		{"nothing", nil},
	} {
		if got := ParseUnitsLoading(out, tc.name); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// systemd 252 prints the credential properties as "[unprintable]": they
// are read from the unit's files instead, fragment and drop-ins.
func TestUnitFileCredentials(t *testing.T) {
	out := []byte(`LoadCredential=[unprintable]
LoadCredentialEncrypted=[unprintable]
Id=web.service
FragmentPath=/etc/systemd/system/web.service
DropInPaths=/etc/systemd/system/web.service.d/a.conf /etc/systemd/system/web.service.d/gone.conf

LoadCredential=[unprintable]
LoadCredentialEncrypted=[unprintable]
Id=plain.service
FragmentPath=/lib/systemd/system/plain.service
DropInPaths=

LoadCredentialEncrypted=printed
Id=new.service
FragmentPath=/etc/systemd/system/new.service
DropInPaths=
`)
	files := map[string]string{
		"/etc/systemd/system/web.service":              "[Service]\nExecStart=/bin/web\nLoadCredentialEncrypted=db\n LoadCredential = tls.key:/etc/tls.key\n",
		"/etc/systemd/system/web.service.d/a.conf":     "[Service]\nImportCredential=api.*\n",
		"/lib/systemd/system/plain.service":            "[Service]\nExecStart=/bin/plain\n",
		"/etc/systemd/system/new.service":              "[Service]\nLoadCredentialEncrypted=not-read\n",
		"/etc/systemd/system/web.service.d/other.conf": "LoadCredential=never-listed\n",
	}
	read := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
	full := addUnitFileCredentials(out, read)
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"db", []string{"web.service"}},
		{"tls.key", []string{"web.service"}},
		{"api.token", []string{"web.service"}},
		{"printed", []string{"new.service"}},
		{"not-read", nil},
		{"never-listed", nil},
	} {
		if got := ParseUnitsLoading(full, tc.name); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %v, want %v\nfrom:\n%s", tc.name, got, tc.want, full)
		}
	}
}

// systemctlProbeEnv is set, to "UNIT:CREDENTIAL", by internal/e2e's
// TestSystemctlInContainer, which runs TestSystemctlReal inside a
// throwaway container booted with systemd, where UNIT runs and loads
// CREDENTIAL. Only there does the test restart a unit.
const systemctlProbeEnv = "CREDMESH_SYSTEMCTL_PROBE"

// Systemctl against the real systemctl and service manager: which units
// load a credential, and try-restart.
func TestSystemctlReal(t *testing.T) {
	ctx := t.Context()
	probe := os.Getenv(systemctlProbeEnv)
	got, err := Systemctl{}.UnitsLoading(ctx, []string{"nothing-loads-this"})
	if errors.Is(err, ErrNoManager) && probe == "" {
		// Not testenv.Need: CI runs this test through the container.
		t.Skip("skipped: no systemd manager here (" + err.Error() + "); internal/e2e TestSystemctlInContainer runs this test under systemd")
	}
	if err != nil {
		t.Fatal(err)
	}
	if units := got["nothing-loads-this"]; len(units) != 0 {
		t.Fatalf("units loading a credential nothing loads: %v", units)
	}
	if probe == "" {
		return // a real machine's own units are not this test's to restart
	}
	unit, cred, ok := strings.Cut(probe, ":")
	if !ok {
		t.Fatalf("%s=%q, want UNIT:CREDENTIAL", systemctlProbeEnv, probe)
	}
	if got, err = (Systemctl{}).UnitsLoading(ctx, []string{cred}); err != nil || fmt.Sprint(got[cred]) != fmt.Sprint([]string{unit}) {
		t.Fatalf("UnitsLoading(%s) = %v, %v; want [%s]", cred, got[cred], err, unit)
	}
	show := func() string {
		t.Helper()
		out, err := exec.Command("systemctl", "show", "--value", "-p", "ActiveState,InvocationID", unit).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(strings.Fields(string(out)), " ")
	}
	before := show()
	if !strings.HasPrefix(before, "active ") {
		t.Fatalf("%s is %q before the restart, want active", unit, before)
	}
	if err := (Systemctl{}).TryRestart(ctx, unit); err != nil {
		t.Fatal(err)
	}
	// try-restart waits for its job: the unit runs again, as a new
	// invocation.
	if after := show(); !strings.HasPrefix(after, "active ") || after == before {
		t.Fatalf("after try-restart %s is %q, was %q: want active with a new invocation ID", unit, after, before)
	}
	// A stopped unit stays stopped.
	if out, err := exec.Command("systemctl", "stop", unit).CombinedOutput(); err != nil {
		t.Fatalf("systemctl stop: %v\n%s", err, out)
	}
	if err := (Systemctl{}).TryRestart(ctx, unit); err != nil {
		t.Fatal(err)
	}
	if state := show(); state != "inactive" {
		t.Fatalf("after try-restart of the stopped %s it is %q, want inactive", unit, state)
	}
}

func TestNamesCannotEscape(t *testing.T) {
	for _, bad := range []string{"../x", "/etc/passwd", "a/b", "..", ".hidden", "a\x00b"} {
		if _, err := credPath("/etc/credstore.encrypted", bad); err == nil {
			t.Errorf("credPath accepted %q", bad)
		}
	}
}

// BenchmarkBurst20 rewrites 20 credentials at once (a forced sync, as a
// catch-up after an absence does), with the pool bounded at 1 (serial)
// and at the default; ms/secret is the amortised cost.
func BenchmarkBurst20(b *testing.B) {
	for _, workers := range []int{1, 2, DefaultWorkers} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			burst20(b, newFixture(b, SystemdCreds{}, func(c *Config) { c.Workers = workers }))
		})
	}
}

// BenchmarkBurst20Overhead is BenchmarkBurst20 without systemd-creds: what
// credmesh itself spends per credential (decrypt, files, fsyncs, store,
// receipt).
func BenchmarkBurst20Overhead(b *testing.B) {
	burst20(b, newFixture(b, PlainFiles{}, nil)) // measures everything around systemd-creds
}

// burst20 writes 20 credentials, then times forced rewrites of all 20,
// and reports the amortised cost per credential.
func burst20(b *testing.B, f *fixture) {
	b.Helper()
	f.start()
	for i := range 20 {
		f.set(fmt.Sprintf("s%02d", i), []byte(fmt.Sprint("value-", i)))
	}
	f.waitFor("20 written", func() bool { return f.rc.written() == 20 })
	b.ResetTimer()
	for i := range b.N {
		_ = f.ref.Cast(SyncAll{Force: true, Reason: "bench"})
		want := 20 * (i + 2)
		f.waitFor("20 rewritten", func() bool { return f.rc.written() == want })
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N*20), "ms/secret")
}
