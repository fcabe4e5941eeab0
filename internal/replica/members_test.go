package replica

import (
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

func (n node) admitAs(t *testing.T, seq uint64, sub node, role record.Role, at time.Time, pin ...record.ID) *record.Envelope {
	t.Helper()
	e, err := record.Seal(n.key, record.KindAdmit, seq, at, record.Admit{Subject: sub.pub(), Source: record.AdmitRole, Role: role, Pin: record.SortPin(pin)}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (n node) secretFor(t *testing.T, seq uint64, target node, name string, version uint64) *record.Envelope {
	t.Helper()
	s := record.Secret{Name: name, Target: target.pub(), Version: version, CreatedAt: now, Group: make([]byte, record.GroupSize),
		Ciphertext: append([]byte("age-encryption.org/v1\n"), make([]byte, 80)...)}
	return n.seal(t, record.KindSecret, seq, s.Encode())
}

func mustApply(t *testing.T, s *testReplica, envs ...*record.Envelope) {
	t.Helper()
	out, err := s.Apply(t.Context(), envs, fromTest)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if !o.Accepted() {
			t.Fatalf("%s refused: %v", o.Env.Kind, o.Err)
		}
	}
}

// A membership change resolves every secret again: a demoted admin's
// version stops counting (the head falls back to the founder's), a
// promotion brings it back, and records refused before are pulled again
// (a membership that grew resets the anti-entropy cursors).
func TestMembershipChangeResolvesHeads(t *testing.T) {
	self, adm, target := newNode(1), newNode(2), newNode(3)
	s := meshStore(t, self) // self founded the cluster: an admin
	ctx := t.Context()
	mustApply(t, s, self.admitAs(t, 10, adm, record.RoleAdmin, now), self.admitAs(t, 11, target, record.RoleNode, now))
	mustApply(t, s, self.secretFor(t, 12, target, "db", 1), adm.secretFor(t, 13, target, "db", 2))
	current := func() uint64 {
		t.Helper()
		res, err := s.SecretState(ctx, record.Key{Name: "db", Target: target.id})
		if err != nil || res.Current == nil {
			t.Fatalf("state: %+v %v", res, err)
		}
		cur, _ := s.st.CurrentSecrets(ctx, target.id, true)
		if len(cur) != 1 || cur[0].Version != res.Current.Version {
			t.Fatalf("the stored head %+v disagrees with the state (v%d)", cur, res.Current.Version)
		}
		return res.Current.Version
	}
	if v := current(); v != 2 {
		t.Fatalf("current v%d, want the admin's v2", v)
	}
	if err := s.st.SetCursor(ctx, now, adm.id, []byte("idx"), 99); err != nil {
		t.Fatal(err)
	}
	// Demoted without pinning its version: v2 stops counting.
	mustApply(t, s, self.admitAs(t, 14, adm, record.RoleNode, now.Add(time.Second)))
	if s.Members().IsAdmin(adm.id) {
		t.Fatal("adm is still an admin after its demotion")
	}
	if v := current(); v != 1 {
		t.Fatalf("after the demotion current v%d, want the founder's v1", v)
	}
	if _, seq, _ := s.st.Cursor(ctx, adm.id); seq != 99 {
		t.Fatal("a membership that shrank reset the cursors")
	}
	// Promoted again: v2 counts again, and the cursors start over.
	mustApply(t, s, self.admitAs(t, 15, adm, record.RoleAdmin, now.Add(2*time.Second)))
	if v := current(); v != 2 {
		t.Fatalf("after the promotion current v%d, want v2", v)
	}
	if _, seq, _ := s.st.Cursor(ctx, adm.id); seq != 0 {
		t.Fatalf("a membership that grew kept the cursor at %d", seq)
	}
}

// Pin lists what of a node's records count here: its admits and revokes,
// and its current versions of other nodes' secrets, sorted.
func TestPin(t *testing.T) {
	self, adm, target := newNode(1), newNode(2), newNode(3)
	s := meshStore(t, self)
	mustApply(t, s, self.admitAs(t, 10, adm, record.RoleAdmin, now))
	admit := adm.admitAs(t, 11, target, record.RoleNode, now)
	mustApply(t, s, admit)
	old, cur, own := adm.secretFor(t, 12, target, "db", 1), adm.secretFor(t, 13, target, "db", 2), adm.secretFor(t, 14, adm, "mine", 1)
	mustApply(t, s, old, cur, own)
	pin, err := s.Pin(t.Context(), adm.id)
	if err != nil {
		t.Fatal(err)
	}
	want := record.SortPin([]record.ID{admit.ID(), cur.ID()})
	if len(pin) != len(want) || pin[0] != want[0] || pin[1] != want[1] {
		t.Fatalf("pin %v, want the admit and the current version of db (not v1, not its own secret)", pin)
	}
}

// The remote limiter: at most 5 entries a minute for one source and kind,
// 60 for a kind from all sources; what it holds back is summed into the
// next entry.
func TestAuditRemoteLimits(t *testing.T) {
	s := meshStore(t, newNode(1))
	ctx := t.Context()
	add := func(at time.Time, source string) {
		if err := s.AuditRemote(ctx, source, store.Event{Time: at, Type: "invite.refused", Message: "nope"}); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		add(now, "one")
	}
	for i := range 200 {
		add(now, string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	es, _ := s.st.Events(ctx, store.EventFilter{Type: "invite.refused", Limit: 1000})
	if len(es) != 60 {
		t.Fatalf("%d rows in a minute, want 60", len(es))
	}
	add(now.Add(2*time.Minute), "one")
	es, _ = s.st.Events(ctx, store.EventFilter{Type: "invite.refused", Limit: 1})
	var d map[string]int
	_ = json.Unmarshal(es[0].Data, &d)
	if d["suppressed_before"] < 5 {
		t.Fatalf("the next row carries %v, want what was held back", d)
	}
}

// The pending list keeps at most MaxPending nodes: the oldest go.
func TestPendingCap(t *testing.T) {
	s := meshStore(t, newNode(1))
	hello := func(k ed25519.PrivateKey, at time.Time, src string) error {
		s.clk.t = at
		defer func() { s.clk.t = now }()
		n := node{k, record.NodeIDOf(k.Public().(ed25519.PublicKey))}
		_, err := s.Hello(t.Context(), n.seal(t, record.KindNode, 1, record.Node{Hostname: "p"}.Encode()), record.Node{Hostname: "p"}, "/ip4/10.0.0.1/tcp/1", src)
		return err
	}
	keyOf := func(s string) ed25519.PrivateKey {
		sum := sha256.Sum256([]byte(s))
		return ed25519.NewKeyFromSeed(sum[:])
	}
	at := now
	for i := range 300 {
		if i%50 == 0 {
			at = at.Add(2 * time.Minute) // past the limiter's window
		}
		if err := hello(keyOf(fmt.Sprint(i)), at.Add(time.Duration(i)*time.Millisecond), string(rune('a'+i%20))); err != nil {
			t.Fatalf("pending %d: %v", i, err)
		}
	}
	ps, _ := s.Peers(t.Context())
	if len(ps) != MaxPending {
		t.Fatalf("%d pending nodes kept, want %d", len(ps), MaxPending)
	}
	// A new source may bring five a minute, not six.
	at = at.Add(2 * time.Minute)
	for i := range 6 {
		err := hello(keyOf("same"+fmt.Sprint(i)), at, "10.0.0.2")
		if (i < 5) != (err == nil) || (i == 5 && !errors.Is(err, ErrPendingLimited)) {
			t.Fatalf("new pending node %d from one address in a minute: %v", i+1, err)
		}
	}
}

// A database from before roles keeps the flat model: its trust rows are
// admin anchors (migration 0006's default), and this node is a founder
// (no row says it joined anyone).
func TestTrustBeforeRolesIsAdmin(t *testing.T) {
	self, old := newNode(1), newNode(2)
	s := meshStore(t, self)
	db, err := sql.Open("sqlite", s.st.Path()) // the driver the store registered
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(t.Context(), "INSERT INTO trust(node_id, source, addrs, added_ms) VALUES (?, 'ticket', '[]', 1)", string(old.id))
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	m := s.Members()
	if !m.IsAdmin(old.id) || !m.IsAdmin(self.id) {
		t.Fatalf("a pre-role trust row: admin %v, this node admin %v; want both admins (the flat model)", m.IsAdmin(old.id), m.IsAdmin(self.id))
	}
}

// A version that jumps more than MaxVersionStep is stored but does not
// count (audited), and counts once versions below bridge the gap; a batch
// resolves each secret once, with the same verdicts.
func TestVersionJumpWaits(t *testing.T) {
	self, target := newNode(1), newNode(3)
	s := meshStore(t, self)
	mustApply(t, s, self.admitAs(t, 10, target, record.RoleNode, now))
	far := self.secretFor(t, 13, target, "db", 2+record.MaxVersionStep)
	out, err := s.Apply(t.Context(), []*record.Envelope{self.secretFor(t, 11, target, "db", 1), far}, fromTest)
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Err != nil || !out[1].Stored || record.ReasonOf(out[1].Err) != record.ReasonNotAllowed {
		t.Fatalf("outcomes %v / %v, want v1 counting and the jump stored, not counting", out[0].Err, out[1].Err)
	}
	res, _ := s.SecretState(t.Context(), record.Key{Name: "db", Target: target.id})
	if res.Current.Version != 1 {
		t.Fatalf("current v%d, want 1", res.Current.Version)
	}
	mustApply(t, s, self.secretFor(t, 12, target, "db", 1+record.MaxVersionStep))
	res, _ = s.SecretState(t.Context(), record.Key{Name: "db", Target: target.id})
	if res.Current.Version != 2+record.MaxVersionStep {
		t.Fatalf("after the bridge current v%d, want the jump", res.Current.Version)
	}
}
