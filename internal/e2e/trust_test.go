package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
)

// A fourth node joins with one command (run INVITE) and none on the old
// nodes, becomes a member everywhere and receives the secrets for it.
func TestInviteJoin(t *testing.T) {
	a, b, c, _ := trio(t)
	invite := strings.TrimSpace(mustCLI(t, a.dataDir, "invite"))
	if !strings.HasPrefix(invite, "credmesh1") {
		t.Fatalf("invite = %q", invite)
	}
	d := startMesh(t, "delta", filepath.Join(filepath.Dir(a.dataDir), "d"), invite)
	idD := d.status().NodeID
	for _, n := range []*meshNode{a, b, c} {
		eventually(t, 30*time.Second, n.name+" sees delta as an online member", func() bool {
			p, ok := find(n.peers(), idD)
			return ok && p.State == "member" && p.Online && strings.HasPrefix(p.AgeRecipient, "age1")
		}, func() string { return describe(n.peers()) })
	}
	if p, _ := find(a.peers(), idD); p.Role != "node" {
		t.Fatalf("an invite without --role admitted delta as %q, want node", p.Role)
	}
	set(t, a, "for-delta", []byte("welcome"), "--target", "delta")
	waitValue(t, d, "for-delta", []byte("welcome"))
	// Only an admin invites.
	if r := cli(t, b.dataDir, "invite"); r.code != 1 || !strings.Contains(r.stderr, "not an admin") {
		t.Fatalf("a plain node's invite: exit %d %q", r.code, r.stderr)
	}

	// The invite was one-time: a second node presenting it is refused.
	e := startMesh(t, "echo", filepath.Join(filepath.Dir(a.dataDir), "e"), invite)
	idE := e.status().NodeID
	eventually(t, 30*time.Second, "echo's reuse of the invite refused", func() bool {
		return auditCount(t, a, "invite.refused", "") == 1 && auditCount(t, e, "invite.refused", "") == 1
	}, nil)
	if p, ok := find(a.peers(), idE); ok && p.State == "member" {
		t.Fatal("a reused invite made echo a member")
	}
}

// Revoking C on A while B is offline: B learns it when it returns; nobody
// accepts C's new records; what C could read or wrote is flagged for
// rotation; a new admit of C changes nothing.
func TestRevocationIsSticky(t *testing.T) {
	a, b, c, ids := trioRoles(t, "node", "admin") // charlie writes for alpha
	set(t, c, "from-c", []byte("c wrote this"), "--target", "alpha")
	set(t, a, "for-c", []byte("c can read this"), "--target", "charlie")
	mustCLI(t, a.dataDir, "secret", "share", "for-c", "--to", "bravo")
	waitValue(t, b, "for-c", []byte("c can read this"))
	waitValue(t, a, "from-c", []byte("c wrote this"))

	b.shutdown(syscall.SIGTERM)
	// A reason over 256 bytes is cut at a character boundary (the record
	// would refuse a cut rune), not refused.
	mustCLI(t, a.dataDir, "peers", "revoke", "charlie", "--reason", "lost laptop "+strings.Repeat("é", 200))
	b2 := startMesh(t, "bravo", b.dataDir)
	for _, n := range []*meshNode{a, b2} {
		eventually(t, 30*time.Second, n.name+" lists charlie as revoked", func() bool {
			p, ok := find(n.peers(), ids[c])
			return ok && p.State == "revoked" && !p.Online
		}, func() string { return describe(n.peers()) })
		eventually(t, 30*time.Second, n.name+" flags what charlie could read or wrote", func() bool {
			var list api.Secrets
			_ = json.Unmarshal([]byte(mustCLI(t, n.dataDir, "secret", "list", "-o", "json")), &list)
			flagged := map[string]bool{}
			for _, s := range list.Secrets {
				for _, tg := range s.Targets {
					if tg.NeedsRotation != "" {
						flagged[s.Name+"@"+tg.Hostname] = true
					}
				}
			}
			return flagged["from-c@alpha"] && flagged["for-c@charlie"] && flagged["for-c@bravo"]
		}, nil)
		if auditCount(t, n, "peer.revoked", "") == 0 && n == a {
			t.Fatal("alpha did not audit the revocation")
		}
	}

	// A new version written after the revocation clears the flag.
	set(t, a, "for-c", []byte("rotated"), "--target", "bravo")
	eventually(t, 30*time.Second, "the rotated copy is no longer flagged", func() bool {
		var list api.Secrets
		_ = json.Unmarshal([]byte(mustCLI(t, a.dataDir, "secret", "list", "-o", "json")), &list)
		for _, s := range list.Secrets {
			for _, tg := range s.Targets {
				if s.Name == "for-c" && tg.Hostname == "bravo" {
					return tg.NeedsRotation == "" && tg.Version == 2
				}
			}
		}
		return false
	}, nil)

	// Charlie knows it was revoked: its status says so and it refuses
	// every write; a record it signs anyway is accepted nowhere.
	eventually(t, 30*time.Second, "charlie's status says it was revoked", func() bool {
		st := c.status()
		return st.Revoked != nil && strings.HasPrefix(st.Revoked.Reason, "lost laptop é") && len(st.Revoked.Reason) <= 256 &&
			utf8.ValidString(st.Revoked.Reason) && st.Revoked.By[0] == ids[a]
	}, nil)
	if !strings.Contains(mustCLI(t, c.dataDir, "status"), "REVOKED by "+ids[a]) {
		t.Fatal("charlie's status text does not say it was revoked")
	}
	if r := cliIn(t, c.dataDir, []byte("x"), "secret", "set", "c-after", "--target", "alpha"); r.code != 1 || !strings.Contains(r.stderr, "revoked") {
		t.Fatalf("the revoked node's secret set: exit %d %q", r.code, r.stderr)
	}
	eventually(t, 30*time.Second, "charlie logs one warning that it was revoked", func() bool {
		return strings.Count(c.logs.String(), "level=WARN msg=\"this node was revoked") == 1
	}, nil)
	forge(t, c.dataDir, "c-after", ids[a], 1, "x")
	waitHeartbeats(a)
	for _, n := range []*meshNode{a, b2} {
		if r := cli(t, n.dataDir, "secret", "history", "c-after"); r.code == 0 {
			t.Fatalf("%s stored a record charlie wrote after its revocation", n.name)
		}
	}

	// A new admit of charlie (signed by alpha, served from alpha's log)
	// does not bring it back: the revocation beats every admit.
	a.shutdown(syscall.SIGTERM)
	forgeAdmit(t, a.dataDir, ids[c])
	a2 := startMesh(t, "alpha", a.dataDir)
	eventually(t, 30*time.Second, "bravo stores the new admit", func() bool {
		var st api.Status
		_ = json.Unmarshal([]byte(mustCLI(t, b2.dataDir, "status", "-o", "json")), &st)
		return st.Counts.Records["admit"] >= 3 // alpha's of bravo and charlie, and the new one
	}, nil)
	for _, n := range []*meshNode{a2, b2} {
		if p, ok := find(n.peers(), ids[c]); !ok || p.State != "revoked" {
			t.Fatalf("%s: charlie is %+v after a new admit, want still revoked", n.name, p)
		}
	}
	if r := cli(t, a2.dataDir, "peers", "add", c.ticket()); r.code != 1 || !strings.Contains(r.stderr, "conflict") || !strings.Contains(r.stderr, "revoked") {
		t.Fatalf("peers add of a revoked node: exit %d %q, want a 409 conflict", r.code, r.stderr)
	}
	if r := cli(t, a2.dataDir, "peers", "approve", ids[c]); r.code != 1 || !strings.Contains(r.stderr, "conflict") {
		t.Fatalf("peers approve of a revoked node: exit %d %q, want a 409 conflict", r.code, r.stderr)
	}
}

// forgeAdmit signs a new admit of subject with the node's own key and puts
// it in the node's log (the node is stopped), as a replayed or renewed
// admit would arrive.
func forgeAdmit(t *testing.T, dataDir, subject string) {
	t.Helper()
	id, err := identity.Load(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := record.PublicKeyOf(record.NodeID(subject))
	if err != nil {
		t.Fatal(err)
	}
	e, err := record.Seal(id.NodeKey(), record.KindAdmit, uint64(time.Now().UnixMilli())+1000, time.Now(),
		record.Admit{Subject: sub, Source: record.AdmitTicket, Role: record.RoleNode}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(dataDir, "credmesh.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rid := e.ID()
	if _, err := db.ExecContext(context.Background(), `INSERT INTO records(id, kind, author, seq, key, time_ms, raw, log_seq, received_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT max(log_seq) + 1 FROM records), ?)`,
		rid[:], int(record.KindAdmit), id.NodeID.String(), int64(e.Seq), subject, e.Time.UnixMilli(), e.Raw(), time.Now().UnixMilli()); err != nil {
		t.Fatal(err)
	}
}
