package antientropy

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/replica"
	"github.com/credmesh/credmesh/internal/store"
)

var now = time.Now()

// side is one node of a two-node anti-entropy setup: a real libp2p host
// on loopback, a real SQLite store and replica, and the actor under a
// supervisor.
type side struct {
	key   ed25519.PrivateKey
	id    record.NodeID
	h     host.Host
	st    *store.Store
	r     *replica.Replica
	ref   actor.Ref[Msg]
	mu    sync.Mutex
	got   []*record.Record
	stop  func()
	stats []PullStats
}

func (s *side) Stored(recs []*record.Record, _ replica.Source) {
	s.mu.Lock()
	s.got = append(s.got, recs...)
	s.mu.Unlock()
}

// sideReplica and sideLog wire the actor to the replica and the store as
// node does.
type sideReplica struct{ r *replica.Replica }

func (p sideReplica) Members() *record.Members { return p.r.Members() }
func (p sideReplica) Pulled(ctx context.Context, envs []*record.Envelope, peer record.NodeID) (int, error) {
	outs, err := p.r.Apply(ctx, envs, replica.Source{Via: replica.AntiEntropy, Peer: peer})
	n := 0
	for _, o := range outs {
		if o.Accepted() {
			n++
		}
	}
	return n, err
}
func (p sideReplica) Refused(ctx context.Context, rf Refusal) {
	r := replica.Rejection{Reason: rf.Reason, Detail: rf.Detail, From: replica.Source{Via: replica.AntiEntropy, Peer: rf.Peer}}
	if rf.Env != nil {
		r.Kind, r.Author, r.ID = rf.Env.Kind, rf.Env.AuthorID(), rf.Env.ID().String()
	}
	p.r.Refuse(ctx, r)
}
func (p sideReplica) SyncRefused(ctx context.Context, peer record.NodeID) { p.r.SyncRefused(ctx, peer) }

type sideLog struct{ st *store.Store }

func (l sideLog) IndexID(ctx context.Context) ([]byte, error) { return l.st.IndexID(ctx) }
func (l sideLog) Since(ctx context.Context, since uint64, limit int) (Page, error) {
	p, err := l.st.LogSince(ctx, since, limit)
	return Page(p), err
}
func (l sideLog) Raw(ctx context.Context, ids []record.ID) ([][]byte, error) {
	return l.st.RawByIDs(ctx, ids)
}
func (l sideLog) Missing(ctx context.Context, ids []record.ID) ([]record.ID, error) {
	return l.st.Missing(ctx, ids)
}
func (l sideLog) Cursor(ctx context.Context, peer record.NodeID) ([]byte, uint64, error) {
	return l.st.Cursor(ctx, peer)
}
func (l sideLog) SetCursor(ctx context.Context, peer record.NodeID, index []byte, seq uint64) error {
	return l.st.SetCursor(ctx, now, peer, index, seq)
}

func newSide(t testing.TB, seed byte) *side {
	t.Helper()
	_ = seed // every side gets a fresh identity
	dir := t.TempDir()
	ident, _, err := identity.LoadOrCreate(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	key := ident.NodeKey()
	lk, err := crypto.UnmarshalEd25519PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(lk), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	s := &side{key: key, id: record.NodeIDOf(key.Public().(ed25519.PublicKey)), h: h, st: st}
	s.r = replica.New(replica.Config{Store: st, Identity: ident, Notify: s, Now: func() time.Time { return now }})
	if err := s.r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	sup := actor.NewSupervisor(slog.New(slog.DiscardHandler))
	a := New(Config{Host: func() host.Host { return h }, Replica: sideReplica{s.r}, Records: sideLog{st}, Cursors: sideLog{st}, Interval: time.Hour})
	if s.ref, err = actor.Spawn[Msg](sup, "antientropy", a, 64); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	s.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("supervisor: %v", err)
		}
		h.Close()
		st.Close()
	}
	t.Cleanup(s.stop)
	return s
}

func (s *side) pub() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// trust makes s trust other directly and connects the hosts.
func (s *side) trust(t testing.TB, other *side) {
	t.Helper()
	if _, err := s.r.AddTrust(context.Background(), store.Trusted{NodeID: other.id, Source: store.TrustTicket, Role: record.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if err := s.h.Connect(context.Background(), peer.AddrInfo{ID: other.h.ID(), Addrs: other.h.Addrs()}); err != nil {
		t.Fatal(err)
	}
}

// admits makes n admit records by s (for random subjects).
func (s *side) admits(t testing.TB, n int) []*record.Envelope {
	t.Helper()
	out := make([]*record.Envelope, n)
	for i := range out {
		sub := make([]byte, 32)
		_, _ = rand.Read(sub)
		e, err := record.Seal(s.key, record.KindAdmit, uint64(1000+i), now, record.Admit{Subject: sub, Source: record.AdmitTicket, Role: record.RoleNode}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		out[i] = e
	}
	return out
}

func (s *side) apply(t testing.TB, envs []*record.Envelope) {
	t.Helper()
	for len(envs) > 0 {
		n := min(len(envs), 1000)
		outs, err := s.r.Apply(context.Background(), envs[:n], replica.Source{Via: replica.Gossip})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range outs {
			if o.Err != nil {
				t.Fatalf("setup record refused: %v", o.Err)
			}
		}
		envs = envs[n:]
	}
}

func (s *side) pullFrom(t testing.TB, other *side) PullStats {
	t.Helper()
	res, err := actor.Call(context.Background(), s.ref, func(r chan<- PullResult) Msg { return PullNow{Peer: other.id, Reply: r} })
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil {
		t.Fatalf("pull: %v", res.Err)
	}
	return res.Stats
}

func (s *side) count(t testing.TB) int {
	t.Helper()
	c, err := s.st.CountRecords(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c[record.KindAdmit]
}

// TestPullCostFollowsTheDifference measures one pull after B missed D of
// A's S records, B having pulled before (its cursor is at S-D): the cost
// must follow D, not S.
func TestPullCostFollowsTheDifference(t *testing.T) {
	const S = setSize
	for _, D := range []int{0, 1, 100} {
		t.Run(fmt.Sprintf("D=%d", D), func(t *testing.T) {
			a, b := newSide(t, 1), newSide(t, 2)
			a.trust(t, b)
			b.trust(t, a)
			all := a.admits(t, S)
			a.apply(t, all[:S-D])
			b.apply(t, all[:S-D])
			b.pullFrom(t, a) // the earlier pull that set B's cursor
			a.apply(t, all[S-D:])
			st := b.pullFrom(t, a)
			t.Logf("S=%d D=%d: %d round trips, %d bytes out, %d bytes in, %d listed, %d fetched", S, D, st.RoundTrips, st.BytesOut, st.BytesIn, st.Listed, st.Fetched)
			if got := b.count(t); got != S {
				t.Fatalf("B holds %d records after the pull, want %d", got, S)
			}
			total := st.BytesIn + st.BytesOut
			switch {
			case D == 0 && (st.RoundTrips != 1 || total > 512):
				t.Fatalf("in sync: %d round trips and %d bytes, want 1 and at most 512", st.RoundTrips, total)
			case D > 0 && (st.RoundTrips > 2 || total > 32<<10):
				t.Fatalf("D=%d: %d round trips and %d bytes, want at most 2 and 32 KiB", D, st.RoundTrips, total)
			case st.Fetched != D:
				t.Fatalf("fetched %d records, want exactly the %d missing", st.Fetched, D)
			}
		})
	}
}

// A first pull (no cursor) lists the whole log in pages and fetches only
// what is missing.
func TestFirstPullAndWipedPeer(t *testing.T) {
	a, b := newSide(t, 1), newSide(t, 2)
	a.trust(t, b)
	b.trust(t, a)
	n := setSize / 2
	all := a.admits(t, n)
	a.apply(t, all)
	b.apply(t, all[:n*4/5])
	st := b.pullFrom(t, a)
	if st.Listed != n || st.Fetched != n/5 || b.count(t) != n {
		t.Fatalf("first pull listed %d, fetched %d, B holds %d; want %d, %d, %d", st.Listed, st.Fetched, b.count(t), n, n/5, n)
	}
	t.Logf("first pull of %d (%d missing): %d round trips, %d bytes", n, n/5, st.RoundTrips, st.BytesIn+st.BytesOut)
	// A's database is replaced (a new log identity): B pulls it whole
	// again rather than trusting its old cursor.
	idx, _ := a.st.IndexID(context.Background())
	if err := b.st.SetCursor(context.Background(), now, a.id, append([]byte("old-"), idx...), 99999); err != nil {
		t.Fatal(err)
	}
	st = b.pullFrom(t, a)
	if st.Listed != n || st.Fetched != 0 {
		t.Fatalf("pull after a log change listed %d, fetched %d; want %d and 0", st.Listed, st.Fetched, n)
	}
}

// A node that is not a member is refused and gets nothing.
func TestNonMemberRefused(t *testing.T) {
	a, b := newSide(t, 1), newSide(t, 2)
	b.trust(t, a) // B trusts A, A does not trust B
	a.apply(t, a.admits(t, 10))
	res, err := actor.Call(context.Background(), b.ref, func(r chan<- PullResult) Msg { return PullNow{Peer: a.id, Reply: r} })
	if err != nil {
		t.Fatal(err)
	}
	if res.Err == nil || !bytes.Contains([]byte(res.Err.Error()), []byte("not a member")) {
		t.Fatalf("pull by a non-member = %v, want a refusal", res.Err)
	}
	if b.count(t) != 0 {
		t.Fatalf("the non-member received %d records", b.count(t))
	}
}

// Received records go through the same rules as gossip: records from
// nodes B does not trust are refused and audited.
func TestPulledRecordsAreChecked(t *testing.T) {
	a, b, c := newSide(t, 1), newSide(t, 2), newSide(t, 3)
	a.trust(t, b)
	b.trust(t, a)
	// A trusts C and holds C's records; B does not trust C.
	if _, err := a.r.AddTrust(context.Background(), store.Trusted{NodeID: c.id, Source: store.TrustTicket, Role: record.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	a.apply(t, c.admits(t, 3))
	st := b.pullFrom(t, a)
	if st.Fetched != 3 || st.Accepted != 0 {
		t.Fatalf("fetched %d, accepted %d; want 3 fetched, none accepted", st.Fetched, st.Accepted)
	}
	es, _ := b.st.Events(context.Background(), store.EventFilter{Type: replica.EventRecordRejected})
	if len(es) != 3 {
		t.Fatalf("%d rejections audited, want 3", len(es))
	}
}

func BenchmarkPullDelta100of10000(b *testing.B) {
	a, bb := newSide(b, 1), newSide(b, 2)
	a.trust(b, bb)
	bb.trust(b, a)
	all := a.admits(b, 10000+100*b.N)
	a.apply(b, all[:10000])
	bb.apply(b, all[:10000])
	bb.pullFrom(b, a)
	var rt, bytes int64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		a.apply(b, all[10000+i*100:10000+(i+1)*100])
		b.StartTimer()
		st := bb.pullFrom(b, a)
		rt += int64(st.RoundTrips)
		bytes += st.BytesIn + st.BytesOut
	}
	b.ReportMetric(float64(rt)/float64(b.N), "roundtrips/op")
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/op")
}

// secrets makes n secret versions by s for target, encrypted for real.
func (s *side) secrets(t testing.TB, n int, target *side) []*record.Envelope {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*record.Envelope, n)
	for i := range out {
		ct, err := record.Encrypt(id.Recipient().String(), []byte(fmt.Sprintf("password-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		sec := record.Secret{Name: fmt.Sprintf("s%05d", i), Target: target.pub(), Version: 1, CreatedAt: now,
			Ciphertext: ct, Group: make([]byte, record.GroupSize)}
		e, err := record.Seal(s.key, record.KindSecret, uint64(1000+i), now, sec.Encode())
		if err != nil {
			t.Fatal(err)
		}
		out[i] = e
	}
	return out
}

// A node that missed 100 secrets of S catches up on them.
func TestPullSecretsCatchUp(t *testing.T) {
	S, D := setSize, 100
	a, b := newSide(t, 1), newSide(t, 2)
	a.trust(t, b)
	b.trust(t, a)
	all := a.secrets(t, S, b)
	a.apply(t, all[:S-D])
	b.apply(t, all[:S-D])
	b.pullFrom(t, a)
	a.apply(t, all[S-D:])
	begin := time.Now()
	st := b.pullFrom(t, a)
	took := time.Since(begin)
	var recordBytes int
	for _, e := range all[S-D:] {
		recordBytes += len(e.Raw())
	}
	t.Logf("secrets S=%d D=%d: %d round trips, %d bytes (%d of them the records themselves, %d protocol), %v",
		S, D, st.RoundTrips, st.BytesIn+st.BytesOut, recordBytes, st.BytesIn+st.BytesOut-int64(recordBytes), took)
	if st.RoundTrips > 2 || st.Fetched != D || st.Accepted != D {
		t.Fatalf("%d round trips, %d fetched, %d accepted; want at most 2 and %d", st.RoundTrips, st.Fetched, st.Accepted, D)
	}
	if overhead := st.BytesIn + st.BytesOut - int64(recordBytes); overhead > 8<<10 {
		t.Fatalf("protocol overhead %d bytes for %d records, want under 8 KiB (IDs listed and wanted)", overhead, D)
	}
	c, _ := b.st.CountRecords(context.Background())
	if c[record.KindSecret] != S {
		t.Fatalf("B holds %d secrets, want %d", c[record.KindSecret], S)
	}
}
