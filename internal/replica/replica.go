package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/membership"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/store"
)

// Notifier hears of every record newly stored, local or remote, after the
// transaction that stored it committed; src says where they came from
// (Local ones are this node's own, to be published). It is called on the
// writer's goroutine and must not block: forward to a mailbox and return.
type Notifier interface {
	Stored(recs []*record.Record, src Source)
}

// Config configures a Replica.
type Config struct {
	Store    *store.Store
	Identity *identity.Identity // signs this node's records
	// Self is this node's ID when there is no Identity (a replica that
	// only applies and reads, in tests).
	Self     record.NodeID
	Hostname string // this node's, for resolving NODE arguments
	Notify   Notifier
	Log      *slog.Logger
	Now      func() time.Time
}

// Replica is the one owner of this node's replicated state. Every record,
// local or remote, enters the store through it, in one transaction that
// decides and stores it; it holds the membership snapshot, this node's
// author sequence and the store's log sequence, and the limiter for audit
// entries remote parties trigger. It is safe for concurrent use: writes
// are serialised by one lock, reads see the last committed snapshot.
type Replica struct {
	st       *store.Store
	id       *identity.Identity
	self     record.NodeID
	hostname string
	notify   Notifier
	log      *slog.Logger
	now      func() time.Time

	members atomic.Pointer[record.Members]
	writeMu sync.Mutex // held across every write: decisions see the state they change

	seqMu     sync.Mutex
	authorSeq uint64 // last sequence this node signed
	logSeq    uint64 // last log sequence handed out (writeMu held)

	rejects remoteLimiter
}

// New returns a Replica for cfg; call Load before using it.
func New(cfg Config) *Replica {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	r := &Replica{st: cfg.Store, id: cfg.Identity, self: cfg.Self, hostname: cfg.Hostname, notify: cfg.Notify, log: cfg.Log, now: cfg.Now}
	if cfg.Identity != nil {
		r.self = record.NodeID(cfg.Identity.NodeID.String())
	}
	return r
}

// Load computes membership from the store and primes the sequences.
func (r *Replica) Load(ctx context.Context) error {
	if r.st == nil || r.self == "" {
		return errors.New("replica: a store and an identity are required")
	}
	author, logSeq, err := r.st.Seqs(ctx)
	if err != nil {
		return err
	}
	r.seqMu.Lock()
	r.authorSeq = max(r.authorSeq, author)
	r.seqMu.Unlock()
	r.logSeq = logSeq
	return r.st.View(ctx, func(tx *store.Tx) error {
		m, err := loadMembers(tx, r.self)
		if err != nil {
			return fmt.Errorf("load membership: %w", err)
		}
		r.members.Store(m)
		return nil
	})
}

// Self returns this node's ID.
func (r *Replica) Self() record.NodeID { return r.self }

// Store returns the store, for the plain queries of callers that read.
func (r *Replica) Store() *store.Store { return r.st }

// Members returns the current membership snapshot (immutable). Before
// Load it holds no one.
func (r *Replica) Members() *record.Members {
	if m := r.members.Load(); m != nil {
		return m
	}
	return membership.Compute(membership.Input{Self: r.self})
}

// NextSeq reserves a sequence for a message this node signs. Sequences
// keep rising even when the database is wiped: they come from the clock.
func (r *Replica) NextSeq() uint64 {
	r.seqMu.Lock()
	defer r.seqMu.Unlock()
	r.authorSeq = record.NextSeq(r.authorSeq, r.now())
	return r.authorSeq
}

func (r *Replica) told(recs []*record.Record, src Source) {
	if len(recs) > 0 && r.notify != nil {
		r.notify.Stored(recs, src)
	}
}

// Log returns the replica's logger.
func (r *Replica) Log() *slog.Logger { return r.log }

// Now returns the replica's clock reading.
func (r *Replica) Now() time.Time { return r.now() }
