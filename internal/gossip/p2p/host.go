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
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/credmesh/credmesh/internal/record"
)

// maxPubsubMessage leaves room for pubsub framing around the largest
// envelope.
const maxPubsubMessage = record.MaxEnvelope + 16<<10

// NewHost builds the libp2p host: QUIC and TCP, Noise, yamux, no relay,
// no NAT port mapping and no AutoNAT probing (nothing that reaches for the
// internet; reachability is fixed as private, which also keeps AutoNAT's
// background goroutine, which can deadlock host.Close under load, out),
// a connection manager and a gater for revoked nodes.
// It listens on listen with key as its identity and announces
// credmesh/agentVersion as its user agent.
func NewHost(key crypto.PrivKey, listen []string, agentVersion string, gater *Gater, bwc *metrics.BandwidthCounter) (host.Host, error) {
	if err := CheckListenFree(listen); err != nil {
		return nil, err
	}
	cm, err := connmgr.NewConnManager(64, 256, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, err
	}
	h, err := libp2p.New(
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(listen...),
		libp2p.Transport(quic.NewTransport),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableRelay(),
		libp2p.ForceReachabilityPrivate(),
		libp2p.DisableMetrics(),
		libp2p.ConnectionManager(cm),
		libp2p.ConnectionGater(gater),
		libp2p.BandwidthReporter(bwc),
		libp2p.UserAgent("credmesh/"+agentVersion),
	)
	if err != nil {
		return nil, fmt.Errorf("libp2p host: %w", err)
	}
	return h, nil
}

// messageID identifies a pubsub message by its content (our envelopes are
// signed and deterministic, so equal bytes are the same message): 20 raw
// bytes of its SHA-256, which keeps IHAVE/IWANT gossip small.
func messageID(m *pb.Message) string {
	sum := sha256.Sum256(m.Data)
	return string(sum[:20])
}

// gossipParams keeps the mesh small. Own messages are flood-published to
// every member directly; the mesh then only repairs what a missing link
// lost, so a low degree cuts duplicate deliveries (and their bytes and
// CPU) without slowing delivery. IHAVE gossip goes to Dlazy peers only
// (GossipFactor 0), not to a quarter of all peers, so its bytes do not grow
// with the cluster.
func gossipParams() pubsub.GossipSubParams {
	p := pubsub.DefaultGossipSubParams()
	p.D, p.Dlo, p.Dhi, p.Dscore, p.Dout, p.Dlazy = 4, 3, 6, 2, 1, 3
	p.GossipFactor = 0
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
