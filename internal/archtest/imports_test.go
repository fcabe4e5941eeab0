package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/credmesh/credmesh"

type pkg struct {
	ImportPath string
	Dir        string
	Name       string
	Standard   bool
	Imports    []string
	Deps       []string
	Module     *struct{ Path string }
}

// listPackages runs `go list -deps -json ./...` from the module root and
// returns the module's own packages.
func listPackages(t *testing.T) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json", "./...")
	cmd.Dir = "../.."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Module != nil && p.Module.Path == mod {
			pkgs[p.ImportPath] = p
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func short(path string) string { return strings.TrimPrefix(strings.TrimPrefix(path, mod), "/") }

// layer rules: which internal packages each package may import directly.
// A package missing here fails the test, so new packages get a rule.
var allowedInternal = map[string][]string{
	"internal/actor":      {},
	"internal/api":        {},
	"internal/version":    {},
	"internal/crashpoint": {},
	"internal/record":     {},
	// Who belongs, computed from the admit and revoke records: pure.
	"internal/membership": {"internal/record"},
	"internal/identity":   {"internal/record"},
	// SQL only: the store imports no actor, no replica.
	"internal/store": {"internal/record", "internal/crashpoint", "internal/store/dbfile"},
	// The SQLite file under the store (connections, check, migrations).
	"internal/store/dbfile": {},
	// The replicated state sits on the store; the operator's commands on it.
	"internal/replica": {"internal/api", "internal/membership", "internal/record", "internal/store", "internal/identity"},
	"internal/command": {"internal/api", "internal/record", "internal/replica", "internal/store", "internal/identity"},
	// Actors: the domain and the kit; never each other. The network actors
	// see neither the store nor the replica (they declare what they need).
	"internal/sysinfo": {"internal/actor", "internal/record"},
	"internal/gossip":  {"internal/actor", "internal/record", "internal/identity", "internal/version", "internal/gossip/p2p", "internal/gossip/dialer"},
	// Keeping a connection to every member, under gossip: domain and p2p.
	"internal/gossip/dialer": {"internal/record", "internal/gossip/p2p"},
	// The libp2p host and GossipSub construction under gossip: domain only.
	"internal/gossip/p2p":  {"internal/record"},
	"internal/antientropy": {"internal/actor", "internal/record", "internal/crashpoint"},
	"internal/credwriter":  {"internal/actor", "internal/record", "internal/store", "internal/identity", "internal/crashpoint", "internal/credwriter/hostkey"},
	// systemd's host-key credential format under credwriter: the standard library only.
	"internal/credwriter/hostkey": {},
	"internal/web":                {"internal/actor", "internal/api", "internal/record", "internal/replica", "internal/store", "internal/identity", "internal/version"},
	// The HTML pages sit on the JSON API and its guard.
	"internal/webui": {"internal/api", "internal/record", "internal/replica", "internal/web"},
	// The composition root sees every package but cli.
	"internal/node": {"*"},
	// cli talks to the daemon through api, and to node for run, demo and
	// the offline reads (audit list); identity for init and tickets.
	"internal/cli": {"internal/api", "internal/node", "internal/identity", "internal/record", "internal/version"},
	"cmd/credmesh": {"internal/cli"},
	// The measuring harness sits beside cli.
	"internal/bench": {"internal/node", "internal/record", "internal/api"},
	// credmesh-bench encrypt times the credential writers themselves.
	"cmd/credmesh-bench": {"internal/bench", "internal/credwriter", "internal/credwriter/hostkey"},
	// Test-only packages.
	"internal/e2e":      {"*"},
	"internal/archtest": {},
	"internal/testenv":  {},
}

// Packages that must not depend on others even transitively (go list
// -deps): the network actors stay off the store and the replica, the
// store off every actor, the replica off every actor. (cli imports node
// for run and demo, so it depends on everything transitively; its direct
// imports are held by allowedInternal: no gossip, store or web.)
var forbiddenDeps = map[string][]string{
	"internal/membership":   {"internal/store", "internal/replica", "internal/actor", "internal/identity"},
	"internal/gossip":       {"internal/store", "internal/replica"},
	"internal/gossip/p2p":   {"internal/store", "internal/replica", "internal/actor", "internal/gossip"},
	"internal/antientropy":  {"internal/store", "internal/replica"},
	"internal/store/dbfile": {"internal/record", "internal/actor", "internal/replica", "internal/store"},
	"internal/store":        {"internal/actor", "internal/gossip", "internal/antientropy", "internal/credwriter", "internal/web", "internal/webui", "internal/sysinfo", "internal/replica"},
	"internal/replica":      {"internal/actor", "internal/gossip", "internal/antientropy", "internal/credwriter", "internal/web", "internal/webui", "internal/sysinfo", "internal/node"},
}

func TestForbiddenDeps(t *testing.T) {
	pkgs := listPackages(t)
	for name, banned := range forbiddenDeps {
		p, ok := pkgs[mod+"/"+name]
		if !ok {
			t.Errorf("%s not found", name)
			continue
		}
		for _, d := range p.Deps {
			if slices.Contains(banned, short(d)) {
				t.Errorf("%s depends on %s (go list -deps), which it must not", name, short(d))
			}
		}
	}
}

// External modules and the only packages that may import them directly.
var externalOwners = map[string][]string{
	"modernc.org/sqlite":           {"internal/store"},
	"github.com/libp2p/":           {"internal/gossip", "internal/gossip/p2p", "internal/gossip/dialer", "internal/antientropy", "internal/identity"},
	"filippo.io/age":               {"internal/record", "internal/identity"},
	"github.com/spf13/cobra":       {"internal/cli"},
	"golang.org/x/term":            {"internal/cli"},
	"github.com/coreos/go-systemd": {"internal/node", "internal/credwriter"},
	"github.com/shirou/gopsutil":   {"internal/sysinfo"},
	"github.com/chromedp/":         {},
	"github.com/prometheus/":       {"internal/web"},
}

func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	for path, p := range pkgs {
		name := short(path)
		allowed, ok := allowedInternal[name]
		if !ok {
			t.Errorf("%s has no import rule in allowedInternal; add one that fits docs/architecture.md", name)
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, mod+"/") {
				dep := short(imp)
				if strings.HasPrefix(dep, "cmd/") || (dep == "internal/cli" && name != "cmd/credmesh" && name != "internal/e2e") {
					t.Errorf("%s imports %s: only cmd/credmesh sits above cli", name, dep)
				}
				if !slices.Contains(allowed, "*") && !slices.Contains(allowed, dep) {
					t.Errorf("%s imports %s, which its layer may not (allowed: %v)", name, dep, allowed)
				}
				continue
			}
			for prefix, owners := range externalOwners {
				if strings.HasPrefix(imp, prefix) && !slices.Contains(owners, name) {
					t.Errorf("%s imports %s; only %v may", name, imp, owners)
				}
			}
		}
	}
}

// The bottom packages depend on the standard library only, even
// transitively; record (the domain core) also on the crypto it needs.
var transitiveAllowed = map[string][]string{
	"internal/actor":              nil,
	"internal/api":                nil,
	"internal/version":            nil,
	"internal/store/dbfile":       nil,
	"internal/credwriter/hostkey": nil,
	"internal/record":             {"filippo.io/", "golang.org/x/crypto", "golang.org/x/sys"},
}

func TestBottomPackagesStayPure(t *testing.T) {
	pkgs := listPackages(t)
	checked := 0
	for name, extra := range transitiveAllowed {
		p, ok := pkgs[mod+"/"+name]
		if !ok {
			t.Errorf("%s is gone: update transitiveAllowed", name)
			continue
		}
		checked++
		for _, d := range p.Deps {
			if !strings.Contains(strings.Split(d, "/")[0], ".") {
				continue // standard library
			}
			if !slices.ContainsFunc(extra, func(prefix string) bool { return strings.HasPrefix(d, prefix) }) {
				t.Errorf("%s depends on %s", name, d)
			}
		}
	}
	if checked < 3 {
		t.Fatalf("checked %d bottom packages, want at least actor, api and version", checked)
	}
}

// testenv decides whether a test skips or fails; only test files may
// import it, never a package that goes into the binary.
func TestTestenvOnlyInTests(t *testing.T) {
	for path, p := range listPackages(t) {
		if slices.Contains(p.Imports, mod+"/internal/testenv") {
			t.Errorf("%s imports internal/testenv outside its test files", short(path))
		}
	}
}

// Only credwriter runs systemd-creds.
func TestSystemdCredsOnlyInCredwriter(t *testing.T) {
	cmd := exec.Command("git", "grep", "-l", `"systemd-creds"`, "--", "*.go", ":!*_test.go")
	cmd.Dir = "../.."
	out, _ := cmd.Output() // exit 1 when nothing matches
	for _, f := range strings.Fields(string(out)) {
		if filepath.Dir(f) != "internal/credwriter" {
			t.Errorf("%s names the systemd-creds binary; only internal/credwriter may run it", f)
		}
	}
}
