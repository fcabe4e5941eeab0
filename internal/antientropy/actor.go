package antientropy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/record"
)

// DefaultInterval is how often a node pulls from a random member.
const DefaultInterval = 30 * time.Second

// maxConcurrentPulls bounds pulls in flight (one per peer at a time).
const maxConcurrentPulls = 4

// Replica is where pulled records go, and who may pull. Anti-entropy
// declares it and node wires it to the replica. Methods are called from
// pull and serve goroutines.
type Replica interface {
	Members() *record.Members
	// Pulled applies records pulled from peer (the acceptance rules, in
	// order, in one transaction) and returns how many were accepted.
	Pulled(ctx context.Context, envs []*record.Envelope, peer record.NodeID) (accepted int, err error)
	// Refused audits (rate-limited) a record pulled from peer that did
	// not open or was not asked for.
	Refused(ctx context.Context, r Refusal)
	// SyncRefused audits (rate-limited) a pull refused to a non-member.
	SyncRefused(ctx context.Context, peer record.NodeID)
}

// Refusal is a pulled record refused before it was applied.
type Refusal struct {
	Env    *record.Envelope // nil when it did not open
	Reason record.Reason
	Detail string
	Peer   record.NodeID
}

// Page is a page of this node's record log.
type Page struct {
	IDs    []record.ID
	Last   uint64 // log sequence of the last ID in the page (or since)
	MaxSeq uint64 // highest log sequence in the store
	More   bool   // more entries follow Last
}

// Log is this node's record log, as anti-entropy serves it and compares
// a peer's with it.
type Log interface {
	// IndexID is the random identity of the log (a wiped store has a new
	// one, and is pulled from the start again).
	IndexID(ctx context.Context) ([]byte, error)
	// Since returns the IDs stored after log sequence since, at most limit.
	Since(ctx context.Context, since uint64, limit int) (Page, error)
	// Raw returns the raw bytes of the stored records among ids, in order.
	Raw(ctx context.Context, ids []record.ID) ([][]byte, error)
	// Missing returns the IDs in ids that are not stored, in order.
	Missing(ctx context.Context, ids []record.ID) ([]record.ID, error)
}

// Cursors remembers how far this node pulled each peer's log.
type Cursors interface {
	Cursor(ctx context.Context, peer record.NodeID) (indexID []byte, seq uint64, err error)
	SetCursor(ctx context.Context, peer record.NodeID, indexID []byte, seq uint64) error
}

// Config configures the actor.
type Config struct {
	// Host returns the libp2p host (the gossip actor's), available from
	// the actor's PreStart on.
	Host     func() host.Host
	Replica  Replica
	Records  Log
	Cursors  Cursors
	Log      *slog.Logger
	Now      func() time.Time
	Interval time.Duration // default DefaultInterval
	// OnPull, when set, sees every finished pull (benchmarks, tests).
	OnPull func(PullStats, error)
}

// Msg is the actor's message type.
type Msg interface{ aeMsg() }

// Pull asks for a pull from Peer soon. Pulls coalesce per peer.
type Pull struct{ Peer record.NodeID }

// PullNow pulls from Peer and replies with the result (for tests and
// benchmarks).
type PullNow struct {
	Peer  record.NodeID
	Reply chan<- PullResult
}

// PullResult answers PullNow.
type PullResult struct {
	Stats PullStats
	Err   error
}

type tick struct{}
type pullDone struct {
	peer    record.NodeID
	stats   PullStats
	err     error
	replies []chan<- PullResult
}

func (Pull) aeMsg()     {}
func (PullNow) aeMsg()  {}
func (tick) aeMsg()     {}
func (pullDone) aeMsg() {}

// AntiEntropy is the anti-entropy actor.
type AntiEntropy struct {
	cfg Config
	log *slog.Logger
	ref actor.Ref[Msg]
	ctx context.Context // the run context, for pull goroutines

	inflight map[record.NodeID]bool
	queued   map[record.NodeID][]chan<- PullResult // waiters for the next pull from a peer
	wg       sync.WaitGroup
}

var (
	_ actor.Actor[Msg]  = (*AntiEntropy)(nil)
	_ actor.Runner      = (*AntiEntropy)(nil)
	_ actor.Binder[Msg] = (*AntiEntropy)(nil)
)

// New returns the actor; it starts nothing.
func New(cfg Config) *AntiEntropy {
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &AntiEntropy{cfg: cfg, log: cfg.Log}
}

// Bind implements actor.Binder.
func (a *AntiEntropy) Bind(ref actor.Ref[Msg]) { a.ref = ref }

// PreStart registers the stream handler on the host.
func (a *AntiEntropy) PreStart(ctx context.Context) error {
	if a.cfg.Host == nil || a.cfg.Host() == nil || a.cfg.Replica == nil || a.cfg.Records == nil || a.cfg.Cursors == nil {
		return errors.New("antientropy: host, replica, records and cursors are required")
	}
	a.ctx = ctx
	a.inflight = map[record.NodeID]bool{}
	a.queued = map[record.NodeID][]chan<- PullResult{}
	a.cfg.Host().SetStreamHandler(Protocol, a.serve)
	return nil
}

// Run pulls from a random connected member every Interval (jittered).
func (a *AntiEntropy) Run(ctx context.Context) error {
	for {
		d := a.cfg.Interval + time.Duration((rand.Float64()*0.2-0.1)*float64(a.cfg.Interval))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d):
			_ = a.ref.Cast(tick{})
		}
	}
}

// Handle handles one message.
func (a *AntiEntropy) Handle(ctx context.Context, m Msg) error {
	switch m := m.(type) {
	case Pull:
		a.request(m.Peer, nil)
	case PullNow:
		a.request(m.Peer, m.Reply)
	case tick:
		if p, ok := a.randomMember(); ok {
			a.request(p, nil)
		}
	case pullDone:
		delete(a.inflight, m.peer)
		for _, r := range m.replies {
			r <- PullResult{Stats: m.stats, Err: m.err}
		}
		if m.err != nil && ctx.Err() == nil {
			a.log.Debug("pull failed", "node", m.peer, "err", m.err)
		} else {
			a.log.Debug("pulled records", "node", m.peer, "accepted", m.stats.Accepted,
				"round_trips", m.stats.RoundTrips, "bytes_in", m.stats.BytesIn, "bytes_out", m.stats.BytesOut,
				"took_ms", m.stats.Duration.Milliseconds())
		}
		if a.cfg.OnPull != nil {
			a.cfg.OnPull(m.stats, m.err)
		}
		a.startQueued()
	default:
		return fmt.Errorf("unexpected message %T", m)
	}
	return nil
}

// request starts a pull from p, or queues it behind the one in flight;
// every waiter queued for p gets the result of the next pull from p.
func (a *AntiEntropy) request(p record.NodeID, reply chan<- PullResult) {
	var replies []chan<- PullResult
	if reply != nil {
		replies = append(replies, reply)
	}
	if a.inflight[p] || len(a.inflight) >= maxConcurrentPulls {
		a.queued[p] = append(a.queued[p], replies...)
		return
	}
	a.start(p, replies)
}

func (a *AntiEntropy) startQueued() {
	for p, replies := range a.queued {
		if len(a.inflight) >= maxConcurrentPulls {
			return
		}
		if !a.inflight[p] {
			delete(a.queued, p)
			a.start(p, replies)
		}
	}
}

func (a *AntiEntropy) start(p record.NodeID, replies []chan<- PullResult) {
	a.inflight[p] = true
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		st, err := a.pull(a.ctx, p)
		if cerr := a.ref.Cast(pullDone{peer: p, stats: st, err: err, replies: replies}); cerr != nil {
			for _, r := range replies {
				r <- PullResult{Stats: st, Err: err}
			}
		}
	}()
}

// randomMember picks a connected member to pull from.
func (a *AntiEntropy) randomMember() (record.NodeID, bool) {
	h := a.cfg.Host()
	members := a.cfg.Replica.Members()
	if members.IsRevoked(members.Self()) {
		return "", false // every member refuses a revoked node
	}
	var candidates []record.NodeID
	for _, id := range members.List() {
		if id == members.Self() {
			continue
		}
		p, err := peer.Decode(string(id))
		if err == nil && h.Network().Connectedness(p) == network.Connected {
			candidates = append(candidates, id)
		}
	}
	if len(candidates) == 0 {
		return "", false
	}
	return candidates[rand.IntN(len(candidates))], true
}

// PostStop removes the handler and waits for pulls to end.
func (a *AntiEntropy) PostStop(ctx context.Context) error {
	if h := a.cfg.Host(); h != nil {
		h.RemoveStreamHandler(Protocol)
	}
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("anti-entropy pulls still running")
	}
}

// rejectUnasked audits a record that did not open or was not asked for.
func (a *AntiEntropy) rejectUnasked(ctx context.Context, env *record.Envelope, err error, peer record.NodeID) {
	r := Refusal{Reason: record.ReasonNotAllowed, Detail: "record that was not asked for", Peer: peer}
	switch {
	case err != nil:
		r.Reason, r.Detail = record.ReasonOf(err), err.Error()
	case env != nil:
		r.Env = env
		// One we already hold is a replay; we never ask for those.
		if miss, merr := a.cfg.Records.Missing(ctx, []record.ID{env.ID()}); merr == nil && len(miss) == 0 {
			r.Reason, r.Detail = record.ReasonDuplicate, fmt.Sprintf("replay of %s %s, not asked for", env.Kind, env.ID().Short())
		}
	}
	a.cfg.Replica.Refused(ctx, r)
}
