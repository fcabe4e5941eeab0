package command

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/replica"
	"github.com/credmesh/credmesh/internal/store"
)

// The write path without libp2p: each node is a real replica on a real
// SQLite store with real keys, and its Commands; the transport is in
// memory (wire): what a replica stores as its own goes into a queue, and
// deliver hands every queued record to the other nodes' Apply, as gossip
// does, so a test decides who hears what and when.

// wire is the in-memory transport between the nodes of a test.
type wire struct {
	mu      sync.Mutex
	nodes   []*tnode
	pending []sent
}

type sent struct {
	from *tnode
	raw  []byte
}

// heard is one Stored call a node's replica made.
type heard struct {
	via  replica.Via
	kind record.Kind
	id   record.ID
}

type tnode struct {
	t      *testing.T
	w      *wire
	name   string
	id     *identity.Identity
	self   record.NodeID
	st     *store.Store
	r      *replica.Replica
	c      *Commands
	mu     sync.Mutex
	heard  []heard
	synced []string // SyncAll reasons the credential writer was given
}

// Stored implements replica.Notifier: it notes what was stored and queues
// this node's own records for the wire.
func (n *tnode) Stored(recs []*record.Record, src replica.Source) {
	n.mu.Lock()
	for _, r := range recs {
		n.heard = append(n.heard, heard{src.Via, r.Kind, r.ID()})
	}
	n.mu.Unlock()
	if src.Via != replica.Mine {
		return
	}
	n.w.mu.Lock()
	defer n.w.mu.Unlock()
	for _, r := range recs {
		n.w.pending = append(n.w.pending, sent{n, r.Raw()})
	}
}

func (n *tnode) heardOf(id record.ID) (replica.Via, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, h := range n.heard {
		if h.id == id {
			return h.via, true
		}
	}
	return 0, false
}

// Mesh and Creds, as the node wires them to the actors.
func (n *tnode) Ticket(context.Context) (identity.Ticket, error) {
	return identity.NewTicket(n.id, nil), nil
}
func (n *tnode) Dial(identity.Ticket) error { return nil }
func (n *tnode) SyncRequest(context.Context, record.NodeID) error {
	return errors.New("no sync requests in these tests")
}
func (n *tnode) SyncAll(_ bool, reason string) error {
	n.mu.Lock()
	n.synced = append(n.synced, reason)
	n.mu.Unlock()
	return nil
}

var testNow = time.Now()

func (w *wire) node(t *testing.T, name string) *tnode {
	t.Helper()
	dir := t.TempDir()
	id, _, err := identity.LoadOrCreate(dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.Context(), filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	n := &tnode{t: t, w: w, name: name, id: id, self: record.NodeID(id.NodeID.String()), st: st}
	n.r = replica.New(replica.Config{Store: st, Identity: id, Hostname: name, Notify: n})
	if err := n.r.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	n.c = New(Config{Mesh: n, Creds: n, Replica: n.r, Identity: id, Hostname: name})
	// Its node record (age recipient) reaches the others as a hello does.
	if _, err := n.r.Announce(t.Context(), record.Node{Hostname: name, AgeRecipient: id.Recipient(), StartedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	w.nodes = append(w.nodes, n)
	return n
}

// hello hands n's node record to every other node, as the hello exchange
// does on a new connection.
func (w *wire) hello(t *testing.T, n *tnode) {
	t.Helper()
	raw, err := n.r.NodeRecord(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	env, err := record.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := record.DecodeNode(env.Body)
	for _, o := range w.nodes {
		if o != n {
			if _, err := o.r.Hello(t.Context(), env, body, "/memory/"+n.name, n.name); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// deliver hands every queued record to every other node, in order, until
// nothing is queued (applying may queue nothing: only own records are).
func (w *wire) deliver(t *testing.T, to ...*tnode) {
	t.Helper()
	w.mu.Lock()
	q := w.pending
	w.pending = nil
	w.mu.Unlock()
	if len(to) == 0 {
		to = w.nodes
	}
	for _, s := range q {
		env, err := record.Open(s.raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range to {
			if n == s.from {
				continue
			}
			if _, err := n.r.Apply(t.Context(), []*record.Envelope{env}, replica.Source{Via: replica.Gossip, Peer: s.from.self}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// drop forgets everything queued (a partition that loses messages).
func (w *wire) drop() {
	w.mu.Lock()
	w.pending = nil
	w.mu.Unlock()
}

// cluster founds a cluster on the first node and has it add the others
// by ticket with their roles; every node then holds every admit and node
// record.
func cluster(t *testing.T, names []string, roles []record.Role) (*wire, []*tnode) {
	t.Helper()
	w := &wire{}
	var ns []*tnode
	for _, name := range names {
		ns = append(ns, w.node(t, name))
	}
	founder := ns[0]
	for i, n := range ns[1:] {
		if _, err := founder.c.Join(t.Context(), identity.NewTicket(n.id, nil), roles[i+1], false); err != nil {
			t.Fatal(err)
		}
		if _, err := n.c.Join(t.Context(), identity.NewTicket(founder.id, nil), record.RoleAdmin, true); err != nil {
			t.Fatal(err)
		}
	}
	w.deliver(t)
	for _, n := range ns {
		w.hello(t, n)
	}
	for _, n := range ns {
		for _, o := range ns {
			if !n.r.Members().IsMember(o.self) {
				t.Fatalf("%s does not take %s as a member", n.name, o.name)
			}
		}
	}
	return w, ns
}

func current(t *testing.T, n *tnode, name string, target *tnode) *record.SecretVersion {
	t.Helper()
	res, err := n.r.SecretState(t.Context(), record.Key{Name: name, Target: target.self})
	if err != nil {
		t.Fatal(err)
	}
	return res.Current
}

func set(t *testing.T, n *tnode, name, value string, targets ...*tnode) api.SecretWrites {
	t.Helper()
	req := api.SetSecret{Name: name, Value: []byte(value)}
	for _, tg := range targets {
		req.Targets = append(req.Targets, string(tg.self))
	}
	res, err := n.c.SetSecret(t.Context(), req)
	if err != nil {
		t.Fatalf("%s sets %s: %v", n.name, name, err)
	}
	return res
}

// A local write is planned, sealed and stored in one transaction on the
// writer, goes out once, and counts the same on every member; only the
// target reads it; the next write is the next version.
func TestLocalWriteReachesEveryMember(t *testing.T) {
	w, ns := cluster(t, []string{"alpha", "bravo", "charlie"}, []record.Role{record.RoleAdmin, record.RoleNode, record.RoleNode})
	alpha, bravo, charlie := ns[0], ns[1], ns[2]

	res := set(t, alpha, "db", "hunter2", bravo)
	if len(res.Writes) != 1 || res.Writes[0].Version != 1 || res.Writes[0].Target != string(bravo.self) {
		t.Fatalf("writes %+v, want version 1 for bravo", res.Writes)
	}
	w.deliver(t)
	for _, n := range ns {
		if cur := current(t, n, "db", bravo); cur == nil || cur.Version != 1 || cur.ID.String() != res.Writes[0].Record {
			t.Fatalf("%s: current %+v, want the written version 1", n.name, cur)
		}
	}
	// Notifications: the writer hears of its own record as its own, the
	// others as received.
	id := current(t, alpha, "db", bravo).ID
	for _, tc := range []struct {
		n   *tnode
		via replica.Via
	}{{alpha, replica.Mine}, {bravo, replica.Gossip}, {charlie, replica.Gossip}} {
		if via, ok := tc.n.heardOf(id); !ok || via != tc.via {
			t.Errorf("%s heard of the version: %v via %v, want via %v", tc.n.name, ok, via, tc.via)
		}
	}
	got, err := bravo.c.RevealSecret(t.Context(), "db")
	if err != nil || string(got.Value) != "hunter2" {
		t.Fatalf("bravo reveals %q, %v", got.Value, err)
	}
	if _, err := charlie.c.RevealSecret(t.Context(), "db"); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("charlie (not a target) reveals: %v, want forbidden", err)
	}
	// Without --target: every copy of the secret, one version up.
	res = set(t, alpha, "db", "hunter3")
	w.deliver(t)
	if len(res.Writes) != 1 || res.Writes[0].Version != 2 {
		t.Fatalf("second write %+v, want version 2 for bravo", res.Writes)
	}
	if cur := current(t, charlie, "db", bravo); cur.Version != 2 {
		t.Fatalf("charlie holds v%d, want 2", cur.Version)
	}
	// A replay of everything changes nothing anywhere.
	before, _ := charlie.st.CountRecords(t.Context())
	for _, n := range ns {
		raws, _ := n.st.RawByIDs(t.Context(), []record.ID{id})
		for _, raw := range raws {
			env, _ := record.Open(raw)
			outs, err := charlie.r.Apply(t.Context(), []*record.Envelope{env}, replica.Source{Via: replica.AntiEntropy, Peer: n.self})
			if err != nil || len(outs) != 1 || !errors.Is(outs[0].Err, record.ErrDuplicate) {
				t.Fatalf("replay: %v %+v", err, outs)
			}
		}
	}
	if after, _ := charlie.st.CountRecords(t.Context()); !mapsEqual(before, after) {
		t.Fatalf("a replay changed the records: %v -> %v", before, after)
	}
}

// A plain node writes only its own secrets; nothing is stored when it
// asks for more.
func TestPlainNodeWritesOnlyItsOwn(t *testing.T) {
	w, ns := cluster(t, []string{"alpha", "bravo"}, []record.Role{record.RoleAdmin, record.RoleNode})
	alpha, bravo := ns[0], ns[1]
	_, err := bravo.c.SetSecret(t.Context(), api.SetSecret{Name: "x", Value: []byte("v"), Targets: []string{string(alpha.self)}})
	if !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("a plain node writes for an admin: %v, want forbidden", err)
	}
	set(t, bravo, "mine", "v", bravo)
	w.deliver(t)
	if cur := current(t, alpha, "mine", bravo); cur == nil || cur.Author != bravo.self {
		t.Fatalf("alpha does not take bravo's own secret: %+v", cur)
	}
	if n, _ := alpha.st.CountSecrets(t.Context()); n != 1 {
		t.Fatalf("alpha holds %d secrets, want 1 (the refused write stored nothing)", n)
	}
}

// Two admins write the same secret while apart: each picks the same next
// version; once they hear each other every member agrees on one current
// version (the highest (version, record ID)), whatever the order.
func TestConflictingWritesConverge(t *testing.T) {
	w, ns := cluster(t, []string{"alpha", "bravo", "charlie"}, []record.Role{record.RoleAdmin, record.RoleAdmin, record.RoleNode})
	alpha, bravo, charlie := ns[0], ns[1], ns[2]
	set(t, alpha, "db", "one", charlie)
	w.deliver(t)

	a := set(t, alpha, "db", "from alpha", charlie)
	w.mu.Lock()
	fromAlpha := w.pending
	w.pending = nil
	w.mu.Unlock()
	b := set(t, bravo, "db", "from bravo", charlie)
	if a.Writes[0].Version != 2 || b.Writes[0].Version != 2 {
		t.Fatalf("versions %d and %d, want both 2", a.Writes[0].Version, b.Writes[0].Version)
	}
	w.deliver(t) // bravo's first: alpha and charlie
	w.mu.Lock()
	w.pending = fromAlpha
	w.mu.Unlock()
	w.deliver(t) // then alpha's: bravo and charlie
	want := max(a.Writes[0].Record, b.Writes[0].Record)
	for _, n := range ns {
		if cur := current(t, n, "db", charlie); cur == nil || cur.Version != 2 || cur.ID.String() != want {
			t.Fatalf("%s: current %+v, want version 2 with the higher record ID %s", n.name, cur, want)
		}
	}
	got, err := charlie.c.RevealSecret(t.Context(), "db")
	wantValue := "from alpha"
	if want == b.Writes[0].Record {
		wantValue = "from bravo"
	}
	if err != nil || string(got.Value) != wantValue {
		t.Fatalf("charlie reveals %q, %v; want %q", got.Value, err, wantValue)
	}
	// The next write goes above both.
	if c := set(t, bravo, "db", "three", charlie); c.Writes[0].Version != 3 {
		t.Fatalf("next write v%d, want 3", c.Writes[0].Version)
	}
}

// A revocation is sticky: the revoked admin's later writes count nowhere,
// what it wrote before and the revoke pinned stays, it learns it is
// revoked and then refuses to write, and every member's replica tells its
// node of the revoke.
func TestRevocation(t *testing.T) {
	w, ns := cluster(t, []string{"alpha", "bravo", "charlie"}, []record.Role{record.RoleAdmin, record.RoleAdmin, record.RoleNode})
	alpha, bravo, charlie := ns[0], ns[1], ns[2]
	set(t, bravo, "db", "before", charlie)
	w.deliver(t)
	pinned := current(t, alpha, "db", charlie)

	if _, err := alpha.c.Revoke(t.Context(), string(bravo.self), "stolen laptop"); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	revoke := w.pending
	w.pending = nil
	w.mu.Unlock()
	// bravo has not heard yet: it writes, and alpha and charlie refuse it.
	after := set(t, bravo, "db", "after", charlie)
	w.mu.Lock()
	fromBravo := w.pending
	w.pending = revoke
	w.mu.Unlock()
	w.deliver(t, alpha, charlie) // the revoke reaches charlie (alpha wrote it)
	w.mu.Lock()
	w.pending = fromBravo
	w.mu.Unlock()
	w.deliver(t, alpha, charlie)
	for _, n := range []*tnode{alpha, charlie} {
		if !n.r.Members().IsRevoked(bravo.self) {
			t.Fatalf("%s does not take bravo as revoked", n.name)
		}
		if cur := current(t, n, "db", charlie); cur == nil || cur.ID != pinned.ID {
			t.Fatalf("%s: current %+v, want the version the revoke pinned (%s), not bravo's later one (%s)",
				n.name, cur, pinned.ID.Short(), after.Writes[0].Record)
		}
	}
	// charlie's replica told its node of the revoke (node then has the
	// credential writer check every secret: membership changed).
	rv, _ := record.Open(revoke[0].raw)
	if via, ok := charlie.heardOf(rv.ID()); !ok || via != replica.Gossip || rv.Kind != record.KindRevoke {
		t.Errorf("charlie heard of the revoke: %v via %v", ok, via)
	}
	// bravo hears of its revocation and refuses to write.
	w.mu.Lock()
	w.pending = revoke
	w.mu.Unlock()
	w.deliver(t, bravo)
	if !bravo.r.Members().IsRevoked(bravo.self) {
		t.Fatal("bravo does not know it is revoked")
	}
	if _, err := bravo.c.SetSecret(t.Context(), api.SetSecret{Name: "db", Value: []byte("x"), Targets: []string{string(charlie.self)}}); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("a revoked node writes: %v, want forbidden", err)
	}
	// A revocation is final: the revoked node cannot be approved back.
	if _, err := alpha.c.Approve(t.Context(), string(bravo.self), "admin"); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("approving a revoked node: %v, want conflict", err)
	}
	w.drop()
}

func mapsEqual(a, b map[record.Kind]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
