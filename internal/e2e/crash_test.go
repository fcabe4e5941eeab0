package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/crashpoint"
	"github.com/credmesh/credmesh/internal/testenv"
)

// The crash harness kills bravo with SIGKILL, at named points and at
// random moments under write load, and checks after every restart: the
// database passes PRAGMA integrity_check, no temporary credential file
// is left, every write bravo acknowledged is there, and alpha and bravo
// converge again. Bravo runs a plain binary, never the race build (it
// takes a second to start, and this harness is about crashes, not
// races): for the named points, credmesh built with -tags crashpoints,
// since a release build has no crash points.

// crashPair is alpha and a crashable bravo, members of each other.
type crashPair struct {
	t      *testing.T
	a, b   *meshNode
	bDir   string
	bBin   string // the binary bravo runs
	ticket string
	// leftovers counts temporary credential files crashes left.
	leftovers int
	// acked is the highest version of each name bravo acknowledged, and
	// records every record ID it acknowledged (a lost write could hide
	// behind a later one reusing its version number; its ID cannot).
	mu      sync.Mutex
	acked   map[string]uint64
	records []string
}

func newCrashPair(t *testing.T) *crashPair {
	t.Helper()
	root := t.TempDir()
	p := &crashPair{t: t, bDir: root + "/b", bBin: bin, acked: map[string]uint64{}}
	p.a = startMesh(t, "alpha", root+"/a")
	p.ticket = p.a.ticket()
	p.b = startMesh(t, "bravo", p.bDir, p.ticket)
	mustCLI(t, p.a.dataDir, "peers", "add", p.b.ticket(), "--role", "admin") // bravo writes for alpha
	ida, idb := p.a.status().NodeID, p.b.status().NodeID
	eventually(t, 30*time.Second, "alpha and bravo online members of each other", func() bool {
		pa, oka := find(p.a.peers(), idb)
		pb, okb := find(p.b.peers(), ida)
		return oka && okb && pa.Online && pb.Online && pa.AgeRecipient != "" && pb.AgeRecipient != ""
	}, nil)
	return p
}

// startB starts bravo with p.bBin and env, without waiting.
func (p *crashPair) startB(env ...string) {
	p.b = startMeshWith(p.t, daemonOpts{bin: p.bBin, env: env}, "bravo", p.bDir)
}

// restartB starts bravo normally after a crash, after checking its
// database, and checks what a restart must leave.
func (p *crashPair) restartB() {
	p.t.Helper()
	integrityCheck(p.t, p.bDir)
	left := tempCredentials(p.b)
	p.leftovers += len(left)
	p.startB()
	p.b.waitReady()
	// The leftovers of the crash are gone (new writes may have new ones).
	for _, name := range left {
		if _, err := os.Stat(filepath.Join(p.bDir, "creds", name)); err == nil {
			p.t.Fatalf("a temporary credential file survived the restart: %s", name)
		}
	}
}

// set writes name on bravo through its control socket and remembers the
// version if bravo acknowledged it.
func (p *crashPair) set(ctx context.Context, c *api.Client, name string, target string) error {
	res, err := c.SetSecret(ctx, api.SetSecret{Name: name, Targets: []string{target}, Value: []byte("value of " + name + " " + strconv.FormatInt(time.Now().UnixNano(), 10))})
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range res.Writes {
		p.acked[w.Name] = max(p.acked[w.Name], w.Version)
		p.records = append(p.records, w.Record)
	}
	return nil
}

func (p *crashPair) bExited() bool {
	select {
	case <-p.b.done:
		return true
	default:
		return false
	}
}

// writeUntilKilled writes to bravo through its control socket, without
// pause, until bravo is dead (killed by the crash point armed at start).
// A write that fails (bravo still starting, or dying) is retried every
// 10 ms; after two minutes without the kill the test fails.
func (p *crashPair) writeUntilKilled(ctx context.Context, point string, round int) {
	p.t.Helper()
	c := api.NewClient(filepath.Join(p.bDir, "control.sock"))
	retry := time.NewTicker(10 * time.Millisecond)
	defer retry.Stop()
	deadline := time.Now().Add(2 * time.Minute)
	for n := 0; !p.bExited(); n++ {
		if time.Now().After(deadline) {
			p.t.Fatalf("bravo still runs after 2 minutes of writes with %s armed\n%s", point, p.b.logs.String())
		}
		if err := p.set(ctx, c, fmt.Sprintf("commit-%d-%d", round, n%3), "alpha"); err != nil {
			select {
			case <-p.b.done:
			case <-retry.C:
			}
		}
	}
}

// waitKilled waits until bravo is dead (by a crash point or a kill).
func (p *crashPair) waitKilled(why string) {
	p.t.Helper()
	select {
	case <-p.b.done:
	case <-time.After(60 * time.Second):
		p.t.Fatalf("bravo did not die at %s\n%s", why, p.b.logs.String())
	}
	if !strings.Contains(fmt.Sprint(p.b.err), "killed") {
		p.t.Fatalf("bravo exited with %v at %s, want killed\n%s", p.b.err, why, p.b.logs.String())
	}
}

// checkConverged checks every acknowledged write is on bravo and alpha
// and both agree on every current secret.
func (p *crashPair) checkConverged() {
	p.t.Helper()
	p.mu.Lock()
	acked := make(map[string]uint64, len(p.acked))
	for k, v := range p.acked {
		acked[k] = v
	}
	records := append([]string(nil), p.records...)
	p.mu.Unlock()
	var detail string
	eventually(p.t, 60*time.Second, "alpha and bravo converge with every acknowledged write", func() bool {
		ca, cb := currentVersions(p.t, p.a), currentVersions(p.t, p.b)
		for name, v := range acked {
			if cb[name] < v || ca[name] < v {
				detail = fmt.Sprintf("%s acknowledged at v%d; bravo has v%d, alpha v%d", name, v, cb[name], ca[name])
				return false
			}
		}
		if currentSet(p.t, p.a) != currentSet(p.t, p.b) {
			detail = "alpha:\n" + currentSet(p.t, p.a) + "bravo:\n" + currentSet(p.t, p.b)
			return false
		}
		for _, n := range []*meshNode{p.a, p.b} {
			ids, err := readRecordIDs(n.dataDir)
			if err != nil {
				detail = err.Error()
				return false
			}
			for _, id := range records {
				if !ids[id] {
					detail = fmt.Sprintf("%s lacks the acknowledged record %s", n.name, id)
					return false
				}
			}
		}
		return true
	}, func() string { return detail })
}

// currentVersions is a node's current version of each secret name.
func currentVersions(t *testing.T, n *meshNode) map[string]uint64 {
	t.Helper()
	list, err := api.NewClient(filepath.Join(n.dataDir, "control.sock")).Secrets(context.Background(), "")
	if err != nil {
		return nil // restarting; callers poll
	}
	out := map[string]uint64{}
	for _, s := range list.Secrets {
		for _, tg := range s.Targets {
			out[s.Name] = max(out[s.Name], tg.Version)
		}
	}
	return out
}

func integrityCheck(t *testing.T, dataDir string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dataDir, "credmesh.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check after a crash: %q %v", res, err)
	}
}

// tempCredentials lists the temporary files in n's credential directory.
func tempCredentials(n *meshNode) []string {
	entries, _ := os.ReadDir(filepath.Join(n.dataDir, "creds"))
	var out []string
	for _, e := range entries {
		if strings.Contains(e.Name(), "credmesh-tmp") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestCrashAtNamedPoints(t *testing.T) {
	needSystemdCreds(t)
	p := newCrashPair(t)
	p.bBin = crashBinary(t)
	ctx := context.Background()

	// Before and after the store commits: bravo dies in the middle of a
	// stream of writes.
	for i, point := range []string{crashpoint.StoreBeforeCommit, crashpoint.StoreAfterCommit} {
		p.b.shutdown(syscall.SIGTERM)
		// The 25th commit is well into the writes below (a start commits
		// a handful).
		p.startB(crashpoint.Env + "=" + point + "@25")
		p.writeUntilKilled(ctx, point, i)
		p.waitKilled(point)
		p.restartB()
		p.checkConverged()
	}

	// Between the temporary credential file and its rename.
	p.b.shutdown(syscall.SIGTERM)
	p.startB(crashpoint.Env + "=" + crashpoint.CredentialRenaming)
	p.b.waitReady()
	set(t, p.a, "renamed", []byte("written after the crash"), "--target", "bravo")
	p.waitKilled(crashpoint.CredentialRenaming)
	if len(tempCredentials(p.b)) == 0 {
		t.Fatal("bravo died at the rename but left no temporary file: the point did not fire mid-write")
	}
	p.restartB()
	waitCred(t, p.b, "renamed", []byte("written after the crash"))

	// In the middle of an anti-entropy pull: a batch applied, the cursor
	// not advanced.
	p.b.shutdown(syscall.SIGTERM)
	for i := range 5 {
		set(t, p.a, fmt.Sprintf("missed-%d", i), []byte("while bravo was away"), "--target", "alpha")
	}
	p.startB(crashpoint.Env + "=" + crashpoint.AntiEntropyMidPull)
	p.waitKilled(crashpoint.AntiEntropyMidPull)
	p.restartB()
	p.checkConverged()
	for i := range 5 {
		if v := currentVersions(t, p.b)[fmt.Sprintf("missed-%d", i)]; v != 1 {
			t.Fatalf("bravo has missed-%d at v%d after the pull, want v1", i, v)
		}
	}
}

// crashKills is how many random kills TestCrashAtRandomMoments makes:
// CREDMESH_CRASH_KILLS, default 200.
func crashKills(t *testing.T) int {
	if v := os.Getenv("CREDMESH_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("CREDMESH_CRASH_KILLS=%q", v)
		}
		return n
	}
	return 200
}

func TestCrashAtRandomMoments(t *testing.T) {
	testenv.Long(t, "200 kill -9 restarts under write load: over a minute, several under -race")
	needSystemdCreds(t)
	p := newCrashPair(t)
	kills := crashKills(t)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d, %d kills", seed, kills)

	// A writer sets secrets on bravo without pause, for alpha and for
	// bravo itself (so bravo writes credentials too), while bravo is up;
	// while bravo is down it tries again every 5 ms.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	writes := 0
	go func() {
		defer wg.Done()
		c := api.NewClient(filepath.Join(p.bDir, "control.sock"))
		retry := time.NewTicker(5 * time.Millisecond)
		defer retry.Stop()
		for i := 0; ctx.Err() == nil; i++ {
			target := "alpha"
			if i%2 == 1 {
				target = "bravo"
			}
			if err := p.set(ctx, c, fmt.Sprintf("load-%d", i%16), target); err != nil {
				select {
				case <-ctx.Done():
				case <-retry.C:
				}
				continue
			}
			writes++
		}
	}()
	for k := range kills {
		// Not a wait: the kill comes at a random moment, 0-400 ms after
		// bravo answered again.
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		if err := p.b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.waitKilled(fmt.Sprintf("random kill %d", k))
		p.restartB()
	}
	cancel()
	wg.Wait()
	p.mu.Lock()
	names := len(p.acked)
	p.mu.Unlock()
	t.Logf("%d acknowledged writes over %d names across %d kills; %d temporary credential files left by kills, all removed at restart", writes, names, kills, p.leftovers)
	if writes == 0 {
		t.Fatal("no write was acknowledged: there is nothing to check for loss")
	}
	p.checkConverged()
}

// A release build has no crash points: the symbol table of bin, built as
// the README builds credmesh (go build, no tags), lists nothing of package
// crashpoint, and the binary does not even hold the variable's name, so no
// environment can make it kill itself. The harness's build (-tags
// crashpoints) has both, which shows the check sees them when they are
// there.
func TestReleaseBuildHasNoCrashPoints(t *testing.T) {
	for _, tc := range []struct {
		name, bin string
		want      bool
	}{
		{"release build", bin, false},
		{"-tags crashpoints", crashBinary(t), true},
	} {
		out, err := exec.Command("go", "tool", "nm", tc.bin).Output()
		if err != nil {
			t.Fatalf("go tool nm %s: %v", tc.bin, err)
		}
		var syms []string
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "/internal/crashpoint.") {
				syms = append(syms, strings.TrimSpace(line))
			}
		}
		if has := slices.ContainsFunc(syms, func(s string) bool { return strings.HasSuffix(s, "/internal/crashpoint.Here") }); has != tc.want {
			t.Errorf("%s: crashpoint.Here in the symbol table = %v, want %v; crashpoint symbols: %v", tc.name, has, tc.want, syms)
		}
		if !tc.want && len(syms) > 0 {
			t.Errorf("%s has crash point symbols: %v", tc.name, syms)
		}
		data, err := os.ReadFile(tc.bin)
		if err != nil {
			t.Fatal(err)
		}
		if has := bytes.Contains(data, []byte(crashpoint.Env)); has != tc.want {
			t.Errorf("%s holds the string %s: %v, want %v", tc.name, crashpoint.Env, has, tc.want)
		}
	}
}
