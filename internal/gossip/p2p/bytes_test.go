package p2p

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/protocol"
)

func TestGossipBytesCountsOnlyGossipSub(t *testing.T) {
	var b GossipBytes
	b.LogRecvMessageStream(10, "/meshsub/1.1.0", "")
	b.LogRecvMessageStream(3, "/meshsub/1.2.0", "")
	b.LogSentMessageStream(5, "/meshsub/1.1.0", "")
	b.LogRecvMessageStream(100, "/ipfs/id/1.0.0", "")
	b.LogSentMessageStream(100, "/credmesh/sync/1", "")
	b.LogRecvMessage(1000)
	if in, out := b.Totals(); in != 13 || out != 5 {
		t.Fatalf("totals = %d in, %d out; want 13, 5", in, out)
	}
	if s := b.GetBandwidthForProtocol("/meshsub/1.1.0"); s.TotalIn != 13 || s.TotalOut != 5 {
		t.Fatalf("meshsub stats = %+v", s)
	}
	if s := b.GetBandwidthForProtocol(protocol.ID("/ipfs/id/1.0.0")); s.TotalIn != 0 {
		t.Fatalf("identify counted: %+v", s)
	}
	b.Reset()
	if in, out := b.Totals(); in != 0 || out != 0 {
		t.Fatalf("after reset: %d, %d", in, out)
	}
}
