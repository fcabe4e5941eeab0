package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // to play a compromised node's database

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/testenv"
)

// trio starts alpha, bravo and charlie, all members of each other (B and
// C start with A's ticket; A adds theirs), and waits until every node
// knows every other's age recipient. Alpha is the admin, bravo and
// charlie plain nodes.
func trio(t *testing.T) (a, b, c *meshNode, ids map[*meshNode]string) {
	t.Helper()
	return trioRoles(t, "node", "node")
}

// trioRoles is trio with the roles alpha gives bravo and charlie.
func trioRoles(t *testing.T, bRole, cRole string) (a, b, c *meshNode, ids map[*meshNode]string) {
	t.Helper()
	root := t.TempDir()
	a = startMesh(t, "alpha", root+"/a")
	b = startMesh(t, "bravo", root+"/b", a.ticket())
	c = startMesh(t, "charlie", root+"/c", a.ticket())
	mustCLI(t, a.dataDir, "peers", "add", b.ticket(), "--role", bRole)
	mustCLI(t, a.dataDir, "peers", "add", c.ticket(), "--role", cRole)
	ids = map[*meshNode]string{a: a.status().NodeID, b: b.status().NodeID, c: c.status().NodeID}
	for _, n := range []*meshNode{a, b, c} {
		for _, o := range []*meshNode{a, b, c} {
			if o == n {
				continue
			}
			eventually(t, 30*time.Second, n.name+" knows "+o.name+"'s recipient", func() bool {
				p, ok := find(n.peers(), ids[o])
				return ok && p.State == "member" && p.Online && strings.HasPrefix(p.AgeRecipient, "age1")
			}, func() string { return describe(n.peers()) })
		}
	}
	return a, b, c, ids
}

func set(t *testing.T, n *meshNode, name string, value []byte, args ...string) {
	t.Helper()
	r := cliIn(t, n.dataDir, value, append([]string{"secret", "set", name}, args...)...)
	if r.code != 0 {
		t.Fatalf("%s: secret set %s %v: %s", n.name, name, args, r.stderr)
	}
}

func get(t *testing.T, n *meshNode, name string) ([]byte, bool) {
	t.Helper()
	r := cli(t, n.dataDir, "secret", "get", name)
	return []byte(r.stdout), r.code == 0
}

// waitValue waits until n reads exactly want for name.
func waitValue(t *testing.T, n *meshNode, name string, want []byte) {
	t.Helper()
	eventually(t, 30*time.Second, fmt.Sprintf("%s reads %s (%d bytes)", n.name, name, len(want)), func() bool {
		got, ok := get(t, n, name)
		return ok && bytes.Equal(got, want)
	}, nil)
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func TestSecretReachesOnlyItsTarget(t *testing.T) {
	a, b, c, _ := trio(t)
	for _, size := range []int{1, record.MaxPlaintext} {
		name := fmt.Sprintf("bin-%d", size)
		value := randBytes(size)
		set(t, a, name, value, "--target", "bravo")
		waitValue(t, b, name, value)

		// charlie stores the ciphertext but cannot read it.
		var ct []byte
		eventually(t, 30*time.Second, "charlie stores bravo's ciphertext", func() bool {
			r := cli(t, c.dataDir, "secret", "get", name, "--ciphertext", "--target", "bravo")
			ct = []byte(r.stdout)
			return r.code == 0 && bytes.HasPrefix(ct, []byte("age-encryption.org/v1"))
		}, nil)
		if r := cli(t, c.dataDir, "secret", "get", name); r.code == 0 || !strings.Contains(r.stderr, "not a target") {
			t.Fatalf("charlie reads bravo's secret: exit %d %q", r.code, r.stderr)
		}
		if _, err := ageDecrypt(t, filepath.Join(c.dataDir, "age.key"), ct); err == nil {
			t.Fatal("charlie's age key decrypts bravo's ciphertext")
		}
		// Interop: bravo's copy decrypts with the standard age tool and
		// the unpad one-liner of docs/secrets.md.
		t.Run(fmt.Sprintf("age interop %d bytes", size), func(t *testing.T) {
			if _, err := exec.LookPath("age"); err != nil {
				testenv.Need(t, "age is not installed (Debian's age)")
			}
			got, err := ageDecrypt(t, filepath.Join(b.dataDir, "age.key"), ct)
			if err != nil {
				t.Fatalf("age -d with bravo's key: %v", err)
			}
			if !bytes.Equal(got, value) {
				t.Fatalf("age -d + unpad gave %d bytes, want the %d set", len(got), len(value))
			}
		})
	}

	// One byte over the limit is refused before anything is stored.
	r := cliIn(t, a.dataDir, make([]byte, record.MaxPlaintext+1), "secret", "set", "too-big", "--target", "bravo")
	if r.code == 0 || !strings.Contains(r.stderr, fmt.Sprintf("larger than %d bytes", record.MaxPlaintext)) {
		t.Fatalf("the limit + 1: exit %d %q", r.code, r.stderr)
	}
	if r := cli(t, a.dataDir, "secret", "history", "too-big"); r.code == 0 {
		t.Fatal("a refused secret has a history")
	}
}

// ageDecrypt runs the documented interop pipeline: age -d, then drop the
// 4-byte length prefix and the padding.
func ageDecrypt(t *testing.T, keyFile string, ct []byte) ([]byte, error) {
	t.Helper()
	if _, err := exec.LookPath("age"); err != nil {
		// Without the tool, use the library for the negative check.
		id, err := identity.Load(filepath.Dir(keyFile))
		if err != nil {
			return nil, err
		}
		return record.Decrypt(id.AgeIdentity(), ct)
	}
	script := `set -e; f=$(mktemp); trap 'rm -f "$f"' EXIT; age -d -i "$1" > "$f"
n=$(head -c 4 "$f" | od -An -tu4 --endian=big | tr -d ' '); tail -c +5 "$f" | head -c "$n"`
	cmd := exec.Command("sh", "-c", script, "sh", keyFile)
	cmd.Stdin = bytes.NewReader(ct)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, errb.String())
	}
	return out.Bytes(), nil
}

func history(t *testing.T, n *meshNode, name string) api.SecretHistory {
	t.Helper()
	r := cli(t, n.dataDir, "secret", "history", name, "-o", "json")
	var h api.SecretHistory
	if r.code == 0 {
		if err := json.Unmarshal([]byte(r.stdout), &h); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func TestSecretHistoryShareAndAuthorization(t *testing.T) {
	a, b, c, ids := trio(t)
	for v := 1; v <= 3; v++ {
		set(t, a, "db", []byte(fmt.Sprintf("password-%d", v)), "--target", "bravo", "--restart", "web.service")
	}
	for _, n := range []*meshNode{a, b, c} {
		eventually(t, 30*time.Second, n.name+" has versions 3, 2, 1", func() bool {
			var got []uint64
			for _, v := range history(t, n, "db").Versions {
				got = append(got, v.Version)
			}
			return fmt.Sprint(got) == "[3 2 1]"
		}, nil)
	}
	waitValue(t, b, "db", []byte("password-3"))

	// alpha wrote it for bravo and shares it with charlie.
	mustCLI(t, a.dataDir, "secret", "share", "db", "--to", "charlie")
	waitValue(t, c, "db", []byte("password-3"))
	var list api.Secrets
	if err := json.Unmarshal([]byte(mustCLI(t, a.dataDir, "secret", "list", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Secrets) != 1 || len(list.Secrets[0].Targets) != 2 || list.Secrets[0].Targets[0].Group != list.Secrets[0].Targets[1].Group {
		t.Fatalf("list = %+v, want db with two targets in one share group", list)
	}

	// charlie is a member but neither author nor target of bravo's copy.
	for _, args := range [][]string{{"secret", "set", "db", "--target", "bravo"}, {"secret", "rm", "db", "--target", "bravo"}} {
		r := cliIn(t, c.dataDir, []byte("evil"), args...)
		if r.code == 0 || !strings.Contains(r.stderr, "not allowed") {
			t.Fatalf("charlie %v: exit %d %q", args, r.code, r.stderr)
		}
	}

	// A compromised charlie signs the update itself and serves it from its
	// log: every node refuses it and audits the refusal.
	c.shutdown(syscall.SIGTERM)
	forge(t, c.dataDir, "db", ids[b], 4, "evil")
	c2 := startMesh(t, "charlie", c.dataDir)
	for _, n := range []*meshNode{a, b} {
		eventually(t, 30*time.Second, n.name+" audits the forged version", func() bool {
			var page api.Events
			_ = json.Unmarshal([]byte(mustCLI(t, n.dataDir, "audit", "list", "--limit", "200", "-o", "json")), &page)
			for _, e := range page.Events {
				if e.Type == "record.rejected" && e.Secret == "db" && e.Data["reason"] == "not_allowed" && e.Node == ids[c] {
					return true
				}
			}
			return false
		}, nil)
		for _, v := range history(t, n, "db").Versions {
			if v.Version == 4 && (v.Counts || v.Current) {
				t.Fatalf("%s counts the forged version: %+v", n.name, v)
			}
		}
	}
	waitValue(t, b, "db", []byte("password-3"))
	_ = c2
}

// forge plays a compromised node: it signs a version of name for target
// with the node's own key and puts it in the node's record log, bypassing
// every local check, so that its peers pull it.
func forge(t *testing.T, dataDir, name, target string, version uint64, value string) {
	t.Helper()
	id, err := identity.Load(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := record.PublicKeyOf(record.NodeID(target))
	if err != nil {
		t.Fatal(err)
	}
	s := record.Secret{Name: name, Target: tk, Version: version, CreatedAt: time.Now(),
		Ciphertext: append([]byte("age-encryption.org/v1\n"), make([]byte, 200)...), Group: make([]byte, record.GroupSize)}
	e, err := record.Seal(id.NodeKey(), record.KindSecret, uint64(time.Now().UnixMilli()), time.Now(), s.Encode())
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(dataDir, "credmesh.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rid := e.ID()
	_, err = db.ExecContext(context.Background(), `INSERT INTO records(id, kind, author, seq, key, time_ms, raw, log_seq, received_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT max(log_seq) + 1000 FROM records), ?)`,
		rid[:], int(record.KindSecret), id.NodeID.String(), int64(e.Seq), target+"/"+name, e.Time.UnixMilli(), e.Raw(), time.Now().UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
}

// currentSet is a node's current secrets as comparable lines.
func currentSet(t *testing.T, n *meshNode) string {
	t.Helper()
	r := cli(t, n.dataDir, "secret", "list", "-o", "json")
	if r.code != 0 {
		return "unavailable: " + r.stderr
	}
	var list api.Secrets
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, s := range list.Secrets {
		for _, tg := range s.Targets {
			lines = append(lines, fmt.Sprintf("%s %s v%d %s", s.Name, tg.Target[:16], tg.Version, tg.Record[:12]))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// While charlie is away (stopped, or killed half way), alpha and bravo (two
// admins) set
// 50 secrets, update 20 and delete 10; back, charlie ends with exactly
// their current set: no stale version, no resurrected delete.
func TestSecretsCatchUpAfterOffline(t *testing.T) {
	for _, how := range []string{"stopped", "killed mid-way"} {
		t.Run(how, func(t *testing.T) {
			a, b, c, _ := trioRoles(t, "admin", "node") // alpha and bravo write for anyone
			writers := []*meshNode{a, b}
			targets := []string{"alpha", "bravo", "charlie"}
			if how == "stopped" {
				c.shutdown(syscall.SIGTERM)
			}
			for i := range 50 {
				if how == "killed mid-way" && i == 25 {
					c.stop(syscall.SIGKILL)
				}
				w := writers[i%2]
				set(t, w, fmt.Sprintf("s%02d", i), []byte(fmt.Sprint("v1-", i)), "--target", targets[i%3])
			}
			for i := range 20 {
				set(t, writers[i%2], fmt.Sprintf("s%02d", i), []byte(fmt.Sprint("v2-", i)), "--target", targets[i%3])
			}
			for i := 20; i < 30; i++ {
				mustCLI(t, writers[i%2].dataDir, "secret", "rm", fmt.Sprintf("s%02d", i), "--target", targets[i%3])
			}
			eventually(t, 30*time.Second, "alpha and bravo agree", func() bool { return currentSet(t, a) == currentSet(t, b) }, nil)
			want := currentSet(t, a)
			if n := strings.Count(want, "\n") + 1; n != 40 {
				t.Fatalf("alpha holds %d current secrets, want 40 (50 set, 10 deleted)", n)
			}
			c2 := startMesh(t, "charlie", c.dataDir)
			var got string
			eventually(t, 30*time.Second, "charlie has exactly alpha's current set", func() bool {
				got = currentSet(t, c2)
				return got == want
			}, func() string { return "got:\n" + got + "\nwant:\n" + want })
			// What charlie is the target of, it can read, at the latest version.
			for i := range 20 {
				if targets[i%3] == "charlie" {
					waitValue(t, c2, fmt.Sprintf("s%02d", i), []byte(fmt.Sprint("v2-", i)))
				}
			}
		})
	}
}
