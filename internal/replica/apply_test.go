package replica

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

var now = time.UnixMilli(1_800_000_000_000)

type node struct {
	key ed25519.PrivateKey
	id  record.NodeID
}

func newNode(seed byte) node {
	k := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32))
	return node{k, record.NodeIDOf(k.Public().(ed25519.PublicKey))}
}

func (n node) pub() ed25519.PublicKey { return n.key.Public().(ed25519.PublicKey) }

func (n node) seal(t *testing.T, kind record.Kind, seq uint64, body []byte) *record.Envelope {
	t.Helper()
	e, err := record.Seal(n.key, kind, seq, now, body)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (n node) nodeRec(t *testing.T, seq uint64, host string) *record.Envelope {
	return n.seal(t, record.KindNode, seq, record.Node{Hostname: host, AgeRecipient: "age1x", StartedAt: now}.Encode())
}

func (n node) admit(t *testing.T, seq uint64, sub node) *record.Envelope {
	return n.seal(t, record.KindAdmit, seq, record.Admit{Subject: sub.pub(), Source: record.AdmitTicket, Role: record.RoleNode}.Encode())
}

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// testReplica is a replica on a real store in a temp dir, with the test
// clock at now.
type testReplica struct {
	*Replica
	st  *store.Store
	clk *clock
}

// meshStore opens a replica for self (which signs nothing here) that
// trusts the given nodes directly, as admins.
func meshStore(t testing.TB, self node, trusted ...node) *testReplica {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{now}
	r := New(Config{Store: st, Self: self.id, Now: clk.now})
	if err := r.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, n := range trusted {
		if _, err := r.AddTrust(t.Context(), store.Trusted{NodeID: n.id, Source: store.TrustTicket, Role: record.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
	}
	return &testReplica{r, st, clk}
}

var fromTest = Source{Via: Gossip}

// applyAt applies envs with the clock at at.
func (s *testReplica) applyAt(t testing.TB, at time.Time, envs []*record.Envelope) []Outcome {
	t.Helper()
	s.clk.t = at
	defer func() { s.clk.t = now }()
	out, err := s.Apply(t.Context(), envs, fromTest)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func verdicts(os []Outcome) []string {
	var out []string
	for _, o := range os {
		switch {
		case o.Err == nil:
			out = append(out, "ok")
		case errors.Is(o.Err, record.ErrDuplicate):
			out = append(out, "dup")
		default:
			out = append(out, string(record.ReasonOf(o.Err)))
		}
	}
	return out
}

func TestApplyRules(t *testing.T) {
	self, a, b, stranger := newNode(1), newNode(2), newNode(3), newNode(4)
	s := meshStore(t, self, a)
	ctx := t.Context()
	batch := []*record.Envelope{
		a.nodeRec(t, 10, "a"),          // member: ok
		a.nodeRec(t, 10, "a"),          // same bytes: dup
		a.nodeRec(t, 9, "a-old"),       // lower seq: stale
		stranger.nodeRec(t, 1, "s"),    // not a member
		b.nodeRec(t, 1, "b-early"),     // not a member yet
		a.admit(t, 11, b),              // a admits b
		b.nodeRec(t, 2, "b"),           // now b is a member
		a.nodeRec(t, 12, "a-new"),      // newer: replaces
		stranger.admit(t, 5, stranger), // admit of its own author
	}
	out, err := s.Apply(ctx, batch, fromTest)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ok", "dup", "stale", "not_member", "not_member", "ok", "ok", "ok", "not_member"}
	if got := verdicts(out); !equal(got, want) {
		t.Fatalf("verdicts\n got %v\nwant %v", got, want)
	}
	if !s.Members().IsMember(b.id) {
		t.Fatal("b is not a member after a's admit")
	}
	// Latest by sequence: one node record per author.
	rec, ok, err := s.st.Latest(ctx, record.KindNode, string(a.id))
	if err != nil || !ok || rec.Seq != 12 {
		t.Fatalf("latest node record of a: seq %d ok=%v err=%v, want 12", rec.Seq, ok, err)
	}
	counts, _ := s.st.CountRecords(ctx)
	if counts[record.KindNode] != 2 || counts[record.KindAdmit] != 1 {
		t.Fatalf("counts %v, want 2 node records and 1 admit", counts)
	}
	p, ok, _ := s.Peer(ctx, a.id)
	if !ok || p.Hostname != "a-new" || !p.Member || p.Trust != store.TrustTicket {
		t.Fatalf("peer a = %+v", p)
	}
	// Every rejection was audited with its reason; the copy of a record
	// already held was only counted.
	es, _ := s.st.Events(ctx, store.EventFilter{Type: EventRecordRejected})
	if len(es) != 4 {
		t.Fatalf("%d rejections audited, want 4 (the copy of a held record is counted, not audited)", len(es))
	}
	reasons := map[string]int{}
	for _, e := range es {
		var d struct{ Reason string }
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		reasons[d.Reason]++
	}
	if reasons["duplicate"] != 0 || reasons["not_member"] != 3 || reasons["stale"] != 1 {
		t.Fatalf("audited reasons %v", reasons)
	}
	if c := s.RejectCounts(); c[record.ReasonNotMember] != 3 || c[record.ReasonStale] != 1 || c[record.ReasonDuplicate] != 1 {
		t.Fatalf("reject counts %v", c)
	}
	// Replaying the whole batch changes nothing.
	before, _ := s.st.LogSince(ctx, 0, 100)
	if _, err := s.Apply(ctx, batch, fromTest); err != nil {
		t.Fatal(err)
	}
	after, _ := s.st.LogSince(ctx, 0, 100)
	if after.MaxSeq != before.MaxSeq || len(after.IDs) != len(before.IDs) {
		t.Fatalf("replay changed the log: %d/%d entries, max %d/%d", len(after.IDs), len(before.IDs), after.MaxSeq, before.MaxSeq)
	}
}

func TestStrangerIsPending(t *testing.T) {
	self, stranger := newNode(1), newNode(4)
	s := meshStore(t, self)
	if _, err := s.Hello(t.Context(), stranger.nodeRec(t, 1, "intruder"), record.Node{Hostname: "intruder"}, "/ip4/127.0.0.1/tcp/9", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	p, ok, err := s.Peer(t.Context(), stranger.id)
	if err != nil || !ok || !p.Pending() || p.Member || p.Hostname != "intruder" || len(p.SeenAddrs) != 1 {
		t.Fatalf("stranger = %+v, %v, %v; want pending with its hostname and address", p, ok, err)
	}
	if n, _ := s.st.CountRecords(t.Context()); len(n) != 0 {
		t.Fatalf("a stranger's hello stored records: %v", n)
	}
}

func TestRejectAuditIsRateLimited(t *testing.T) {
	self, stranger := newNode(1), newNode(4)
	s := meshStore(t, self)
	var flood []*record.Envelope
	for i := range 100 {
		flood = append(flood, stranger.nodeRec(t, uint64(i+1), "x"))
	}
	s.applyAt(t, now, flood)
	es, _ := s.st.Events(t.Context(), store.EventFilter{Type: EventRecordRejected})
	if len(es) != remoteBurst {
		t.Fatalf("%d audit events for a flood of 100, want %d", len(es), remoteBurst)
	}
	if c := s.RejectCounts()[record.ReasonNotMember]; c != 100 {
		t.Fatalf("counted %d rejections, want 100", c)
	}
	// After the window, the next one is audited with the suppressed count.
	later := stranger.seal(t, record.KindNode, 1000, record.Node{Hostname: "y"}.Encode())
	s.applyAt(t, now.Add(2*remoteWindow), []*record.Envelope{later})
	es, _ = s.st.Events(t.Context(), store.EventFilter{Type: EventRecordRejected, Limit: 1})
	if len(es) != 1 || !bytes.Contains(es[0].Data, []byte(`"suppressed_before":95`)) {
		t.Fatalf("next audit event = %s, want suppressed_before 95", es[0].Data)
	}
}

func TestAddOwnSequencesRise(t *testing.T) {
	dir := t.TempDir()
	id, _, err := identity.LoadOrCreate(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, store.FileName)
	open := func() (*store.Store, *Replica) {
		st, err := store.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		r := New(Config{Store: st, Identity: id, Now: func() time.Time { return now }})
		if err := r.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
		return st, r
	}
	st, r := open()
	var last uint64
	for i := range 3 {
		rec, err := r.Publish(t.Context(), record.KindNode, record.Node{Hostname: "me"}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if rec.Seq <= last {
			t.Fatalf("record %d: seq %d not above %d", i, rec.Seq, last)
		}
		last = rec.Seq
	}
	st.Close()
	// Reopened (same clock): still rising.
	st, r = open()
	defer st.Close()
	if seq := r.NextSeq(); seq <= last {
		t.Fatalf("after reopen seq %d, want above %d", seq, last)
	}
}

func TestLogAndCursors(t *testing.T) {
	self, a := newNode(1), newNode(2)
	s := meshStore(t, self, a)
	ctx := t.Context()
	var batch []*record.Envelope
	for i := range 10 {
		sub := newNode(byte(100 + i))
		batch = append(batch, a.admit(t, uint64(i+1), sub))
	}
	if _, err := s.Apply(ctx, batch, fromTest); err != nil {
		t.Fatal(err)
	}
	p1, err := s.st.LogSince(ctx, 0, 4)
	if err != nil || len(p1.IDs) != 4 || !p1.More || p1.MaxSeq != 10 {
		t.Fatalf("page 1 = %+v, %v", p1, err)
	}
	p2, _ := s.st.LogSince(ctx, p1.Last, 100)
	if len(p2.IDs) != 6 || p2.More || p2.Last != 10 || p2.IDs[0] != batch[4].ID() {
		t.Fatalf("page 2 = %d ids, more=%v last=%d", len(p2.IDs), p2.More, p2.Last)
	}
	if p3, _ := s.st.LogSince(ctx, 10, 100); len(p3.IDs) != 0 || p3.Last != 10 {
		t.Fatalf("in sync page = %+v", p3)
	}
	unknown := record.ID{9}
	missing, _ := s.st.Missing(ctx, []record.ID{batch[0].ID(), unknown, batch[1].ID()})
	if len(missing) != 1 || missing[0] != unknown {
		t.Fatalf("Missing = %v", missing)
	}
	raws, _ := s.st.RawByIDs(ctx, []record.ID{batch[2].ID(), unknown, batch[1].ID()})
	if len(raws) != 2 || !bytes.Equal(raws[0], batch[2].Raw()) || !bytes.Equal(raws[1], batch[1].Raw()) {
		t.Fatalf("RawByIDs returned %d records", len(raws))
	}
	if err := s.st.SetCursor(ctx, now, a.id, []byte("idx"), 7); err != nil {
		t.Fatal(err)
	}
	idx, seq, _ := s.st.Cursor(ctx, a.id)
	if string(idx) != "idx" || seq != 7 {
		t.Fatalf("Cursor = %q %d", idx, seq)
	}
	// A new directly trusted node resets every cursor.
	if _, err := s.AddTrust(ctx, store.Trusted{NodeID: newNode(50).id, Source: store.TrustTicket}); err != nil {
		t.Fatal(err)
	}
	if _, seq, _ := s.st.Cursor(ctx, a.id); seq != 0 {
		t.Fatalf("cursor after a trust change = %d, want 0", seq)
	}
	id1, _ := s.st.IndexID(ctx)
	id2, _ := s.st.IndexID(ctx)
	if len(id1) == 0 || string(id1) != string(id2) {
		t.Fatalf("IndexID not stable: %q %q", id1, id2)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
