package e2e

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/replica"
	"github.com/credmesh/credmesh/internal/store"
	"github.com/credmesh/credmesh/internal/testenv"
)

// fullView is a node's view of everyone, itself included, as comparable
// lines: node, state, role.
func fullView(t *testing.T, n *meshNode) string {
	t.Helper()
	st := n.status()
	self := "member " + st.Role
	if st.Revoked != nil {
		self = "revoked "
	}
	lines := []string{st.NodeID[:16] + " " + self}
	for _, p := range n.peers() {
		lines = append(lines, p.NodeID[:16]+" "+p.State+" "+p.Role)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// signRevoke plays an admin that revokes subject while cut off from the
// rest, from its stopped data dir: it pins what of subject's records
// count there (with the project's own Pin), signs with the admin's key
// and stores the revoke in the admin's own database, as `peers revoke`
// does.
func signRevoke(t *testing.T, dataDir, subject, reason string) []byte {
	t.Helper()
	id, err := identity.Load(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(dataDir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := replica.New(replica.Config{Store: st, Identity: id})
	if err := r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	pin, err := r.Pin(context.Background(), record.NodeID(subject))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := record.PublicKeyOf(record.NodeID(subject))
	raw := seal(t, id.NodeKey(), record.KindRevoke, time.Now(), record.Revoke{Subject: pub, Reason: reason, Pin: pin}.Encode())
	e, err := record.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Apply(context.Background(), []*record.Envelope{e}, replica.Source{Via: replica.Gossip})
	if err != nil || !out[0].Accepted() {
		t.Fatalf("the admin does not take its own revoke: %v %v", err, out)
	}
	return raw
}

// Two admins revoke each other, neither seeing the other's revoke; the
// revokes reach charlie in one order and delta in the other (each alone
// with a relay member, so the order is exact). Then every node, the two
// admins included, agrees on the members within 30 s: both admins are
// out, the rest stay (the revokes pinned the admits they had seen).
func TestCrossedRevocations(t *testing.T) {
	testenv.Long(t, "four daemons, each stopped and restarted to receive the revokes in a set order: about 30 s")
	root := t.TempDir()
	a := startMesh(t, "alpha", root+"/a")
	b := startMesh(t, "bravo", root+"/b", a.ticket())
	c := startMesh(t, "charlie", root+"/c", a.ticket())
	d := startMesh(t, "delta", root+"/d", a.ticket())
	x := newHostile(t) // a plain member that relays records
	mustCLI(t, a.dataDir, "peers", "add", b.ticket(), "--role", "admin")
	for _, tk := range []string{c.ticket(), d.ticket(), x.ticket()} {
		mustCLI(t, a.dataDir, "peers", "add", tk)
	}
	ida, idb := a.status().NodeID, b.status().NodeID
	all := []*meshNode{a, b, c, d}
	for _, n := range all {
		eventually(t, 30*time.Second, n.name+" sees two admins and three nodes", func() bool {
			v := fullView(t, n)
			return strings.Count(v, "member admin") == 2 && strings.Count(v, "member node") == 3
		}, func() string { return fullView(t, n) })
	}
	for _, n := range all {
		n.shutdown(syscall.SIGTERM)
	}
	revokeB := signRevoke(t, a.dataDir, idb, "alpha says bravo is compromised")
	revokeA := signRevoke(t, b.dataDir, ida, "bravo says alpha is compromised")

	deliver := func(n *meshNode, first, second []byte, after string) *meshNode {
		t.Helper()
		n2 := startMesh(t, n.name, n.dataDir)
		x.connect(t, n2)
		x.hello(t, n2)
		for i, raw := range [][]byte{first, second} {
			eventually(t, 30*time.Second, n.name+" takes revoke "+[]string{"one", "two"}[i], func() bool {
				x.publish(t, raw)
				if i == 0 {
					return strings.Contains(fullView(t, n2), after)
				}
				v := fullView(t, n2)
				return strings.Contains(v, ida[:16]+" revoked") && strings.Contains(v, idb[:16]+" revoked")
			}, func() string { return fullView(t, n2) })
		}
		return n2
	}
	c2 := deliver(c, revokeB, revokeA, idb[:16]+" revoked")
	c2.shutdown(syscall.SIGTERM)
	d2 := deliver(d, revokeA, revokeB, ida[:16]+" revoked")

	// Everyone back, the two admins included: one view everywhere.
	nodes := []*meshNode{startMesh(t, "alpha", a.dataDir), startMesh(t, "bravo", b.dataDir), startMesh(t, "charlie", c.dataDir), d2}
	var views []string
	eventually(t, 30*time.Second, "every node agrees on the members", func() bool {
		views = views[:0]
		for _, n := range nodes {
			views = append(views, fullView(t, n))
		}
		for _, v := range views[1:] {
			if v != views[0] {
				return false
			}
		}
		return strings.Contains(views[0], ida[:16]+" revoked") && strings.Contains(views[0], idb[:16]+" revoked") &&
			strings.Count(views[0], "member node") == 3
	}, func() string { return strings.Join(views, "\n---\n") })
}
