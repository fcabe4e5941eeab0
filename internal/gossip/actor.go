package gossip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/gossip/dialer"
	"github.com/credmesh/credmesh/internal/gossip/p2p"
	"github.com/credmesh/credmesh/internal/identity"
	"github.com/credmesh/credmesh/internal/record"
)

// tickInterval paces liveness checks, heartbeats and redials. Each tick
// walks every member; at 250 ms the ticks were a sixth of an idle node's
// CPU. At 1 s a heartbeat goes out up to a second late (offline detection
// allows for it) and a revoked peer is hung up on within a second.
const tickInterval = time.Second

// Gossip is the GossipActor. Build it with New, spawn it, and reach it
// through its Ref.
type Gossip struct {
	cfg  Config
	log  *slog.Logger
	self record.NodeID
	ref  actor.Ref[Msg]

	h     host.Host
	ps    *pubsub.PubSub
	topic *pubsub.Topic
	sub   *pubsub.Subscription
	bwc   *p2p.GossipBytes
	mdns  mdns.Service
	// psCancel ends pubsub; it lives until PostStop so that the leaving
	// message can still go out after the run context ended.
	psCancel context.CancelFunc

	scoresMu sync.Mutex
	scores   map[peer.ID]float64

	startsMu sync.Mutex
	starts   map[peer.ID]time.Time // the start time each peer's last hello gave

	reach   p2p.Reachability // public or private, decided at start
	punch   *p2p.Punches
	idCache atomic.Pointer[p2p.MemberIDs]
	// peerstore is the host's, for autorelay's goroutine, which may ask
	// for relays before NewHost has returned.
	peerstore atomic.Value
	addrSub   event.Subscription

	// State owned by the actor goroutine.
	live          map[record.NodeID]*liveness
	dialer        *dialer.Dialer
	nextHeartbeat time.Time
	lastFlush     time.Time
	lastMembers   *record.Members       // membership at the last tick
	noticed       map[peer.ID]time.Time // when each revoked peer was last told
	workers       sync.WaitGroup        // hello exchanges and dials in flight
}

var (
	_ actor.Actor[Msg]  = (*Gossip)(nil)
	_ actor.Runner      = (*Gossip)(nil)
	_ actor.Binder[Msg] = (*Gossip)(nil)
)

// New returns a GossipActor for cfg (defaults applied). It starts nothing.
func New(cfg Config) *Gossip {
	cfg = cfg.WithDefaults()
	return &Gossip{cfg: cfg, log: cfg.Log}
}

// Bind implements actor.Binder.
func (g *Gossip) Bind(ref actor.Ref[Msg]) { g.ref = ref }

// Host returns the libp2p host (after PreStart), for antientropy, which
// serves its stream protocol on the same host.
func (g *Gossip) Host() host.Host { return g.h }

// ticket returns this node's ticket with the addresses it listens on.
func (g *Gossip) ticket() identity.Ticket {
	return identity.NewTicket(g.cfg.Identity, g.h.Addrs())
}

// Scores returns the last GossipSub peer scores (for tests and metrics).
func (g *Gossip) Scores() map[peer.ID]float64 {
	g.scoresMu.Lock()
	defer g.scoresMu.Unlock()
	out := make(map[peer.ID]float64, len(g.scores))
	for k, v := range g.scores {
		out[k] = v
	}
	return out
}

// scoreOf returns a node's last GossipSub score, when it is known.
func (g *Gossip) scoreOf(id record.NodeID) (float64, bool) {
	p, err := peer.Decode(string(id))
	if err != nil {
		return 0, false
	}
	g.scoresMu.Lock()
	defer g.scoresMu.Unlock()
	sc, ok := g.scores[p]
	return sc, ok
}

func (g *Gossip) now() time.Time { return g.cfg.Now() }

// PreStart builds the host and pubsub, joins the topic, installs the
// validator and the stream handlers, has this node's node record stored
// (Self.Announce) and starts mDNS.
func (g *Gossip) PreStart(ctx context.Context) error {
	var err error
	if err = g.cfg.Validate(); err != nil {
		return err
	}
	g.self = record.NodeID(g.cfg.Identity.NodeID.String())
	g.live = map[record.NodeID]*liveness{}
	g.noticed = map[peer.ID]time.Time{}
	g.starts = map[peer.ID]time.Time{}
	g.bwc = &p2p.GossipBytes{}
	members := g.cfg.Members
	if g.reach, err = g.decideReach(); err != nil {
		return err
	}
	announce, _ := p2p.ParseAnnounce(g.cfg.Announce) // checked by Validate
	g.punch = p2p.NewPunches(g.log.Debug)
	h, err := p2p.NewHost(p2p.HostConfig{
		Key:          g.cfg.Identity.LibP2PKey(),
		Listen:       g.cfg.Listen,
		Announce:     announce,
		Reachability: g.reach,
		AgentVersion: g.cfg.AgentVersion,
		Gater: &p2p.Gater{IsRevoked: func(p peer.ID) bool {
			return members.Members().IsRevoked(record.NodeID(p.String()))
		}},
		Bandwidth: g.bwc,
		IsMember:  g.isMember,
		Relays:    g.relaySource,
		HolePunch: g.punch,
	})
	if err != nil {
		return err
	}
	g.h = h
	g.peerstore.Store(h.Peerstore())
	g.dialer = dialer.New(dialer.Config{
		Host:       h,
		KnownAddrs: g.cfg.Peers.KnownAddrs,
		Done:       func(p peer.ID, err error) { _ = g.ref.Cast(dialDone{p: p, err: err}) },
		Now:        g.now,
		Log:        g.log,
		Workers:    &g.workers,
	})
	ok := false
	defer func() {
		if !ok {
			if g.psCancel != nil {
				g.psCancel()
			}
			h.Close()
		}
	}()
	topicName := Topic(g.cfg.Cluster)
	psCtx, psCancel := context.WithCancel(context.Background())
	g.psCancel = psCancel
	g.ps, err = p2p.NewPubSub(psCtx, h, topicName, g.isMember, func(s map[peer.ID]float64) {
		g.scoresMu.Lock()
		g.scores = s
		g.scoresMu.Unlock()
	}, p2p.Tracer{C: g.cfg.Counter}, g.inspectRPC)
	if err != nil {
		return err
	}
	if err := g.ps.RegisterTopicValidator(topicName, g.validate, pubsub.WithValidatorInline(true)); err != nil {
		return fmt.Errorf("register validator: %w", err)
	}
	if g.topic, err = g.ps.Join(topicName); err != nil {
		return fmt.Errorf("join %s: %w", topicName, err)
	}
	if g.sub, err = g.topic.Subscribe(pubsub.WithBufferSize(4096)); err != nil {
		return fmt.Errorf("subscribe %s: %w", topicName, err)
	}
	h.SetStreamHandler(helloProtocol, g.handleHello)
	h.SetStreamHandler(inviteProtocol, g.handleClaim)
	h.SetStreamHandler(revokedProtocol, g.handleRevoked)
	h.SetStreamHandler(syncReqProtocol, g.handleSyncRequest)
	h.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			_ = g.ref.Cast(connected{p: c.RemotePeer(), inbound: c.Stat().Direction == network.DirInbound})
		},
		DisconnectedF: func(n network.Network, c network.Conn) {
			if n.Connectedness(c.RemotePeer()) != network.Connected {
				_ = g.ref.Cast(disconnected{p: c.RemotePeer()})
			}
		},
	})
	if _, err := g.cfg.Self.Announce(ctx, g.nodeRecord()); err != nil {
		return fmt.Errorf("store this node's node record: %w", err)
	}
	if g.addrSub, err = h.EventBus().Subscribe(new(event.EvtLocalAddressesUpdated)); err != nil {
		return fmt.Errorf("watch addresses: %w", err)
	}
	g.workers.Add(1)
	go g.watchAddrs(g.addrSub)
	if g.cfg.MDNS {
		g.mdns = mdns.NewMdnsService(h, "credmesh-"+g.cfg.Cluster, mdnsNotifee{g})
		if err := g.mdns.Start(); err != nil {
			// A machine without multicast still works through tickets.
			g.log.Warn("mDNS discovery unavailable", "err", err)
			g.mdns = nil
		}
	}
	g.nextHeartbeat = g.now() // announce ourselves at once
	ok = true
	g.log.Info("gossip listening", "node", g.self, "addrs", fmt.Sprint(h.Addrs()), "topic", topicName, "reachability", string(g.reach))
	return nil
}

// Run runs the receiver and the ticker until ctx ends.
func (g *Gossip) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- g.receive(ctx) }()
	t := time.NewTicker(tickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			<-errc
			return nil
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("receiver: %w", err)
		case <-t.C:
			_ = g.ref.Cast(tick{}) // a full mailbox just skips a tick
		}
	}
}

// Handle handles one message.
func (g *Gossip) Handle(ctx context.Context, m Msg) error {
	switch m := m.(type) {
	case Publish:
		g.publish(ctx, m.Raw)
	case SendSyncRequest:
		g.sendSyncRequest(ctx, m)
	case Dial:
		g.dial(ctx, m.Ticket)
	case Redial:
		g.redial(m.Nodes)
	case GetTicket:
		m.Reply <- g.ticket()
	case GetScore:
		sc, ok := g.scoreOf(m.Node)
		m.Reply <- Score{Score: sc, Known: ok}
	case claimed:
		m.reply <- g.cfg.Invites.Claim(ctx, m.claimant, m.token, m.addrs)
	case claimDone:
		g.onClaimDone(ctx, m.inviter, m.err)
	case Stats:
		m.Reply <- g.stats()
	case tick:
		g.onTick(ctx)
	case heard:
		g.onHeard(ctx, m.id, m.hb)
	case left:
		g.onLeft(ctx, m.id)
	case connected:
		g.onConnected(ctx, m.p, m.inbound)
	case disconnected:
		g.onDisconnected(m.p)
	case dialDone:
		g.dialer.Done(m.p, m.err)
	case found:
		g.onFound(m.info)
	case addrsChanged:
		g.onAddrsChanged(ctx)
	default:
		return fmt.Errorf("unexpected message %T", m)
	}
	return nil
}

// PostStop says goodbye, saves liveness and closes the host.
func (g *Gossip) PostStop(ctx context.Context) error {
	if g.h == nil {
		return nil
	}
	var errs []error
	if g.topic != nil {
		lctx, cancel := context.WithTimeout(ctx, time.Second)
		if err := g.publishEphemeral(lctx, record.KindLeaving, record.Leaving{}.Encode()); err != nil && !errors.Is(err, context.Canceled) {
			g.log.Debug("leaving not sent", "err", err)
		}
		// The pubsub writer sends asynchronously; give it a moment to
		// flush before the host goes away.
		select {
		case <-time.After(150 * time.Millisecond):
		case <-lctx.Done():
		}
		cancel()
	}
	g.flushLiveness(ctx, true)
	if g.mdns != nil {
		errs = append(errs, g.mdns.Close())
	}
	if g.sub != nil {
		g.sub.Cancel()
	}
	if g.addrSub != nil {
		errs = append(errs, g.addrSub.Close())
	}
	g.psCancel()
	errs = append(errs, g.h.Close())
	done := make(chan struct{})
	go func() { g.workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, errors.New("gossip workers still running"))
	}
	return errors.Join(errs...)
}

// jitter spreads d by ±10%.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}

type mdnsNotifee struct{ g *Gossip }

func (n mdnsNotifee) HandlePeerFound(info peer.AddrInfo) {
	if info.ID != n.g.h.ID() {
		_ = n.g.ref.Cast(found{info: info})
	}
}
