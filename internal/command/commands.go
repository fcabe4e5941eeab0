package command

import (
	"context"
	"log/slog"
	"time"

	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/replica"
	"github.com/credmesh/credmesh/internal/store"
)

// Mesh is what Commands needs of the network: this node's ticket, a dial,
// and a sync request delivered to its target. The node wires it to the
// GossipActor; methods are called from API handler goroutines.
type Mesh interface {
	Ticket(ctx context.Context) (identity.Ticket, error)
	// Dial trusts nothing: it has the ticket's node dialled now (and its
	// invite presented), without waiting.
	Dial(t identity.Ticket) error
	// SyncRequest returns an error wrapping ErrUndelivered when the
	// target did not confirm the request.
	SyncRequest(ctx context.Context, target record.NodeID) error
}

// Creds is what Commands needs of the credential writer.
type Creds interface {
	// SyncAll has every credential of this node checked (rewritten when
	// force), without waiting.
	SyncAll(force bool, reason string) error
}

// Config configures Commands.
type Config struct {
	Mesh     Mesh
	Creds    Creds
	Replica  *replica.Replica
	Identity *identity.Identity // encrypts to itself, decrypts this node's copies
	Hostname string
	Log      *slog.Logger
	Now      func() time.Time
}

// Commands carries out what an operator asks of this node (through the
// web UI, the JSON API and the CLI): write, share, delete and reveal
// secrets; add, approve, promote, demote, revoke and ignore nodes; make
// invites. It checks the request, resolves NODE arguments, and plans each
// write (who may write what, which version) inside the replica's write
// transaction, which seals, decides and stores the records it plans. It
// is safe for concurrent use and holds no state of its own.
type Commands struct {
	mesh     Mesh
	creds    Creds
	r        *replica.Replica
	st       *store.Store
	id       *identity.Identity
	self     record.NodeID
	hostname string
	log      *slog.Logger
	now      func() time.Time
}

// New returns Commands for cfg.
func New(cfg Config) *Commands {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Commands{mesh: cfg.Mesh, creds: cfg.Creds, r: cfg.Replica, st: cfg.Replica.Store(), id: cfg.Identity, self: cfg.Replica.Self(),
		hostname: cfg.Hostname, log: cfg.Log, now: cfg.Now}
}
