package p2p

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/credmesh/credmesh/internal/record"
)

// maxPubsubMessage leaves room for pubsub framing around the largest
// envelope.
const maxPubsubMessage = record.MaxEnvelope + 16<<10

// HostConfig configures the libp2p host.
type HostConfig struct {
	Key          crypto.PrivKey
	Listen       []string
	Announce     []ma.Multiaddr
	Reachability Reachability // public or private (Decide turns auto into one)
	AgentVersion string
	Gater        *Gater
	Bandwidth    *GossipBytes
	// IsMember decides who may use this node's relay (public nodes).
	IsMember func(peer.ID) bool
	// Relays lists member relays to reserve a slot on (private nodes).
	Relays autorelay.PeerSource
	// HolePunch sees every hole punch attempt and its result.
	HolePunch holepunch.EventTracer
}

// NewHost builds the libp2p host: QUIC and TCP, Noise, yamux, a connection
// manager and a gater for revoked nodes, the address policy (advertised)
// and NAT traversal between members:
//
//   - a public node serves circuit relay v2 to members only (memberACL,
//     relayResources);
//   - a private node reserves slots on member relays (cfg.Relays) and
//     advertises the relayed addresses;
//   - both upgrade a relayed connection to a direct one with DCUtR hole
//     punching when the NATs allow.
//
// Reachability is fixed, never probed: no AutoNAT, no UPnP port mapping,
// no public relay or DHT, nothing that reaches for the internet (AutoNAT's
// background goroutine could also deadlock host.Close under load). It
// announces credmesh/agentVersion as its user agent.
func NewHost(cfg HostConfig) (host.Host, error) {
	if err := CheckListenFree(cfg.Listen); err != nil {
		return nil, err
	}
	cm, err := connmgr.NewConnManager(64, 256, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, err
	}
	opts := []libp2p.Option{
		libp2p.Identity(cfg.Key),
		libp2p.ListenAddrStrings(cfg.Listen...),
		libp2p.Transport(quic.NewTransport),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.EnableRelay(),
		libp2p.AddrsFactory(advertised(cfg.Announce)),
		libp2p.DisableMetrics(),
		libp2p.ConnectionManager(cm),
		libp2p.ConnectionGater(cfg.Gater),
		libp2p.UserAgent("credmesh/" + cfg.AgentVersion),
	}
	if cfg.Bandwidth != nil {
		opts = append(opts, libp2p.BandwidthReporter(cfg.Bandwidth))
	}
	var hp []holepunch.Option
	if cfg.HolePunch != nil {
		hp = append(hp, holepunch.WithTracer(cfg.HolePunch))
	}
	opts = append(opts, libp2p.EnableHolePunching(hp...))
	switch {
	case cfg.Reachability == ReachPublic && cfg.IsMember != nil:
		opts = append(opts, libp2p.ForceReachabilityPublic(),
			libp2p.EnableRelayService(relayv2.WithResources(relayResources()), relayv2.WithACL(memberACL{cfg.IsMember})))
	case cfg.Reachability == ReachPublic:
		opts = append(opts, libp2p.ForceReachabilityPublic())
	case cfg.Relays != nil:
		opts = append(opts, libp2p.ForceReachabilityPrivate(), libp2p.EnableAutoRelayWithPeerSource(cfg.Relays,
			autorelay.WithMinCandidates(1),
			autorelay.WithNumRelays(2),
			autorelay.WithBootDelay(0),
			// A refused reservation (this node not admitted yet on the
			// relay, the relay full) is retried after relayBackoff.
			autorelay.WithBackoff(relayBackoff),
			autorelay.WithMinInterval(10*time.Second),
			autorelay.WithMaxCandidateAge(10*time.Minute)))
	default:
		opts = append(opts, libp2p.ForceReachabilityPrivate())
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("libp2p host: %w", err)
	}
	return h, nil
}

// relayBackoff is how long autorelay leaves a relay alone after it
// refused a reservation. A node joining a mesh asks its ticket's node for
// a slot before that node has admitted it, so the refusal is expected and
// the retry should not wait long; a retry is one stream to a member.
const relayBackoff = 10 * time.Second

// messageID identifies a pubsub message by its content (our envelopes are
// signed and deterministic, so equal bytes are the same message): 20 raw
// bytes of its SHA-256, which keeps IHAVE/IWANT gossip small.
func messageID(m *pb.Message) string {
	sum := sha256.Sum256(m.Data)
	return string(sum[:20])
}

// gossipParams keeps the mesh small and quiet. Own messages are
// flood-published to every member directly; the mesh then only repairs
// what a missing link lost, so a low degree cuts duplicate deliveries
// (and their bytes and CPU) without slowing delivery. Degree 3 (not 2)
// keeps the mesh one connected graph: a random graph of degree 2 falls
// into separate rings. Dout is 0: GossipSub refuses 1 beside D = 3.
// There is no IHAVE gossip (Dlazy 0, GossipFactor 0): with every member
// flood-published to and a mesh behind it, gossip only repeated what had
// arrived, at a message and its acknowledgement to two peers every
// heartbeat on every node. The heartbeat (mesh upkeep) runs every 3 s,
// not every second. Anti-entropy is the safety net under all of it.
// Measured at 30 idle processes (docs/benchmarks.md, issue 15).
func gossipParams() pubsub.GossipSubParams {
	p := pubsub.DefaultGossipSubParams()
	p.D, p.Dlo, p.Dhi, p.Dscore, p.Dout, p.Dlazy = 3, 2, 4, 1, 0, 0
	p.GossipFactor = 0
	p.HeartbeatInterval = 3 * time.Second
	return p
}

// scoreInspectEvery is how often pubsub hands over every peer's score
// (shown by `peers show`); each call scores every peer, so not every
// second.
const scoreInspectEvery = 5 * time.Second

// Application scores: members are neutral, everyone else sits far below
// the graylist threshold, so they are never published to, gossiped with
// or listened to. GraylistThreshold is exported for the RPC inspector,
// which counts what a graylisted peer sends.
const (
	scoreStranger     = -10000
	gossipThreshold   = -100
	publishThreshold  = -500
	GraylistThreshold = -1000
)

// NewPubSub starts GossipSub for the host: our own envelope signatures
// (pubsub's are off), content message IDs, peer scoring with invalid
// messages penalised, and only members in the mesh.
func NewPubSub(ctx context.Context, h host.Host, topic string, isMember func(peer.ID) bool, inspect func(map[peer.ID]float64),
	tr pubsub.RawTracer, rpcs func(peer.ID, *pubsub.RPC) error) (*pubsub.PubSub, error) {
	scoreParams := &pubsub.PeerScoreParams{
		SkipAtomicValidation: true,
		AppSpecificScore: func(p peer.ID) float64 {
			if isMember(p) {
				return 0
			}
			return scoreStranger
		},
		AppSpecificWeight: 1,
		DecayInterval:     time.Second,
		DecayToZero:       0.01,
		RetainScore:       10 * time.Minute,
		Topics: map[string]*pubsub.TopicScoreParams{
			topic: {
				SkipAtomicValidation:           true,
				TopicWeight:                    1,
				InvalidMessageDeliveriesWeight: -100,
				InvalidMessageDeliveriesDecay:  0.99,
				// Unused (weight 0) but divided by or decayed with.
				TimeInMeshQuantum:           time.Second,
				FirstMessageDeliveriesDecay: 0.5,
				MeshMessageDeliveriesDecay:  0.5,
				MeshFailurePenaltyDecay:     0.5,
			},
		},
		TopicScoreCap: math.MaxFloat32,
	}
	thresholds := &pubsub.PeerScoreThresholds{
		GossipThreshold:   gossipThreshold,
		PublishThreshold:  publishThreshold,
		GraylistThreshold: GraylistThreshold,
		AcceptPXThreshold: 10,
	}
	opts := []pubsub.Option{
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(messageID),
		pubsub.WithMaxMessageSize(maxPubsubMessage),
		pubsub.WithPeerScore(scoreParams, thresholds),
		pubsub.WithPeerFilter(func(p peer.ID, t string) bool { return t == topic && isMember(p) }),
		pubsub.WithPeerExchange(false),
		pubsub.WithFloodPublish(true),
		pubsub.WithGossipSubParams(gossipParams()),
		pubsub.WithValidateQueueSize(1024),
		pubsub.WithRawTracer(tr),
		pubsub.WithAppSpecificRpcInspector(rpcs),
	}
	if inspect != nil {
		opts = append(opts, pubsub.WithPeerScoreInspect(inspect, scoreInspectEvery))
	}
	ps, err := pubsub.NewGossipSub(ctx, h, opts...)
	if err != nil {
		return nil, fmt.Errorf("gossipsub: %w", err)
	}
	return ps, nil
}
