package gossip

import (
	"context"

	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/replica"
	"github.com/credmesh/credmesh/internal/store"
)

// testSink and testDirectory wire the actor to a real replica and store,
// as node does.
type testSink struct{ r *replica.Replica }

func testSource(ch Channel, from record.NodeID) replica.Source {
	via := map[Channel]replica.Via{ViaTopic: replica.Gossip, ViaHello: replica.Hello, ViaNotice: replica.Notice,
		ViaSyncRequest: replica.SyncRequest}[ch]
	return replica.Source{Via: via, Peer: from}
}

func (s testSink) Check(ctx context.Context, env *record.Envelope, from record.NodeID) (*record.Record, error) {
	return s.r.Check(ctx, env, testSource(ViaTopic, from))
}

func (s testSink) Received(ctx context.Context, envs []*record.Envelope, ch Channel, from record.NodeID) {
	_, _ = s.r.Apply(ctx, envs, testSource(ch, from))
}

func (s testSink) Hello(ctx context.Context, env *record.Envelope, n record.Node, remote, src string) (bool, error) {
	return s.r.Hello(ctx, env, n, remote, src)
}

func (s testSink) Refused(ctx context.Context, rf Refusal) {
	r := replica.Rejection{Reason: rf.Reason, Detail: rf.Detail, From: testSource(rf.Channel, rf.From)}
	if rf.Env != nil {
		r.Kind, r.Author = rf.Env.Kind, rf.Env.AuthorID()
	}
	s.r.Refuse(ctx, r)
}

type testDirectory struct {
	r  *replica.Replica
	st *store.Store
}

func (d testDirectory) KnownAddrs(ctx context.Context, id record.NodeID) []string {
	return d.r.KnownAddrs(ctx, id)
}

func (d testDirectory) LatestSeq(ctx context.Context, id record.NodeID) (uint64, error) {
	return d.st.LatestSeq(ctx, id)
}

func (d testDirectory) SaveLiveness(ctx context.Context, ls []Liveness) error {
	out := make([]store.Liveness, len(ls))
	for i, l := range ls {
		out[i] = store.Liveness(l)
	}
	return d.st.SetLiveness(ctx, d.r.Now(), out)
}

func (d testDirectory) Records(ctx context.Context, ids []record.ID) ([][]byte, error) {
	return d.st.RawByIDs(ctx, ids)
}
