package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/testenv"
)

// membershipView is a node's view of the members and their roles, as
// comparable lines.
func membershipView(t *testing.T, n *meshNode) string {
	t.Helper()
	var lines []string
	for _, p := range n.peers() {
		lines = append(lines, p.NodeID[:16]+" "+p.State+" "+p.Role)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// rejectCount reads how many records n refused for reason since it
// started (counted whether or not the audit log took it).
func rejectCount(t *testing.T, n *meshNode, reason string) int {
	t.Helper()
	return n.status().Counts.Rejects[reason]
}

// insiderCluster is alpha (the admin) and two plain nodes, bravo and
// charlie; alpha wrote db for bravo twice and shared it with charlie.
// x is a separate libp2p host holding a plain member's key that alpha
// admitted, connected to every node.
type insiderCluster struct {
	a, b, c *meshNode
	ids     map[*meshNode]string
	x       *hostile
	v1, v2  []byte // alpha's versions of db for bravo, as stored
	group   []byte
}

func newInsiderCluster(t *testing.T) *insiderCluster {
	t.Helper()
	a, b, c, ids := trio(t)
	k := &insiderCluster{a: a, b: b, c: c, ids: ids}
	set(t, a, "db", []byte("author-1"), "--target", "bravo")
	waitValue(t, b, "db", []byte("author-1"))
	set(t, a, "db", []byte("author-2"), "--target", "bravo")
	mustCLI(t, a.dataDir, "secret", "share", "db", "--to", "charlie")
	waitValue(t, b, "db", []byte("author-2"))
	waitValue(t, c, "db", []byte("author-2"))
	k.v1, k.v2 = storedSecret(t, b.dataDir, "db", 1), storedSecret(t, b.dataDir, "db", 2)
	e, _ := record.Open(k.v2)
	s, _ := record.DecodeSecret(e.Body)
	k.group = s.Group

	k.x = newHostile(t)
	mustCLI(t, a.dataDir, "peers", "add", k.x.ticket()) // a plain node
	xid := k.x.id.NodeID.String()
	for _, n := range []*meshNode{a, b, c} {
		k.x.connect(t, n)
		k.x.hello(t, n)
		eventually(t, 30*time.Second, n.name+" lists x as a plain member", func() bool {
			p, ok := find(n.peers(), xid)
			return ok && p.State == "member" && p.Role == "node"
		}, func() string { return describe(n.peers()) })
	}
	eventually(t, 30*time.Second, "x sees every node on the topic", func() bool { return len(k.x.topic.ListPeers()) >= 3 }, nil)
	return k
}

func (k *insiderCluster) nodes() []*meshNode { return []*meshNode{k.a, k.b, k.c} }

// secretBody is a version of name for target by the attacker; ciphertext
// to the target's recipient when value is set, else a tombstone.
func (k *insiderCluster) secretBody(t *testing.T, name string, target *meshNode, version uint64, value []byte, group []byte) []byte {
	t.Helper()
	pub, err := record.PublicKeyOf(record.NodeID(k.ids[target]))
	if err != nil {
		t.Fatal(err)
	}
	s := record.Secret{Name: name, Target: pub, Version: version, CreatedAt: time.Now(), Group: group}
	if value == nil {
		s.Tombstone = true
	} else {
		rcpt := target.status().AgeRecipient
		if s.Ciphertext, err = record.Encrypt(rcpt, value); err != nil {
			t.Fatal(err)
		}
	}
	return s.Encode()
}

// rivalVersion1 signs the attacker's own version 1 of db for bravo,
// re-signing until its record ID is above the author's version 1: a
// grind that must win the attacker nothing.
func (k *insiderCluster) rivalVersion1(t *testing.T, value []byte) ([]byte, int) {
	t.Helper()
	want := sha256.Sum256(k.v1)
	for tries := 1; ; tries++ {
		raw := seal(t, k.x.id.NodeKey(), record.KindSecret, time.Now(), k.secretBody(t, "db", k.b, 1, value, k.group))
		if id := sha256.Sum256(raw); bytes.Compare(id[:], want[:]) > 0 {
			return raw, tries
		}
	}
}

type attack struct {
	name   string
	raw    []byte
	reason string // the reason every honest node refuses it with, as a plain member's
}

func (k *insiderCluster) attacks(t *testing.T) []attack {
	t.Helper()
	xk := k.x.id.NodeKey()
	now := time.Now()
	rival, tries := k.rivalVersion1(t, []byte("x-rival"))
	t.Logf("the rival version 1 took %d signatures to get the higher record ID", tries)
	v2id := sha256.Sum256(k.v2)
	fresh := newKeyed()
	cpub, _ := record.PublicKeyOf(record.NodeID(k.ids[k.c]))
	return []attack{
		{"a rival version 1 with a ground record ID", rival, "not_allowed"},
		{"a higher version", seal(t, xk, record.KindSecret, now, k.secretBody(t, "db", k.b, 3, []byte("x-higher"), k.group)), "not_allowed"},
		{"a near-maximum version", seal(t, xk, record.KindSecret, now, k.secretBody(t, "db", k.b, record.MaxVersion, []byte("x-max"), k.group)), "not_allowed"},
		{"a tombstone", seal(t, xk, record.KindSecret, now, k.secretBody(t, "db", k.b, 4, nil, k.group)), "not_allowed"},
		{"a share to another node", seal(t, xk, record.KindSecret, now, k.secretBody(t, "x-share", k.c, 1, []byte("x-share"), k.group)), "not_allowed"},
		{"a receipt for another target's secret", seal(t, xk, record.KindReceipt, now,
			record.Receipt{Name: "db", Version: 2, Secret: record.ID(v2id), State: record.ReceiptFailed, Error: "x was here", At: now}.Encode()), "not_allowed"},
		{"an admit", seal(t, xk, record.KindAdmit, now, record.Admit{Subject: fresh.pub(), Source: record.AdmitTicket, Role: record.RoleAdmin}.Encode()), "not_allowed"},
		{"a revoke", seal(t, xk, record.KindRevoke, now, record.Revoke{Subject: cpub, Reason: "x says so"}.Encode()), "not_allowed"},
	}
}

// A plain member whose key was stolen, speaking the protocol from its own
// libp2p host, tries everything against another node's secret and the
// member list: every honest node refuses each attempt and audits it, and
// nothing it holds changes: bravo's value and credential file, the
// secret list, the membership.
func TestInsiderCannotTouchOthers(t *testing.T) {
	testenv.Long(t, "every attack of a stolen member key against a live mesh, each waited out: about 30 s")
	needSystemdCreds(t)
	k := newInsiderCluster(t)
	waitCred(t, k.b, "db", []byte("author-2"))
	before := map[*meshNode][2]string{}
	for _, n := range k.nodes() {
		before[n] = [2]string{currentSet(t, n), membershipView(t, n)}
	}
	for _, at := range k.attacks(t) {
		counts := map[*meshNode]int{}
		for _, n := range k.nodes() {
			counts[n] = rejectCount(t, n, at.reason)
		}
		// By gossip, and from its log by anti-entropy (GossipSub stops
		// listening to a peer after its first invalid messages; a pull
		// from a member always reaches the rules).
		k.x.publish(t, at.raw)
		k.x.offer(at.raw)
		for _, n := range k.nodes() {
			k.x.hello(t, n) // a hello makes the node pull from x
			eventually(t, 30*time.Second, n.name+" refuses "+at.name+" ("+at.reason+")", func() bool {
				return rejectCount(t, n, at.reason) > counts[n]
			}, func() string { return fmt.Sprint(n.status().Counts.Rejects) })
		}
		waitHeartbeats(k.a)
		got, ok := get(t, k.b, "db")
		if !ok || string(got) != "author-2" {
			t.Fatalf("after %s bravo reads %q", at.name, got)
		}
		if v, err := credValue(k.b, "db"); err != nil || string(v) != "author-2" {
			t.Fatalf("after %s bravo's credential file holds %q (%v)", at.name, v, err)
		}
		for _, n := range k.nodes() {
			if s, m := currentSet(t, n), membershipView(t, n); s != before[n][0] || m != before[n][1] {
				t.Fatalf("after %s %s changed:\nsecrets %s\nwas     %s\nmembers %s\nwas     %s", at.name, n.name, s, before[n][0], m, before[n][1])
			}
		}
	}
	// Every attempt is in every node's audit log (the first five a
	// minute per author and reason; the rest counted and summed into the
	// next entry).
	xid := k.x.id.NodeID.String()
	for _, n := range k.nodes() {
		var page api.Events
		_ = json.Unmarshal([]byte(mustCLI(t, n.dataDir, "audit", "list", "--limit", "1000", "-o", "json")), &page)
		audited := 0
		for _, e := range page.Events {
			if e.Type == "record.rejected" && e.Node == xid && e.Data["reason"] == "not_allowed" {
				audited++
			}
		}
		if audited < 5 || rejectCount(t, n, "not_allowed") < 8 {
			t.Errorf("%s audited %d of x's refused records and counted %d, want at least 5 (the limit a minute) and 8", n.name, audited, rejectCount(t, n, "not_allowed"))
		}
	}
}

// The same attempts by a member its admin promoted: an admin may do
// these things, and every node takes them.
func TestPromotedInsiderMay(t *testing.T) {
	k := newInsiderCluster(t)
	xid := k.x.id.NodeID.String()
	mustCLI(t, k.a.dataDir, "peers", "promote", xid)
	for _, n := range k.nodes() {
		eventually(t, 30*time.Second, n.name+" lists x as an admin", func() bool {
			p, ok := find(n.peers(), xid)
			return ok && p.Role == "admin"
		}, nil)
	}
	ats := k.attacks(t)
	byName := map[string][]byte{}
	for _, at := range ats {
		byName[at.name] = at.raw
	}
	send := func(name string) {
		t.Helper()
		k.x.publish(t, byName[name])
		k.x.offer(byName[name])
		for _, n := range k.nodes() {
			k.x.hello(t, n)
		}
	}
	counts := func(n *meshNode, name string, version uint64) bool {
		for _, v := range history(t, n, name).Versions {
			if v.Version == version && v.Author == xid {
				return v.Counts
			}
		}
		return false
	}
	// Its version 1 counts (it is no longer current: version 2 is higher).
	send("a rival version 1 with a ground record ID")
	for _, n := range k.nodes() {
		eventually(t, 30*time.Second, n.name+" counts the admin's version 1", func() bool { return counts(n, "db", 1) }, nil)
	}
	waitValue(t, k.b, "db", []byte("author-2"))
	// A higher version becomes current; bravo reads it.
	send("a higher version")
	waitValue(t, k.b, "db", []byte("x-higher"))
	// A version at the ceiling waits for versions below it, from anyone:
	// it does not freeze the secret.
	send("a near-maximum version")
	for _, n := range k.nodes() {
		eventually(t, 30*time.Second, n.name+" stores the ceiling version without counting it", func() bool {
			for _, v := range history(t, n, "db").Versions {
				if v.Version == record.MaxVersion {
					return !v.Counts
				}
			}
			return false
		}, nil)
	}
	// A tombstone deletes it.
	send("a tombstone")
	eventually(t, 30*time.Second, "bravo's db deleted", func() bool {
		_, ok := get(t, k.b, "db")
		return !ok
	}, nil)
	// A share to charlie reaches charlie.
	send("a share to another node")
	waitValue(t, k.c, "x-share", []byte("x-share"))
	// A receipt stays the target's alone, admin or not.
	before := rejectCount(t, k.a, "not_allowed")
	send("a receipt for another target's secret")
	eventually(t, 30*time.Second, "alpha refuses the admin's receipt for bravo's secret", func() bool {
		return rejectCount(t, k.a, "not_allowed") > before
	}, nil)
	// An admit makes a member; a revoke revokes.
	send("an admit")
	send("a revoke")
	for _, n := range []*meshNode{k.a, k.b} {
		eventually(t, 30*time.Second, n.name+" takes the admin's admit and revoke", func() bool {
			members, revoked := 0, false
			for _, p := range n.peers() {
				if p.State == "member" && p.Role == "admin" && p.NodeID != xid && p.NodeID != k.ids[k.a] {
					members++
				}
				revoked = revoked || (p.NodeID == k.ids[k.c] && p.State == "revoked")
			}
			return members == 1 && revoked
		}, func() string { return describe(n.peers()) })
	}
}
