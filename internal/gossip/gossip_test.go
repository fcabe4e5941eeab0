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
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// testNode is a GossipActor with a real host on loopback and a real store.
type testNode struct {
	g    *Gossip
	ref  actor.Ref[Msg]
	id   *identity.Identity
	st   *store.Store
	self record.NodeID
	sink *recSink
	stop func()
}

type recSink struct {
	mu    sync.Mutex
	recs  []*record.Record
	pulls []record.NodeID
	syncs []record.NodeID
}

func (s *recSink) Accepted(recs []*record.Record) {
	s.mu.Lock()
	s.recs = append(s.recs, recs...)
	s.mu.Unlock()
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
	if err := st.LoadMembers(context.Background(), n.self); err != nil {
		t.Fatal(err)
	}
	n.g = New(Config{Identity: id, Store: st, Sink: n.sink, Log: slog.New(slog.DiscardHandler),
		Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Heartbeat: 200 * time.Millisecond, Hostname: name})
	sup := actor.NewSupervisor(slog.New(slog.DiscardHandler))
	if n.ref, err = actor.Spawn[Msg](sup, "gossip", n.g, 256); err != nil {
		t.Fatal(err)
	}
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

// addPeer gives a the ticket of b.
func addPeer(t *testing.T, a, b *testNode) {
	t.Helper()
	res, err := actor.Call(context.Background(), a.ref, func(r chan<- AddPeerResult) Msg {
		return AddPeer{Ticket: b.g.Ticket(), Reply: r}
	})
	if err != nil || res.Err != nil {
		t.Fatalf("add peer: %v %v", err, res.Err)
	}
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

	res, err := actor.Call(context.Background(), a.ref, func(r chan<- PublishResult) Msg {
		return PublishRecord{Kind: record.KindSysinfo, Body: record.Sysinfo{Load1: 42}.Encode(), Reply: r}
	})
	if err != nil || res.Err != nil {
		t.Fatalf("publish: %v %v", err, res.Err)
	}
	waitFor(t, "b stores a's record", func() bool { return b.sink.has(res.Record.ID()) })
	got, ok, _ := b.st.Latest(context.Background(), record.KindSysinfo, string(a.self))
	if !ok || got.ID != res.Record.ID() {
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
		p, ok, _ := a.st.Peer(context.Background(), s.self)
		return ok && p.Pending() && p.Hostname == "stranger"
	})
	sp, _ := peer.Decode(string(s.self))
	waitFor(t, "the stranger scores below the graylist threshold at a", func() bool {
		sc, ok := a.g.Scores()[sp]
		return ok && sc <= graylistThreshold
	})
	// Records the stranger publishes never reach a.
	res, err := actor.Call(context.Background(), s.ref, func(r chan<- PublishResult) Msg {
		return PublishRecord{Kind: record.KindSysinfo, Body: record.Sysinfo{Load1: 7}.Encode(), Reply: r}
	})
	if err != nil || res.Err != nil {
		t.Fatalf("publish: %v %v", err, res.Err)
	}
	// Give ten heartbeats' time for anything to leak through.
	never(t, 2*time.Second, "a stores a stranger's record", func() bool { return a.sink.has(res.Record.ID()) })
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
		var admits []record.AdmitRec
		for i := 1; i < tc.members; i++ {
			admits = append(admits, record.AdmitRec{ID: record.ID{byte(i)}, Author: self, Subject: record.NodeID(rune('a' + i)), Role: record.RoleNode})
		}
		m := record.ComputeMembers(record.MembershipInput{Self: self, Founder: true, Admits: admits})
		if got := scaledInterval(10*time.Second, m.Len()); got != tc.want {
			t.Errorf("%d members: interval %v, want %v", tc.members, got, tc.want)
		}
	}
}
