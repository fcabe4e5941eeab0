package gossip

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/gossip/p2p"
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/membership"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/replica"
	"github.com/credmesh/credmesh/internal/store"
)

// testNode is a GossipActor with a real host on loopback, a real store
// and replica, wired as node wires them (wiring_test.go).
type testNode struct {
	g    *Gossip
	ref  actor.Ref[Msg]
	id   *identity.Identity
	st   *store.Store
	r    *replica.Replica
	self record.NodeID
	sink *recSink
	stop func()
}

// recSink records what the node stored and was told, and publishes this
// node's own records on gossip, as node does.
type recSink struct {
	mu    sync.Mutex
	ref   actor.Ref[Msg]
	recs  []*record.Record
	pulls []record.NodeID
	syncs []record.NodeID
}

func (s *recSink) Stored(recs []*record.Record, src replica.Source) {
	s.mu.Lock()
	s.recs = append(s.recs, recs...)
	s.mu.Unlock()
	if src.Via == replica.Mine {
		var raws [][]byte
		for _, r := range recs {
			raws = append(raws, r.Raw())
		}
		_ = s.ref.Cast(Publish{Raw: raws})
	}
}
func (s *recSink) Pull(p record.NodeID) {
	s.mu.Lock()
	s.pulls = append(s.pulls, p)
	s.mu.Unlock()
}
func (s *recSink) SyncRequested(from record.NodeID) {
	s.mu.Lock()
	s.syncs = append(s.syncs, from)
	s.mu.Unlock()
}

func (s *recSink) syncRequests() []record.NodeID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]record.NodeID(nil), s.syncs...)
}

func (s *recSink) has(id record.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recs {
		if r.ID() == id {
			return true
		}
	}
	return false
}

func startNode(t *testing.T, name string) *testNode {
	t.Helper()
	dir := t.TempDir()
	id, _, err := identity.LoadOrCreate(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	n := &testNode{id: id, st: st, self: record.NodeID(id.NodeID.String()), sink: &recSink{}}
	n.r = replica.New(replica.Config{Store: st, Identity: id, Hostname: name, Notify: n.sink})
	if err := n.r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.g = New(Config{Identity: id, Members: n.r, Sink: testSink{n.r}, Self: n.r, Peers: testDirectory{n.r, st},
		Invites: n.r, Events: n.sink, Counter: n.r, Log: slog.New(slog.DiscardHandler),
		Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Heartbeat: 200 * time.Millisecond, Hostname: name})
	sup := actor.NewSupervisor(slog.New(slog.DiscardHandler))
	if n.ref, err = actor.Spawn[Msg](sup, "gossip", n.g, 256); err != nil {
		t.Fatal(err)
	}
	n.sink.ref = n.ref
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{})
	sup.Go("started", func(context.Context) error { close(started); return nil })
	go func() { done <- sup.Run(ctx) }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("start %s: %v", name, err)
	}
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s: %v", name, err)
			}
			st.Close()
		})
	}
	t.Cleanup(n.stop)
	return n
}

// addPeer gives a the ticket of b: a trusts b (as a plain node) and
// dials it.
func addPeer(t *testing.T, a, b *testNode) {
	t.Helper()
	tk, err := actor.Call(context.Background(), b.ref, func(r chan<- identity.Ticket) Msg { return GetTicket{Reply: r} })
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, ad := range tk.Addrs {
		addrs = append(addrs, ad.String())
	}
	if _, err := a.r.AddTrust(context.Background(), store.Trusted{NodeID: b.self, Source: store.TrustTicket, Role: record.RoleNode, Addrs: addrs}); err != nil {
		t.Fatal(err)
	}
	if err := a.ref.Cast(Dial{Ticket: tk}); err != nil {
		t.Fatal(err)
	}
}

// publish has n sign and store a sysinfo record, which goes out on gossip.
func publish(t *testing.T, n *testNode, load uint64) *record.Record {
	t.Helper()
	rec, err := n.r.Publish(context.Background(), record.KindSysinfo, record.Sysinfo{Load1: load}.Encode())
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return rec
}

// waitFor polls cond (real hosts exchange real messages; there is
// nothing to wait on directly), failing after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// never checks that cond stays false for the whole window.
func never(t *testing.T, window time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.After(window)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond() {
			t.Fatalf("%s happened", what)
		}
		select {
		case <-end:
			return
		case <-tick.C:
		}
	}
}

func online(n *testNode, id record.NodeID) bool {
	p, ok, err := n.st.Peer(context.Background(), id)
	return err == nil && ok && p.Online
}

func TestGossipBetweenMembers(t *testing.T) {
	a, b := startNode(t, "a"), startNode(t, "b")
	addPeer(t, a, b)
	addPeer(t, b, a)
	waitFor(t, "both online", func() bool { return online(a, b.self) && online(b, a.self) })

	rec := publish(t, a, 42)
	waitFor(t, "b stores a's record", func() bool { return b.sink.has(rec.ID()) })
	got, ok, _ := b.st.Latest(context.Background(), record.KindSysinfo, string(a.self))
	if !ok || got.ID != rec.ID() {
		t.Fatal("b's latest sysinfo of a is not the published one")
	}

	// a stops gracefully: b hears it leave.
	a.stop()
	waitFor(t, "b marks a offline", func() bool { return !online(b, a.self) })
}

func TestStrangerIsKeptOut(t *testing.T) {
	a, s := startNode(t, "a"), startNode(t, "stranger")
	addPeer(t, s, a) // the stranger trusts a; a never adds it
	waitFor(t, "a lists the stranger as pending", func() bool {
		p, ok, _ := a.r.Peer(context.Background(), s.self)
		return ok && p.Pending() && p.Hostname == "stranger"
	})
	sp, _ := peer.Decode(string(s.self))
	waitFor(t, "the stranger scores below the graylist threshold at a", func() bool {
		sc, ok := a.g.Scores()[sp]
		return ok && sc <= p2p.GraylistThreshold
	})
	// Records the stranger publishes never reach a.
	rec := publish(t, s, 7)
	// Give ten heartbeats' time for anything to leak through.
	never(t, 2*time.Second, "a stores a stranger's record", func() bool { return a.sink.has(rec.ID()) })
	if online(a, s.self) {
		t.Fatal("a lists the stranger as online")
	}
}

func TestHeartbeatScaling(t *testing.T) {
	self := record.NodeID("self")
	for _, tc := range []struct {
		members int
		want    time.Duration
	}{{1, 10 * time.Second}, {10, 10 * time.Second}, {40, 20 * time.Second}, {90, 30 * time.Second}} {
		var admits []membership.Admit
		for i := 1; i < tc.members; i++ {
			admits = append(admits, membership.Admit{ID: record.ID{byte(i)}, Author: self, Subject: record.NodeID(rune('a' + i)), Role: record.RoleNode})
		}
		m := membership.Compute(membership.Input{Self: self, Founder: true, Admits: admits})
		if got := scaledInterval(10*time.Second, m.Len()); got != tc.want {
			t.Errorf("%d members: interval %v, want %v", tc.members, got, tc.want)
		}
	}
}
