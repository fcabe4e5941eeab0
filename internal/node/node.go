package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/store"
	"github.com/credmesh/credmesh/internal/version"
	"github.com/credmesh/credmesh/internal/web"
)

// Node is one running credmesh node. Build it with Run.
type Node struct {
	cfg      Config
	log      *slog.Logger
	id       *identity.Identity
	store    *store.Store
	hostname string
	started  time.Time
}

// Run runs a node until ctx ends (a graceful stop, nil) or an actor fails
// (its error). ready, when set, is called once every actor has started.
func Run(ctx context.Context, cfg Config, log *slog.Logger, ready func()) (err error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	id, created, err := identity.LoadOrCreate(cfg.DataDir, cfg.Now())
	if err != nil {
		return err
	}
	if created {
		log.Info("created identity", "data_dir", cfg.DataDir, "node", id.NodeID)
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.Close()
	st, err := store.Open(ctx, StorePath(cfg.DataDir))
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}()
	hostname, _ := os.Hostname()
	n := &Node{cfg: cfg, log: log, id: id, store: st, hostname: hostname, started: cfg.Now()}
	return n.run(ctx, ready)
}

func (n *Node) run(ctx context.Context, ready func()) error {
	sup := actor.NewSupervisor(n.log.With("component", "supervisor"))
	apiHandler := (&web.API{Backend: n, Store: n.store, Log: n.log.With("component", "api")}).Handler()
	control := &web.ControlServer{
		Path:    SocketPath(n.cfg.DataDir),
		Handler: apiHandler,
		Log:     n.log.With("component", "control"),
	}
	if _, err := actor.Spawn[web.ControlMsg](sup, "control", control, 16); err != nil {
		return err
	}
	sup.Go("notify", notifySystemd(n.log, func() {
		n.audit(context.Background(), store.EventNodeStart, "node started", map[string]any{"version": version.String()})
		n.log.Info("node ready", "node", n.id.NodeID, "data_dir", n.cfg.DataDir, "version", version.String())
		if ready != nil {
			ready()
		}
	}))

	err := sup.Run(ctx)
	stopCtx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err != nil {
		n.audit(stopCtx, store.EventNodeStop, "node stopped on error", map[string]any{"error": err.Error()})
		return err
	}
	n.audit(stopCtx, store.EventNodeStop, "node stopped", nil)
	n.log.Info("node stopped", "node", n.id.NodeID)
	return nil
}

// audit records an event about this node; a failure to audit is logged,
// never fatal.
func (n *Node) audit(ctx context.Context, typ, msg string, data map[string]any) {
	e := store.Event{Type: typ, Node: n.id.NodeID.String(), Message: msg, Time: n.cfg.Now()}
	if data != nil {
		e.Data, _ = json.Marshal(data)
	}
	if err := n.store.AddEvent(ctx, e); err != nil && !errors.Is(err, context.Canceled) {
		n.log.Warn("audit failed", "type", typ, "err", err)
	}
}

var _ web.Backend = (*Node)(nil)

// Status implements web.Backend.
func (n *Node) Status(ctx context.Context) (api.Status, error) {
	events, err := n.store.CountEvents(ctx)
	if err != nil {
		return api.Status{}, err
	}
	now := n.cfg.Now()
	return api.Status{
		NodeID:        n.id.NodeID.String(),
		Hostname:      n.hostname,
		AgeRecipient:  n.id.Recipient(),
		Version:       version.String(),
		StartedAt:     n.started.UTC(),
		UptimeSeconds: now.Sub(n.started).Seconds(),
		DataDir:       n.cfg.DataDir,
		Counts:        api.Counts{Events: events},
	}, nil
}

// Ticket implements web.Backend.
func (n *Node) Ticket(ctx context.Context) (api.Ticket, error) {
	return api.Ticket{NodeID: n.id.NodeID.String(), Ticket: OfflineTicket(n.id).String()}, nil
}
