package p2p

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// GossipBytes counts the bytes of GossipSub streams (protocols /meshsub/…),
// in and out, for status and the bench. It is the host's bandwidth
// reporter in place of libp2p's BandwidthCounter, which keeps a rate
// meter per peer and per protocol and recomputes them all every second,
// for as long as anything moves: a wake-up a second on an idle node, for
// rates nothing here shows. Counting is a prefix check and one atomic add
// per stream read or write.
type GossipBytes struct {
	in, out atomic.Int64
}

var _ metrics.Reporter = (*GossipBytes)(nil)

// Totals returns the GossipSub bytes received and sent so far.
func (b *GossipBytes) Totals() (in, out int64) { return b.in.Load(), b.out.Load() }

func isGossip(p protocol.ID) bool { return strings.HasPrefix(string(p), "/meshsub/") }

// LogRecvMessageStream counts n bytes read from a stream of protocol p.
func (b *GossipBytes) LogRecvMessageStream(n int64, p protocol.ID, _ peer.ID) {
	if isGossip(p) {
		b.in.Add(n)
	}
}

// LogSentMessageStream counts n bytes written to a stream of protocol p.
func (b *GossipBytes) LogSentMessageStream(n int64, p protocol.ID, _ peer.ID) {
	if isGossip(p) {
		b.out.Add(n)
	}
}

// The rest of metrics.Reporter: nothing is kept per peer or in total.

func (b *GossipBytes) LogSentMessage(int64) {}
func (b *GossipBytes) LogRecvMessage(int64) {}

func (b *GossipBytes) GetBandwidthForPeer(peer.ID) metrics.Stats { return metrics.Stats{} }

func (b *GossipBytes) GetBandwidthForProtocol(p protocol.ID) metrics.Stats {
	if !isGossip(p) {
		return metrics.Stats{}
	}
	in, out := b.Totals()
	return metrics.Stats{TotalIn: in, TotalOut: out}
}

func (b *GossipBytes) GetBandwidthTotals() metrics.Stats                     { return metrics.Stats{} }
func (b *GossipBytes) GetBandwidthByPeer() map[peer.ID]metrics.Stats         { return nil }
func (b *GossipBytes) GetBandwidthByProtocol() map[protocol.ID]metrics.Stats { return nil }
func (b *GossipBytes) Reset()                                                { b.in.Store(0); b.out.Store(0) }
func (b *GossipBytes) TrimIdle(time.Time)                                    {}
