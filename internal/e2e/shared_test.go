package e2e

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/api"
)

// copiesOf is a node's view of one name in secret list: the version of
// each target's copy (by hostname) and whether the list calls it
// diverged.
func copiesOf(t *testing.T, n *meshNode, name string) (versions string, diverged bool) {
	t.Helper()
	r := cli(t, n.dataDir, "secret", "list", "-o", "json")
	if r.code != 0 {
		return "unavailable: " + r.stderr, false
	}
	var list api.Secrets
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatal(err)
	}
	for _, s := range list.Secrets {
		if s.Name != name {
			continue
		}
		var vs []string
		for _, tg := range s.Targets {
			vs = append(vs, fmt.Sprintf("%s v%d", tg.Hostname, tg.Version))
		}
		sort.Strings(vs)
		return strings.Join(vs, ", "), s.Diverged
	}
	return "", false
}

// waitCopies waits until n lists name with exactly these copies and
// divergence.
func waitCopies(t *testing.T, n *meshNode, name, want string, wantDiverged bool) {
	t.Helper()
	var got string
	var diverged bool
	eventually(t, 30*time.Second, fmt.Sprintf("%s lists %s as %q (diverged %v)", n.name, name, want, wantDiverged), func() bool {
		got, diverged = copiesOf(t, n, name)
		return got == want && diverged == wantDiverged
	}, func() string { return fmt.Sprintf("got %q, diverged %v", got, diverged) })
}

// A secret shared with several nodes is one secret: a set without
// --target writes every copy at one version, a plain target refuses to
// leave the others behind, copies written apart are flagged as diverged,
// and share never hands out a value older than the newest copy.
func TestSharedSecretIsOneSecret(t *testing.T) {
	a, b, c, ids := trio(t) // alpha the admin, bravo and charlie plain nodes

	set(t, a, "db", []byte("one"), "--target", "bravo")
	mustCLI(t, a.dataDir, "secret", "share", "db", "--to", "charlie")
	waitCopies(t, a, "db", "bravo v1, charlie v1", false)

	// No --target: every copy gets the new value, at one version.
	set(t, a, "db", []byte("two"))
	waitValue(t, b, "db", []byte("two"))
	waitValue(t, c, "db", []byte("two"))
	waitCopies(t, a, "db", "bravo v2, charlie v2", false)

	// A plain target may not write charlie's copy: it refuses rather than
	// update its own alone.
	waitCopies(t, b, "db", "bravo v2, charlie v2", false)
	r := cliIn(t, b.dataDir, []byte("mine"), "secret", "set", "db")
	if r.code != 1 || !strings.Contains(r.stderr, "shared with charlie") || !strings.Contains(r.stderr, "nothing was written") {
		t.Fatalf("bravo's set of the shared db: exit %d %q, want 1 saying it is shared with charlie and nothing was written", r.code, r.stderr)
	}
	// Written apart (--target), the copies diverge, and the lists say so.
	set(t, b, "db", []byte("three"), "--target", "bravo")
	waitCopies(t, a, "db", "bravo v3, charlie v2", true)
	if out := mustCLI(t, a.dataDir, "secret", "list"); !strings.Contains(out, "diverged") {
		t.Fatalf("secret list does not flag the diverged copies:\n%s", out)
	}

	// alpha can read only what it wrote (v2): it says so rather than
	// share an older value than bravo's.
	r = cli(t, a.dataDir, "secret", "share", "db", "--to", "alpha")
	if r.code != 1 || strings.Contains(r.stderr, "can read no copy") ||
		!strings.Contains(r.stderr, "newest version is 3") || !strings.Contains(r.stderr, "version 2") || !strings.Contains(r.stderr, "secret set db") {
		t.Fatalf("share after bravo's newer version: exit %d %q, want 1 naming versions 3 and 2 and how to proceed", r.code, r.stderr)
	}
	// Set again from alpha: one version for all; then the share copies it
	// at that version.
	set(t, a, "db", []byte("four"))
	mustCLI(t, a.dataDir, "secret", "share", "db", "--to", "alpha")
	waitValue(t, a, "db", []byte("four"))
	waitValue(t, b, "db", []byte("four"))
	waitValue(t, c, "db", []byte("four"))
	waitCopies(t, a, "db", "alpha v4, bravo v4, charlie v4", false)
	if out := mustCLI(t, a.dataDir, "secret", "share", "db", "--to", "bravo"); !strings.Contains(out, "already holds version 4") {
		t.Fatalf("share to a node holding the version: %q, want it left alone", out)
	}

	// "not found" only when nothing exists.
	set(t, a, "solo", []byte("s"), "--target", "bravo")
	tests := []struct {
		name     string
		node     *meshNode
		args     []string
		want     []string
		mustNot  []string
		wantCode int
	}{
		{"get on the author, not a target", a, []string{"secret", "get", "solo"}, []string{"not a target", "bravo"}, []string{"not found"}, 1},
		{"get by a bystander", c, []string{"secret", "get", "solo"}, []string{"not a target", "bravo"}, []string{"not found"}, 1},
		{"rm of a name that does not exist", a, []string{"secret", "rm", "nosuch"}, []string{"nosuch does not exist"}, []string{"not allowed", "may delete"}, 1},
		{"rm for a target without a copy", a, []string{"secret", "rm", "solo", "--target", "charlie"}, []string{"does not exist for charlie", "bravo"}, []string{"not allowed"}, 1},
		{"rm of another node's copy by a plain node", c, []string{"secret", "rm", "solo"}, []string{"exists for bravo", "only its own copy"}, []string{"not found"}, 1},
		{"empty value", a, []string{"secret", "set", "empty"}, []string{"empty", "--allow-empty"}, nil, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eventually(t, 30*time.Second, tc.node.name+" holds solo", func() bool {
				return len(history(t, tc.node, "solo").Versions) > 0
			}, nil)
			r := cli(t, tc.node.dataDir, tc.args...)
			if r.code != tc.wantCode {
				t.Errorf("%s %v: exit %d, want %d (%q)", tc.node.name, tc.args, r.code, tc.wantCode, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("%s %v: stderr %q lacks %q", tc.node.name, tc.args, r.stderr, w)
				}
			}
			for _, w := range tc.mustNot {
				if strings.Contains(r.stderr, w) {
					t.Errorf("%s %v: stderr %q says %q", tc.node.name, tc.args, r.stderr, w)
				}
			}
		})
	}
	if r := cliIn(t, a.dataDir, nil, "secret", "set", "empty", "--allow-empty"); r.code != 0 {
		t.Fatalf("--allow-empty: exit %d %q", r.code, r.stderr)
	}
	if v, ok := get(t, a, "empty"); !ok || len(v) != 0 {
		t.Fatalf("the empty secret reads %q (ok %v), want it empty", v, ok)
	}

	// Peer actions echo the node they resolved, not the typed prefix.
	prefix := ids[c][:20]
	out := mustCLI(t, a.dataDir, "peers", "promote", prefix)
	if want := "promoted to admin charlie (" + ids[c] + ")"; !strings.Contains(out, want) {
		t.Fatalf("peers promote %s printed %q, want %q", prefix, out, want)
	}
	out = mustCLI(t, a.dataDir, "peers", "revoke", prefix, "--reason", "test")
	if want := "revoked charlie (" + ids[c] + ")"; !strings.Contains(out, want) {
		t.Fatalf("peers revoke %s printed %q, want %q", prefix, out, want)
	}

	// A revoked target keeps the old value: the set skips it and says so,
	// and its lagging copy is not "diverged" (it needs rotation instead).
	r = cliIn(t, a.dataDir, []byte("five"), "secret", "set", "db")
	if r.code != 0 || !strings.Contains(r.stdout, "not written for charlie") || !strings.Contains(r.stdout, "revoked") {
		t.Fatalf("set with a revoked target: exit %d, stdout %q, stderr %q; want charlie skipped as revoked", r.code, r.stdout, r.stderr)
	}
	waitValue(t, b, "db", []byte("five"))
	waitCopies(t, a, "db", "alpha v5, bravo v5, charlie v4", false)
}
