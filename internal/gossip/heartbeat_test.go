package gossip

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/record"
)

// seqDirectory answers LatestSeq from a map and counts the lookups; it
// saves no liveness.
type seqDirectory struct {
	Directory
	have    map[record.NodeID]uint64
	lookups int
}

func (d *seqDirectory) LatestSeq(_ context.Context, id record.NodeID) (uint64, error) {
	d.lookups++
	return d.have[id], nil
}

func (*seqDirectory) SaveLiveness(context.Context, []Liveness) error { return nil }

type pullEvents struct{ pulls []record.NodeID }

func (e *pullEvents) Pull(p record.NodeID)        { e.pulls = append(e.pulls, p) }
func (e *pullEvents) SyncRequested(record.NodeID) {}

type fixedMembers struct{ m *record.Members }

func (f fixedMembers) Members() *record.Members { return f.m }

// A heartbeat announcing nothing new asks the store nothing; one
// announcing more than this node held looks again and pulls when it
// lacks records.
func TestHeartbeatLooksUpOnlyWhatIsNew(t *testing.T) {
	self, b := record.NodeID("self"), record.NodeID("b")
	dir := &seqDirectory{have: map[record.NodeID]uint64{b: 5}}
	ev := &pullEvents{}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	g := &Gossip{self: self, live: map[record.NodeID]*liveness{}, log: slog.New(slog.DiscardHandler),
		cfg: Config{Now: func() time.Time { return now }, Peers: dir, Events: ev,
			Members: fixedMembers{record.NewMembers(self, map[record.NodeID]record.Role{self: record.RoleAdmin, b: record.RoleNode}, nil, nil)}}}
	ctx := context.Background()
	hb := func(seq uint64) *record.Heartbeat {
		return &record.Heartbeat{LatestSeq: seq, Interval: 10 * time.Second}
	}

	g.onHeard(ctx, b, hb(5))
	g.onHeard(ctx, b, hb(5))
	g.onHeard(ctx, b, &record.Heartbeat{LatestSeq: 4, Interval: 20 * time.Second})
	if l := g.live[b]; l == nil || l.interval != 20*time.Second {
		t.Fatalf("the member's announced interval was not taken: %+v", l)
	}
	if dir.lookups != 1 || len(ev.pulls) != 0 {
		t.Fatalf("three heartbeats at or below what is held: %d lookups, %d pulls; want 1 lookup, no pull", dir.lookups, len(ev.pulls))
	}
	g.onHeard(ctx, b, hb(7))
	if dir.lookups != 2 || len(ev.pulls) != 1 {
		t.Fatalf("a heartbeat beyond what is held: %d lookups, %d pulls; want 2, 1", dir.lookups, len(ev.pulls))
	}
	// Until the records arrive, every such heartbeat looks and pulls again.
	g.onHeard(ctx, b, hb(7))
	if dir.lookups != 3 || len(ev.pulls) != 2 {
		t.Fatalf("again before the pull landed: %d lookups, %d pulls; want 3, 2", dir.lookups, len(ev.pulls))
	}
	dir.have[b] = 7
	g.onHeard(ctx, b, hb(7))
	g.onHeard(ctx, b, hb(7))
	if dir.lookups != 4 || len(ev.pulls) != 2 {
		t.Fatalf("after the pull landed: %d lookups, %d pulls; want 4, 2", dir.lookups, len(ev.pulls))
	}
}
