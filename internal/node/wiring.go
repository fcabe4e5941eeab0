package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/antientropy"
	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/command"
	"github.com/credmesh/credmesh/internal/credwriter"
	"github.com/credmesh/credmesh/internal/gossip"
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
	"github.com/credmesh/credmesh/internal/replica"
	"github.com/credmesh/credmesh/internal/store"
	"github.com/credmesh/credmesh/internal/web"
)

// The node wires the interfaces the lower layers declare. Each adapter
// below only forwards: to the replica, to the store, or to an actor found
// in the registry by name.
var (
	_ replica.Notifier    = notifier{}
	_ gossip.Sink         = gossipSink{}
	_ gossip.Directory    = directory{}
	_ gossip.Events       = events{}
	_ antientropy.Replica = pulls{}
	_ antientropy.Log     = records{}
	_ antientropy.Cursors = records{}
	_ command.Mesh        = mesh{}
	_ command.Creds       = creds{}
	_ web.Node            = (*Node)(nil)
)

func (n *Node) gossipRef() (actor.Ref[gossip.Msg], error) {
	return actor.Lookup[gossip.Msg](n.reg, "gossip")
}

func (n *Node) credRef() (actor.Ref[credwriter.Msg], error) {
	return actor.Lookup[credwriter.Msg](n.reg, "systemd")
}

// notifier tells the actors about records the replica stored: this
// node's own go out on gossip, a secret version for this node and any
// membership change go to the credential writer.
type notifier struct{ n *Node }

func (w notifier) Stored(recs []*record.Record, src replica.Source) {
	n := w.n
	if src.Via == replica.Mine {
		raws := make([][]byte, len(recs))
		for i, r := range recs {
			raws[i] = r.Raw()
		}
		err := errors.New("no gossip actor")
		if g, lerr := n.gossipRef(); lerr == nil {
			err = g.Cast(gossip.Publish{Raw: raws})
		}
		if err != nil {
			n.log.Warn("publish not queued; anti-entropy will deliver", "err", err)
		}
	}
	n.redial(recs)
	cw, err := n.credRef()
	membership := false
	for _, r := range recs {
		n.log.Debug("record stored", "kind", r.Kind, "author", r.AuthorID(), "record", r.ID().Short())
		membership = membership || r.Kind == record.KindAdmit || r.Kind == record.KindRevoke
		// However a version for this node arrived, the credential writer
		// hears of it the same way.
		if s, ok := r.Body.(record.Secret); ok && s.TargetID() == n.self {
			if err == nil {
				err = cw.Cast(credwriter.SyncSecret{Name: s.Name, Version: s.Version})
			}
			if err != nil {
				n.log.Warn("credential writer not told; the next sync will catch up", "secret", s.Name, "err", err)
			}
		}
	}
	if membership {
		// Who counts may have changed, and with it the current version of
		// this node's secrets: the writer checks them all (it writes only
		// what changed).
		if err == nil {
			err = cw.Cast(credwriter.SyncAll{Reason: "membership changed"})
		}
		if err != nil {
			n.log.Warn("credential writer not told; the next sync will catch up", "err", err)
		}
	}
	if n.cfg.Observe != nil {
		n.cfg.Observe(recs)
	}
	now := n.cfg.Now()
	for _, r := range recs {
		if r.AuthorID() != n.self {
			n.metrics.ObserveDelivery(now.Sub(r.Time))
		}
	}
}

// redial has gossip dial soon the members whose node records arrived:
// they may be reachable now where they were not (a relay slot gained).
func (n *Node) redial(recs []*record.Record) {
	var nodes []record.NodeID
	for _, r := range recs {
		if r.Kind == record.KindNode && r.AuthorID() != n.self {
			nodes = append(nodes, r.AuthorID())
		}
	}
	if len(nodes) == 0 {
		return
	}
	if g, err := n.gossipRef(); err == nil {
		_ = g.Cast(gossip.Redial{Nodes: nodes}) // else the dial scan gets there
	}
}

// gossipSink hands what gossip receives to the replica, naming where it
// came from.
type gossipSink struct{ r *replica.Replica }

func source(ch gossip.Channel, from record.NodeID) replica.Source {
	via := map[gossip.Channel]replica.Via{gossip.ViaTopic: replica.Gossip, gossip.ViaHello: replica.Hello,
		gossip.ViaNotice: replica.Notice, gossip.ViaSyncRequest: replica.SyncRequest}[ch]
	return replica.Source{Via: via, Peer: from}
}

func (s gossipSink) Check(ctx context.Context, env *record.Envelope, from record.NodeID) (*record.Record, error) {
	return s.r.Check(ctx, env, source(gossip.ViaTopic, from))
}

func (s gossipSink) Received(ctx context.Context, envs []*record.Envelope, ch gossip.Channel, from record.NodeID) {
	if _, err := s.r.Apply(ctx, envs, source(ch, from)); err != nil && ctx.Err() == nil {
		s.r.Log().Warn("storing received records failed; anti-entropy will retry", "err", err)
	}
}

func (s gossipSink) Hello(ctx context.Context, env *record.Envelope, n record.Node, remote, src string) (bool, error) {
	return s.r.Hello(ctx, env, n, remote, src)
}

func (s gossipSink) Refused(ctx context.Context, rf gossip.Refusal) {
	s.r.Refuse(ctx, rejection(rf.Env, rf.Reason, rf.Detail, source(rf.Channel, rf.From)))
}

func rejection(env *record.Envelope, reason record.Reason, detail string, src replica.Source) replica.Rejection {
	r := replica.Rejection{Reason: reason, Detail: detail, From: src}
	if env != nil {
		r.Kind, r.Author, r.ID = env.Kind, env.AuthorID(), env.ID().String()
	}
	return r
}

// directory is what gossip reads and saves about other nodes.
type directory struct {
	r  *replica.Replica
	st *store.Store
}

func (d directory) KnownAddrs(ctx context.Context, id record.NodeID) []string {
	return d.r.KnownAddrs(ctx, id)
}

func (d directory) LatestSeq(ctx context.Context, id record.NodeID) (uint64, error) {
	return d.st.LatestSeq(ctx, id)
}

func (d directory) SaveLiveness(ctx context.Context, ls []gossip.Liveness) error {
	out := make([]store.Liveness, len(ls))
	for i, l := range ls {
		out[i] = store.Liveness(l)
	}
	return d.st.SetLiveness(ctx, d.r.Now(), out)
}

func (d directory) Records(ctx context.Context, ids []record.ID) ([][]byte, error) {
	return d.st.RawByIDs(ctx, ids)
}

// events forwards what happened on the mesh: a pull to anti-entropy, a
// sync request to the commands (which audit it and tell the writer).
type events struct{ n *Node }

// Pull asks anti-entropy to pull from peer. A revoked node pulls from
// nobody (every member refuses it).
func (e events) Pull(peer record.NodeID) {
	if e.n.replica.Members().IsRevoked(e.n.self) {
		return
	}
	ae, err := actor.Lookup[antientropy.Msg](e.n.reg, "antientropy")
	if err == nil {
		err = ae.Cast(antientropy.Pull{Peer: peer})
	}
	if err != nil {
		e.n.log.Debug("pull not queued", "node", peer, "err", err)
	}
}

func (e events) SyncRequested(from record.NodeID) { e.n.cmds.SyncRequested(from) }

// pulls hands what anti-entropy pulls to the replica.
type pulls struct{ r *replica.Replica }

func (p pulls) Members() *record.Members { return p.r.Members() }

func (p pulls) Pulled(ctx context.Context, envs []*record.Envelope, peer record.NodeID) (int, error) {
	outs, err := p.r.Apply(ctx, envs, replica.Source{Via: replica.AntiEntropy, Peer: peer})
	n := 0
	for _, o := range outs {
		if o.Accepted() {
			n++
		}
	}
	return n, err
}

func (p pulls) Refused(ctx context.Context, rf antientropy.Refusal) {
	p.r.Refuse(ctx, rejection(rf.Env, rf.Reason, rf.Detail, replica.Source{Via: replica.AntiEntropy, Peer: rf.Peer}))
}

func (p pulls) SyncRefused(ctx context.Context, peer record.NodeID) { p.r.SyncRefused(ctx, peer) }

// records is the store's record log and cursors, for anti-entropy.
type records struct {
	st  *store.Store
	now func() time.Time
}

func (l records) IndexID(ctx context.Context) ([]byte, error) { return l.st.IndexID(ctx) }

func (l records) Since(ctx context.Context, since uint64, limit int) (antientropy.Page, error) {
	p, err := l.st.LogSince(ctx, since, limit)
	return antientropy.Page(p), err
}

func (l records) Raw(ctx context.Context, ids []record.ID) ([][]byte, error) {
	return l.st.RawByIDs(ctx, ids)
}

func (l records) Missing(ctx context.Context, ids []record.ID) ([]record.ID, error) {
	return l.st.Missing(ctx, ids)
}

func (l records) Cursor(ctx context.Context, peer record.NodeID) ([]byte, uint64, error) {
	return l.st.Cursor(ctx, peer)
}

func (l records) SetCursor(ctx context.Context, peer record.NodeID, indexID []byte, seq uint64) error {
	return l.st.SetCursor(ctx, l.now(), peer, indexID, seq)
}

// mesh is what the commands need of the GossipActor.
type mesh struct{ n *Node }

func (m mesh) Ticket(ctx context.Context) (identity.Ticket, error) {
	g, err := m.n.gossipRef()
	if err != nil {
		return identity.Ticket{}, err
	}
	return actor.Call(ctx, g, func(reply chan<- identity.Ticket) gossip.Msg { return gossip.GetTicket{Reply: reply} })
}

func (m mesh) Dial(t identity.Ticket) error {
	g, err := m.n.gossipRef()
	if err != nil {
		return err
	}
	return g.Cast(gossip.Dial{Ticket: t})
}

func (m mesh) SyncRequest(ctx context.Context, target record.NodeID) error {
	g, err := m.n.gossipRef()
	if err != nil {
		return err
	}
	err = actor.Call2(ctx, g, func(reply chan<- error) gossip.Msg {
		return gossip.SendSyncRequest{Target: target, Reply: reply}
	})
	if errors.Is(err, gossip.ErrUndelivered) {
		return undelivered{err}
	}
	return err
}

// undelivered is gossip's ErrUndelivered as the commands know it.
type undelivered struct{ error }

func (u undelivered) Is(target error) bool { return target == command.ErrUndelivered }
func (u undelivered) Unwrap() error        { return u.error }

// creds is what the commands need of the credential writer.
type creds struct{ n *Node }

func (c creds) SyncAll(force bool, reason string) error {
	cw, err := c.n.credRef()
	if err != nil {
		return err
	}
	return cw.Cast(credwriter.SyncAll{Force: force, Reason: reason})
}

// LoginURL returns a one-time login URL for the web UI, valid for ttl
// (web.LoginCodeTTL when 0).
func (n *Node) LoginURL(ttl time.Duration) (api.LoginURL, error) {
	if n.web == nil || n.guard == nil {
		return api.LoginURL{}, fmt.Errorf("%w: the web UI is off (run without --no-web)", api.ErrNotFound)
	}
	if ttl <= 0 {
		ttl = web.LoginCodeTTL
	}
	code, exp := n.guard.LoginCode(ttl)
	return api.LoginURL{URL: n.web.URL() + "/login?code=" + code, Expires: exp.UTC()}, nil
}

// WebURL returns the web UI's base URL ("" when it is off).
func (n *Node) WebURL() string {
	if n.web == nil {
		return ""
	}
	return n.web.URL()
}

// ID returns this node's ID.
func (n *Node) ID() record.NodeID { return n.self }

// Commands returns the operator's commands on this node (benchmarks).
func (n *Node) Commands() *command.Commands { return n.cmds }

// Replica returns this node's replicated state (benchmarks).
func (n *Node) Replica() *replica.Replica { return n.replica }
