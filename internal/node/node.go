package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/antientropy"
	"github.com/credmesh/credmesh/internal/command"
	"github.com/credmesh/credmesh/internal/credwriter"
	"github.com/credmesh/credmesh/internal/gossip"
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/replica"
	"github.com/credmesh/credmesh/internal/store"
	"github.com/credmesh/credmesh/internal/sysinfo"
	"github.com/credmesh/credmesh/internal/version"
	"github.com/credmesh/credmesh/internal/web"
	"github.com/credmesh/credmesh/internal/webui"
)

// Node is one running credmesh node: the composition root. It builds the
// replica (the node's replicated state) and the operator's commands on
// it, spawns every actor under one supervisor, and wires the small
// interfaces each lower layer declares. Actors reach each other through
// the supervisor's registry, by name. Build it with Run.
type Node struct {
	cfg      Config
	log      *slog.Logger
	id       *identity.Identity
	self     record.NodeID
	store    *store.Store
	replica  *replica.Replica
	cmds     *command.Commands
	hostname string
	started  time.Time

	reg     *actor.Registry
	metrics *web.Metrics
	web     *web.WebServer // its URL, for login links
	guard   *web.Guard     // mints login codes
}

// Run runs a node until ctx ends (a graceful stop, nil) or an actor fails
// (its error). ready, when set, is called with the node once every actor
// has started.
func Run(ctx context.Context, cfg Config, log *slog.Logger, ready func(*Node)) (err error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	tickets, err := parseTickets(cfg.Tickets)
	if err != nil {
		return err
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
	credsDir := cfg.CredsDir
	if credsDir == "" {
		credsDir = credwriter.DefaultDir
	}
	credsLock, err := credwriter.LockDir(credsDir)
	if err != nil {
		return err
	}
	defer credsLock.Close()
	st, err := store.Open(ctx, StorePath(cfg.DataDir))
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}()
	hostname := cfg.Hostname
	if hostname == "" {
		hostname, _ = os.Hostname()
	}
	n := &Node{cfg: cfg, log: log, id: id, self: record.NodeID(id.NodeID.String()), store: st, hostname: hostname, started: cfg.Now()}
	n.replica = replica.New(replica.Config{Store: st, Identity: id, Hostname: hostname, Notify: notifier{n},
		Log: log.With("component", "replica"), Now: cfg.Now})
	if err := n.replica.Load(ctx); err != nil {
		return err
	}
	// Nobody has been heard from yet.
	if err := st.MarkAllOffline(ctx); err != nil {
		return err
	}
	n.cmds = command.New(command.Config{Mesh: mesh{n}, Creds: creds{n}, Replica: n.replica, Identity: id, Hostname: hostname,
		Log: log.With("component", "command"), Now: cfg.Now})
	n.metrics = web.NewMetrics(n)
	return n.run(ctx, tickets, ready)
}

func parseTickets(ss []string) ([]identity.Ticket, error) {
	var out []identity.Ticket
	for _, s := range ss {
		t, err := identity.ParseTicket(s)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func (n *Node) run(ctx context.Context, tickets []identity.Ticket, ready func(*Node)) error {
	sup := actor.NewSupervisor(n.log.With("component", "supervisor"))
	n.reg = sup.Registry()
	if err := n.spawn(sup); err != nil {
		return err
	}
	sup.Go("notify", notifySystemd(n.log, func() {
		n.onReady(ctx, tickets)
		if ready != nil {
			ready(n)
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
	n.log.Info("node stopped", "node", n.self)
	return nil
}

// spawn builds every actor, in start order: gossip (the host), then
// anti-entropy on that host, the credential writer, sysinfo, and the
// control socket last.
func (n *Node) spawn(sup *actor.Supervisor) error {
	r := n.replica
	g := gossip.New(gossip.Config{
		Identity:     n.id,
		Members:      r,
		Sink:         gossipSink{r},
		Self:         r,
		Peers:        directory{r, n.store},
		Invites:      r,
		Events:       events{n},
		Counter:      r,
		Log:          n.log.With("component", "gossip"),
		Now:          n.cfg.Now,
		Listen:       n.cfg.Listen,
		Cluster:      n.cfg.Cluster,
		Heartbeat:    n.cfg.Heartbeat,
		MDNS:         !n.cfg.NoMDNS,
		Reachability: n.cfg.Reachability,
		Announce:     n.cfg.Announce,
		Hostname:     n.hostname,
		AgentVersion: version.String(),
		StartedAt:    n.started,
	})
	if _, err := actor.Spawn[gossip.Msg](sup, "gossip", g, 4096); err != nil {
		return err
	}
	ae := antientropy.New(antientropy.Config{
		Host:     g.Host, // anti-entropy serves its protocol on gossip's host
		Replica:  pulls{r},
		Records:  records{n.store, n.cfg.Now},
		Cursors:  records{n.store, n.cfg.Now},
		Log:      n.log.With("component", "antientropy"),
		Now:      n.cfg.Now,
		Interval: n.cfg.SyncInterval,
	})
	if _, err := actor.Spawn[antientropy.Msg](sup, "antientropy", ae, 1024); err != nil {
		return err
	}
	var runner credwriter.Runner
	if n.cfg.PlainCredentials {
		runner = credwriter.PlainFiles{}
	}
	cw := credwriter.New(credwriter.Config{
		Runner:        runner,
		Store:         n.store,
		Secrets:       r,
		Identity:      n.id,
		Publish:       r,
		Log:           n.log.With("component", "credwriter"),
		Now:           n.cfg.Now,
		Dir:           n.cfg.CredsDir,
		User:          n.cfg.CredsUser,
		Key:           n.cfg.CredsKey,
		NoAutoRestart: n.cfg.NoAutoRestart,
		OnWritten: func(name string, version uint64, removed bool) {
			n.metrics.CredentialWritten()
			if n.cfg.OnCredential != nil {
				n.cfg.OnCredential(name, version, removed)
			}
		},
		OnFailed: func(string) { n.metrics.CredentialFailed() },
	})
	if _, err := actor.Spawn[credwriter.Msg](sup, "systemd", cw, 4096); err != nil {
		return err
	}
	si := sysinfo.New(sysinfo.Config{Publisher: r, Log: n.log.With("component", "sysinfo"), Now: n.cfg.Now})
	if _, err := actor.Spawn[sysinfo.Msg](sup, "sysinfo", si, 16); err != nil {
		return err
	}
	a := &web.API{Self: web.Self{ID: n.self, Hostname: n.hostname}, Node: n, Secrets: n.cmds, Trust: n.cmds, Mesh: n.cmds,
		Replica: r, Store: n.store, Log: n.log.With("component", "api"), Login: n.LoginURL}
	apiHandler := a.Handler()
	if !n.cfg.NoWeb {
		if err := n.spawnWeb(sup, a, apiHandler); err != nil {
			return err
		}
	}
	control := &web.ControlServer{
		Path:    SocketPath(n.cfg.DataDir),
		Handler: apiHandler,
		Log:     n.log.With("component", "control"),
	}
	_, err := actor.Spawn[web.ControlMsg](sup, "control", control, 16)
	return err
}

// spawnWeb builds the web UI: the pages, the API and /metrics behind the
// guard, which asks every request, loopback included, for the token in
// web.token or a session from a login URL.
func (n *Node) spawnWeb(sup *actor.Supervisor, a *web.API, apiHandler http.Handler) error {
	token, err := web.LoadOrCreateToken(n.cfg.DataDir)
	if err != nil {
		return fmt.Errorf("web token: %w", err)
	}
	guard := web.NewGuard(n.cfg.Web, token, n.cfg.Now, webHosts(n.cfg.Web, n.hostname)...)
	n.guard = guard
	ui := &webui.UI{API: a, Guard: guard, Now: n.cfg.Now, Log: n.log.With("component", "web")}
	h, err := ui.Handler(apiHandler, n.metrics.Handler())
	if err != nil {
		return err
	}
	ws := &web.WebServer{Addr: n.cfg.Web, Handler: h, Log: n.log.With("component", "web")}
	n.web = ws
	_, err = actor.Spawn[web.WebMsg](sup, "web", ws, 16)
	return err
}

// onReady runs once every actor is up: trust the tickets given to run,
// write the ticket file, audit and log the start.
func (n *Node) onReady(ctx context.Context, tickets []identity.Ticket) {
	for _, t := range tickets {
		if _, err := n.cmds.Join(ctx, t, record.RoleAdmin, true); err != nil && !errors.Is(err, replica.ErrOwnTicket) {
			n.log.Warn("ticket given to run not added", "err", err)
		}
	}
	if n.cfg.TicketFile != "" {
		t, err := n.Ticket(ctx)
		if err == nil {
			err = os.WriteFile(n.cfg.TicketFile, []byte(t.Ticket+"\n"), 0o644)
		}
		if err != nil {
			n.log.Warn("write ticket file", "err", err)
		}
	}
	n.audit(ctx, store.EventNodeStart, "node started", map[string]any{"version": version.String()})
	n.log.Info("node ready", "node", n.self, "data_dir", n.cfg.DataDir, "version", version.String())
}

// audit records an event about this node; a failure to audit is logged,
// never fatal.
func (n *Node) audit(ctx context.Context, typ, msg string, data map[string]any) {
	e := store.Event{Type: typ, Node: string(n.self), Message: msg, Time: n.cfg.Now()}
	if data != nil {
		e.Data, _ = json.Marshal(data)
	}
	if err := n.store.AddEvent(ctx, e); err != nil && !errors.Is(err, context.Canceled) {
		n.log.Warn("audit failed", "type", typ, "err", err)
	}
}
