package gossip

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/credmesh/credmesh/internal/record"
)

// liveness is what the actor knows of one member's heartbeats.
type liveness struct {
	lastHeard time.Time
	interval  time.Duration // the member's announced heartbeat interval
	online    bool
	dirty     bool // lastHeard not yet saved
	// have is the member's latest sequence this node held when last
	// looked up: a heartbeat announcing no more needs no store query.
	have uint64
}

// heartbeatInterval scales the base interval with the square root of the
// member count beyond 10, so the heartbeat bytes each node receives grow
// with the square root of the cluster, not linearly (Consul scales its
// anti-entropy the same way).
func (g *Gossip) heartbeatInterval() time.Duration {
	return scaledInterval(g.cfg.Heartbeat, g.cfg.Members.Members().Len())
}

func scaledInterval(base time.Duration, members int) time.Duration {
	scale := math.Max(1, math.Sqrt(float64(members)/10))
	return time.Duration(float64(base) * scale)
}

func (g *Gossip) onTick(ctx context.Context) {
	now := g.now()
	if !now.Before(g.nextHeartbeat) {
		g.sendHeartbeat(ctx)
		g.nextHeartbeat = now.Add(jitter(g.heartbeatInterval()))
	}
	g.checkLiveness(ctx, now)
	g.membershipChanged(ctx)
	g.dialDue(ctx, now)
	g.dialer.CloseSpare(now)
	// Last-seen times are saved once per heartbeat interval (online and
	// offline changes at once).
	if now.Sub(g.lastFlush) >= g.cfg.Heartbeat {
		g.flushLiveness(ctx, false)
	}
}

// membershipChanged greets again every connected node that became a
// member since the last tick (through a ticket, an admit received by
// gossip or anti-entropy): the hello makes both sides pull from each
// other, so the newcomer gets what it could not receive before.
func (g *Gossip) membershipChanged(ctx context.Context) {
	m := g.cfg.Members.Members()
	prev := g.lastMembers
	g.lastMembers = m
	if prev == m {
		return
	}
	if r, ok := m.Revocation(g.self); ok && (prev == nil || !prev.IsRevoked(g.self)) {
		g.log.Warn("this node was revoked: the mesh refuses its records and connections, and it refuses every write",
			"by", fmt.Sprint(r.By), "at", r.At.UTC().Format(time.RFC3339), "reason", r.Reason)
	}
	if prev == nil {
		return
	}
	g.dropRevoked()
	for _, id := range m.List() {
		if id == g.self || prev.IsMember(id) {
			continue
		}
		p, err := peer.Decode(string(id))
		if err != nil || !g.connectedTo(p) {
			continue
		}
		g.startHello(ctx, p)
	}
}

func (g *Gossip) sendHeartbeat(ctx context.Context) {
	if g.cfg.Members.Members().IsRevoked(g.self) {
		return // nobody listens
	}
	latest, err := g.cfg.Peers.LatestSeq(ctx, g.self)
	if err != nil {
		g.log.Warn("heartbeat: read latest sequence", "err", err)
		return
	}
	hb := record.Heartbeat{LatestSeq: latest, Interval: g.heartbeatInterval()}
	if err := g.publishEphemeral(ctx, record.KindHeartbeat, hb.Encode()); err != nil && ctx.Err() == nil {
		g.log.Debug("heartbeat not sent", "err", err)
	}
}

// onHeard notes that a member is alive; hb is nil when it was heard
// another way (a hello). A heartbeat showing records this node lacks asks
// for anti-entropy with the sender.
func (g *Gossip) onHeard(ctx context.Context, id record.NodeID, hb *record.Heartbeat) {
	if id == g.self || !g.cfg.Members.Members().IsMember(id) {
		return
	}
	l := g.live[id]
	if l == nil {
		l = &liveness{interval: g.cfg.Heartbeat}
		g.live[id] = l
	}
	l.lastHeard, l.dirty = g.now(), true
	if hb != nil {
		l.interval = hb.Interval
	}
	if !l.online {
		l.online = true
		g.log.Info("member online", "node", id)
		g.saveLiveness(ctx, id, l)
	}
	if hb != nil && hb.LatestSeq > l.have {
		have, err := g.cfg.Peers.LatestSeq(ctx, id)
		if err != nil {
			return
		}
		l.have = have
		if hb.LatestSeq > have {
			g.log.Debug("member has records we lack", "node", id, "their_seq", hb.LatestSeq, "have", have)
			g.cfg.Events.Pull(id)
		}
	}
}

// onLeft marks a member that said goodbye offline at once.
func (g *Gossip) onLeft(ctx context.Context, id record.NodeID) {
	l := g.live[id]
	if l == nil || !l.online {
		return
	}
	l.online, l.lastHeard = false, g.now()
	g.log.Info("member left", "node", id)
	g.saveLiveness(ctx, id, l)
}

// checkLiveness marks members offline after MissedHeartbeats silent
// intervals.
func (g *Gossip) checkLiveness(ctx context.Context, now time.Time) {
	for id, l := range g.live {
		if l.online && now.Sub(l.lastHeard) > time.Duration(MissedHeartbeats)*l.interval+tickInterval {
			l.online = false
			g.log.Info("member offline", "node", id, "last_seen", l.lastHeard.UTC().Format(time.RFC3339))
			g.saveLiveness(ctx, id, l)
		}
	}
}

func (g *Gossip) saveLiveness(ctx context.Context, id record.NodeID, l *liveness) {
	err := g.cfg.Peers.SaveLiveness(ctx, []Liveness{{NodeID: id, LastSeen: l.lastHeard, Online: l.online}})
	if err != nil && ctx.Err() == nil {
		g.log.Warn("save liveness", "err", err)
	}
	l.dirty = false
}

// flushLiveness saves last-seen times (all of them when final).
func (g *Gossip) flushLiveness(ctx context.Context, final bool) {
	var ls []Liveness
	for id, l := range g.live {
		if l.dirty || final {
			ls = append(ls, Liveness{NodeID: id, LastSeen: l.lastHeard, Online: l.online && !final})
			l.dirty = false
		}
	}
	g.lastFlush = g.now()
	if err := g.cfg.Peers.SaveLiveness(ctx, ls); err != nil && ctx.Err() == nil {
		g.log.Warn("save liveness", "err", err)
	}
}
